import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, stat } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * The Dockerfile read and replayed without Docker. Only the instructions it uses are
 * understood; any other one fails loudly, so a new one is taught here on purpose rather than
 * skipped in silence.
 */
const KEYWORDS = new Set(
  'ARG FROM WORKDIR COPY ADD RUN ENV USER EXPOSE CMD HEALTHCHECK'.split(' '),
);

export interface Instruction {
  keyword: string;
  /** `--name=value` options before the arguments, e.g. `from`, `chmod`, `interval`. */
  flags: Record<string, string>;
  /** The text after the flags, continuation lines joined. */
  content: string;
  /** The exec form's JSON array, else `content` split on white space. */
  args: string[];
  /** Whether `content` is in exec form (a JSON array). */
  json: boolean;
}

/** One `FROM ... AS name` section and the instructions under it. */
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

/** The stage `docker build --target <name>` produces, else an error naming the stages there are. */
export function stageNamed(dockerfile: ParsedDockerfile, name: string): Stage {
  const stage = dockerfile.stages.find((candidate) => candidate.name === name);
  if (stage) return stage;
  const names = dockerfile.stages.map((candidate) => candidate.name).join(', ');
  throw new Error(`no stage named ${name} (there are ${names})`);
}

/**
 * The stages a target's image is made of, its base image's first: the target and each stage
 * its FROM names in turn. Their instructions, in order, are the image's settings.
 */
export function stageLineage(dockerfile: ParsedDockerfile, target: string): Stage[] {
  const stage = stageNamed(dockerfile, target);
  return stage.fromStage ? [...stageLineage(dockerfile, stage.from), stage] : [stage];
}

function parseInstruction(line: string, where: string): Instruction {
  const [, word = '', rest = ''] = /^(\S+)\s*(.*)$/s.exec(line) ?? [];
  const keyword = word.toUpperCase();
  if (!KEYWORDS.has(keyword)) throw new Error(`${where}: the replay does not support ${word}`);
  const flags: Record<string, string> = {};
  let content = rest;
  for (let flag; (flag = /^--([\w-]+)=(\S*)\s+/.exec(content));) {
    flags[flag[1]!] = flag[2]!;
    content = content.slice(flag[0].length);
  }
  content = content.trim();
  const json = content.startsWith('[');
  const args = json ? (JSON.parse(content) as string[]) : content.split(/\s+/);
  return { keyword, flags, content, args, json };
}

export async function readDockerfile(path: string): Promise<ParsedDockerfile> {
  return parseDockerfile(await readFile(path, 'utf8'), path);
}

export function parseDockerfile(text: string, path = 'Dockerfile'): ParsedDockerfile {
  const stages: Stage[] = [];
  // ARGs before the first FROM, which only FROM lines can use (their defaults: no --build-arg).
  const globalArgs = new Map<string, string>();
  // Comment lines go, even inside a continuation; a trailing backslash joins the next line.
  const lines = text.split('\n').filter((line) => !/^\s*#/.test(line));
  const logical = lines.join('\n').replace(/\\\n/g, '').split('\n');
  for (const line of logical.filter((candidate) => candidate.trim() !== '')) {
    const instruction = parseInstruction(line.trim(), path);
    if (instruction.keyword === 'ARG') {
      if (stages.length > 0) throw new Error(`${path}: the replay does not support ARG in a stage`);
      const [, name = '', value = ''] = /^(\w+)=?(.*)$/.exec(instruction.content) ?? [];
      globalArgs.set(name, value);
    } else if (instruction.keyword === 'FROM') {
      const [reference = '', as, name] = instruction.args;
      const image = reference.replace(
        /\$\{(\w+)\}|\$(\w+)/g,
        (_, braced?: string, bare?: string) => {
          const arg = (braced ?? bare)!;
          const value = globalArgs.get(arg);
          if (value === undefined) throw new Error(`${path}: FROM ${reference}: no ARG ${arg}`);
          return value;
        },
      );
      stages.push({
        name: as?.toUpperCase() === 'AS' && name ? name : String(stages.length),
        from: image,
        fromStage: stages.some((stage) => stage.name === image),
        instructions: [],
      });
    } else {
      const current = stages.at(-1);
      if (!current) throw new Error(`${path}: ${instruction.keyword} before any FROM`);
      current.instructions.push(instruction);
    }
  }
  const final = stages.at(-1);
  if (!final) throw new Error(`${path} has no FROM`);
  return { text, stages, final };
}

/** ENV's `KEY=value` pairs (the legacy `ENV KEY value` form is refused). */
export function envOf(instruction: Instruction): Record<string, string> {
  return Object.fromEntries(
    instruction.args.map((pair) => {
      const equals = pair.indexOf('=');
      if (equals < 1) throw new Error(`ENV ${instruction.content}: write KEY=value`);
      return [pair.slice(0, equals), pair.slice(equals + 1)];
    }),
  );
}

/** HEALTHCHECK's command in exec form (`CMD ["node", ...]`), or undefined for NONE/shell form. */
export function healthcheckCommand(instruction: Instruction): string[] | undefined {
  const match = /^CMD\s+(\[.*\])$/s.exec(instruction.content);
  return match?.[1] ? (JSON.parse(match[1]) as string[]) : undefined;
}

/** What a target stage's image would carry: its files (under `root`) and its settings. */
export interface ReplayedImage {
  /** Host directory standing in for the image's `/`. */
  root: string;
  /** Host path of the final WORKDIR, where CMD runs. */
  workdir: string;
  env: Record<string, string>;
  cmd: string[];
  healthcheck: string[] | undefined;
  /** `ADD <url>` files the replay cannot fetch (only the npm registry is reachable here). */
  remoteFiles: { url: string; destination: string }[];
}

export interface ReplayOptions<Target extends string> {
  dockerfile: ParsedDockerfile;
  /** The stages to build, as `docker build --target` names them; default: the last stage. */
  targets?: readonly Target[];
  /** The build context: a directory holding what `docker build` would send. */
  context: string;
  /** Empty directory for the stages' file systems, one subdirectory each. */
  workDir: string;
  /** Environment for RUN commands, before the stage's ENV (PATH, HOME, npm settings). */
  env: NodeJS.ProcessEnv;
}

interface StageState extends Omit<ReplayedImage, 'workdir'> {
  /** WORKDIR as the container sees it. */
  containerWorkdir: string;
}

/**
 * Carries out a Dockerfile's stages as BuildKit would, without an engine: each stage's `/`
 * is a directory, COPY copies (from the context or an earlier stage), RUN runs the same
 * command line in the stage's WORKDIR with its ENV, and a stage's COPY --from sources build
 * alongside it. Base images' own files are not there: commands run on this host's tools
 * (Node, npm, sh), which is why the Dockerfile pins the Node release this repo tests on.
 * Targets built in one call share the stages they have in common, each built once.
 */
export async function replayDockerfile<Target extends string>(
  options: ReplayOptions<Target>,
): Promise<Record<Target, ReplayedImage>> {
  const built = new Map<string, Promise<StageState>>();
  const build = (name: string): Promise<StageState> => {
    const stage = stageNamed(options.dockerfile, name);
    if (!built.has(name)) built.set(name, buildStage(stage));
    return built.get(name)!;
  };

  async function buildStage(stage: Stage): Promise<StageState> {
    const root = join(options.workDir, stage.name);
    const froms = stage.instructions.flatMap(({ flags }) => (flags.from ? [flags.from] : []));
    const sources = new Map(froms.map((from) => [from, build(from)]));
    let state: StageState;
    if (stage.fromStage) {
      const parent = await build(stage.from);
      await cp(parent.root, root, { recursive: true, verbatimSymlinks: true });
      state = { ...parent, root, env: { ...parent.env }, remoteFiles: [...parent.remoteFiles] };
    } else {
      await mkdir(root, { recursive: true });
      state = {
        root,
        containerWorkdir: '/',
        env: {},
        cmd: [],
        healthcheck: undefined,
        remoteFiles: [],
      };
    }
    const inContainer = (path: string) => posix.resolve(state.containerWorkdir, path);

    for (const instruction of stage.instructions) {
      const { keyword, args, flags } = instruction;
      switch (keyword) {
        case 'WORKDIR':
          state.containerWorkdir = inContainer(args[0] ?? '/');
          await mkdir(join(root, state.containerWorkdir), { recursive: true });
          break;
        case 'ENV':
          Object.assign(state.env, envOf(instruction));
          break;
        case 'COPY':
        case 'ADD': {
          const destination = args.at(-1) ?? '.';
          const target = join(root, inContainer(destination));
          const intoDirectory = destination.endsWith('/') || args.length > 2;
          const sourceRoot = flags.from ? (await sources.get(flags.from)!).root : options.context;
          for (const source of args.slice(0, -1)) {
            if (keyword === 'ADD' && /^https?:\/\//.test(source)) {
              state.remoteFiles.push({ url: source, destination: inContainer(destination) });
              continue;
            }
            if (/[*?[]/.test(source))
              throw new Error(`the replay does not expand globs: ${source}`);
            const from = join(sourceRoot, posix.normalize(source));
            const isFile = await stat(from).then(
              (info) => info.isFile(),
              () => {
                throw new Error(
                  `${keyword} ${source}: not found in ${flags.from ?? 'the context'}`,
                );
              },
            );
            // A directory's contents land in the destination itself, as Docker copies them.
            const to = isFile && intoDirectory ? join(target, basename(from)) : target;
            await cp(from, to, { recursive: true, verbatimSymlinks: true, force: true });
          }
          break;
        }
        case 'RUN':
          if (instruction.json) throw new Error('the replay runs RUN in shell form only');
          await exec('sh', ['-c', instruction.content], {
            cwd: join(root, state.containerWorkdir),
            env: { ...options.env, ...state.env },
            maxBuffer: 64 << 20,
          }).catch((error: Error & { stdout?: string; stderr?: string }) => {
            const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.slice(-4000);
            throw new Error(`RUN ${instruction.content} failed:\n${output}`);
          });
          break;
        case 'CMD':
          state.cmd = instruction.json ? args : ['sh', '-c', instruction.content];
          break;
        case 'HEALTHCHECK':
          state.healthcheck = healthcheckCommand(instruction);
          break;
        // USER and EXPOSE change no file; the tests read them from the Dockerfile itself.
      }
    }
    await Promise.all(sources.values());
    return state;
  }

  const targets = options.targets ?? [options.dockerfile.final.name as Target];
  const images = await Promise.all(
    targets.map(async (target) => {
      const { containerWorkdir, ...image } = await build(target);
      return [target, { ...image, workdir: join(image.root, containerWorkdir) }] as const;
    }),
  );
  return Object.fromEntries(images) as Record<Target, ReplayedImage>;
}
