import { spawn } from 'node:child_process';
import { cp, mkdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import {
  DockerfileParser,
  type Env,
  type From,
  type Instruction,
  type JSONInstruction,
} from 'dockerfile-ast';

/** One `FROM ... AS name` section of a Dockerfile and the instructions under it. */
export interface Stage {
  name: string;
  /** The FROM argument: an image reference or an earlier stage's name. */
  from: string;
  /** True when `from` names an earlier stage rather than an image. */
  fromStage: boolean;
  instructions: Instruction[];
}

export interface ParsedDockerfile {
  text: string;
  stages: Stage[];
  /** The stage `docker build` produces without `--target`: the last one. */
  final: Stage;
}

export async function readDockerfile(path: string): Promise<ParsedDockerfile> {
  const text = await readFile(path, 'utf8');
  const stages: Stage[] = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const from = instruction as From;
      const image = from.getImage() ?? '';
      stages.push({
        name: from.getBuildStage() ?? String(stages.length),
        from: image,
        fromStage: stages.some((stage) => stage.name === image),
        instructions: [],
      });
    } else {
      const current = stages.at(-1);
      if (!current) throw new Error(`${path}: ${instruction.getKeyword()} before any FROM`);
      current.instructions.push(instruction);
    }
  }
  const final = stages.at(-1);
  if (!final) throw new Error(`${path} has no FROM`);
  return { text, stages, final };
}

export function flagValue(instruction: Instruction, name: string): string | undefined {
  const flags = 'getFlags' in instruction ? (instruction as JSONInstruction).getFlags() : [];
  return flags.find((flag) => flag.getName() === name)?.getValue() ?? undefined;
}

export function envOf(instruction: Instruction): Record<string, string> {
  return Object.fromEntries(
    (instruction as Env)
      .getProperties()
      .map((property) => [property.getName(), property.getUnescapedValue() ?? '']),
  );
}

/** The exec-form JSON array of CMD, ENTRYPOINT or RUN; undefined for the shell form. */
export function execForm(instruction: Instruction): string[] | undefined {
  const strings = (instruction as JSONInstruction).getJSONStrings();
  return strings.length > 0 ? strings.map((string) => string.getJSONValue()) : undefined;
}

/** HEALTHCHECK's command in exec form (`CMD ["node", ...]`), or undefined for NONE/shell form. */
export function healthcheckCommand(instruction: Instruction): string[] | undefined {
  const content = instruction.getArgumentsContent() ?? '';
  const match = /^CMD\s+(\[.*\])\s*$/s.exec(content);
  return match?.[1] ? (JSON.parse(match[1]) as string[]) : undefined;
}

/** What the final stage's image would carry: its files (under `root`) and its settings. */
export interface ReplayedImage {
  /** Host directory standing in for the image's `/`. */
  root: string;
  /** Host path of the final WORKDIR, where CMD runs. */
  workdir: string;
  env: Record<string, string>;
  user: string | undefined;
  exposed: string[];
  cmd: string[];
  healthcheck: string[] | undefined;
  /** `ADD <url>` files the replay cannot fetch (only the npm registry is reachable here). */
  remoteFiles: { url: string; destination: string }[];
  /** Every RUN command executed, with its stage, in the order they finished. */
  ran: { stage: string; command: string; seconds: number }[];
}

interface StageState extends Omit<ReplayedImage, 'workdir' | 'ran'> {
  /** WORKDIR as the container sees it. */
  containerWorkdir: string;
  buildArgs: Record<string, string>;
}

export interface ReplayOptions {
  dockerfile: ParsedDockerfile;
  /** The build context: a directory holding what `docker build` would send. */
  context: string;
  /** Empty directory for the stages' file systems, one subdirectory each. */
  workDir: string;
  /** Environment for RUN commands before the stage's ENV and ARG values (PATH, HOME, npm settings). */
  env: NodeJS.ProcessEnv;
}

function run(command: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const [program = 'sh', ...args] = command;
    const child = spawn(program, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`RUN ${command.join(' ')} exited ${code}:\n${output.slice(-4000)}`));
    });
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Carries out a Dockerfile's stages the way BuildKit would, without an engine: each stage's
 * `/` is a directory, COPY copies (from the context or an earlier stage), RUN runs the same
 * command line in the stage's WORKDIR with its ENV, and stages that do not depend on each
 * other run concurrently. Base images' own files are not there: commands run on this host's
 * tools (Node, npm, sh), which is why the Dockerfiles pin the Node release this repo tests on.
 */
export async function replayDockerfile(options: ReplayOptions): Promise<ReplayedImage> {
  const { dockerfile } = options;
  const ran: ReplayedImage['ran'] = [];
  const built = new Map<string, Promise<StageState>>();

  const build = (stage: Stage): Promise<StageState> => {
    let promise = built.get(stage.name);
    if (!promise) {
      promise = buildStage(stage);
      built.set(stage.name, promise);
    }
    return promise;
  };
  const stageNamed = (name: string): Stage => {
    const stage = dockerfile.stages.find((candidate) => candidate.name === name);
    if (!stage) throw new Error(`no stage named ${name}`);
    return stage;
  };

  async function buildStage(stage: Stage): Promise<StageState> {
    const root = join(options.workDir, stage.name);
    // Stages this one copies from start building now, alongside it, as BuildKit would.
    const sources = new Map<string, Promise<StageState>>();
    for (const instruction of stage.instructions) {
      const from = flagValue(instruction, 'from');
      if (from) sources.set(from, build(stageNamed(from)));
    }
    let state: StageState;
    if (stage.fromStage) {
      const parent = await build(stageNamed(stage.from));
      await cp(parent.root, root, { recursive: true, verbatimSymlinks: true });
      state = {
        ...parent,
        root,
        env: { ...parent.env },
        exposed: [...parent.exposed],
        buildArgs: {},
        remoteFiles: [...parent.remoteFiles],
      };
    } else {
      await mkdir(root, { recursive: true });
      state = {
        root,
        containerWorkdir: '/',
        env: {},
        user: undefined,
        exposed: [],
        cmd: [],
        healthcheck: undefined,
        remoteFiles: [],
        buildArgs: {},
      };
    }
    const host = (containerPath: string) => join(root, containerPath);
    const resolve = (path: string) =>
      posix.isAbsolute(path) ? path : posix.join(state.containerWorkdir, path);

    for (const instruction of stage.instructions) {
      const keyword = instruction.getKeyword();
      const args = instruction.getArguments().map((argument) => argument.getValue());
      switch (keyword) {
        case 'WORKDIR':
          state.containerWorkdir = resolve(args[0] ?? '/');
          await mkdir(host(state.containerWorkdir), { recursive: true });
          break;
        case 'ENV':
          Object.assign(state.env, envOf(instruction));
          break;
        case 'ARG':
          for (const arg of args) {
            const [name = '', value = ''] = arg.split('=', 2);
            state.buildArgs[name] = value;
          }
          break;
        case 'COPY':
        case 'ADD': {
          const paths = execForm(instruction) ?? args;
          const destination = paths.at(-1) ?? '.';
          const sourcesList = paths.slice(0, -1);
          const from = flagValue(instruction, 'from');
          for (const source of sourcesList) {
            if (keyword === 'ADD' && /^https?:\/\//.test(source)) {
              state.remoteFiles.push({ url: source, destination: resolve(destination) });
              continue;
            }
            if (/[*?[]/.test(source)) throw new Error(`replay does not expand globs: ${source}`);
            const sourceRoot = from ? (await sources.get(from))?.root : options.context;
            if (!sourceRoot) throw new Error(`no stage ${from ?? ''}`);
            const sourcePath = join(sourceRoot, from ? source : posix.normalize(source));
            if (!(await exists(sourcePath))) {
              throw new Error(
                `${keyword} ${source}: not found in ${from ? `stage ${from}` : 'the context'}`,
              );
            }
            const target = host(resolve(destination));
            const intoDirectory =
              destination.endsWith('/') ||
              sourcesList.length > 1 ||
              (await stat(target).catch(() => undefined))?.isDirectory();
            const isDirectory = (await stat(sourcePath)).isDirectory();
            const finalTarget =
              !isDirectory && intoDirectory ? join(target, basename(sourcePath)) : target;
            await mkdir(isDirectory ? finalTarget : dirname(finalTarget), { recursive: true });
            await cp(sourcePath, finalTarget, {
              recursive: true,
              verbatimSymlinks: true,
              force: true,
            });
          }
          break;
        }
        case 'RUN': {
          const command = execForm(instruction) ?? [
            'sh',
            '-c',
            instruction.getArgumentsContent() ?? '',
          ];
          const started = Date.now();
          await run(command, host(state.containerWorkdir), {
            ...options.env,
            ...state.buildArgs,
            ...state.env,
          });
          ran.push({
            stage: stage.name,
            command: command.join(' '),
            seconds: (Date.now() - started) / 1000,
          });
          break;
        }
        case 'USER':
          state.user = args[0];
          break;
        case 'EXPOSE':
          state.exposed.push(...args);
          break;
        case 'CMD':
          state.cmd = execForm(instruction) ?? [
            'sh',
            '-c',
            instruction.getArgumentsContent() ?? '',
          ];
          break;
        case 'HEALTHCHECK':
          state.healthcheck = healthcheckCommand(instruction);
          break;
        case 'LABEL':
        case 'STOPSIGNAL':
          break;
        default:
          throw new Error(`replay does not support ${keyword} (stage ${stage.name})`);
      }
    }
    await Promise.all(sources.values());
    return state;
  }

  const final = await build(dockerfile.final);
  return {
    root: final.root,
    workdir: join(final.root, final.containerWorkdir),
    env: final.env,
    user: final.user,
    exposed: final.exposed,
    cmd: final.cmd,
    healthcheck: final.healthcheck,
    remoteFiles: final.remoteFiles,
    ran,
  };
}
