import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validate, ValidationSeverity } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import {
  envOf,
  healthcheckCommand,
  parseDockerfile,
  readDockerfile,
  stageLineage,
  type Instruction,
  type ParsedDockerfile,
  type Stage,
} from './support/dockerfile.js';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';
import { parseDockerIgnore } from './support/dockerignore.js';
import { DOCKERFILE, RDS_CA_PATH, RDS_CA_URL, TIERS } from './support/images.js';

// Every check dockerfile-utils can make, at error severity (several default to warning or off).
const STRICT = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

const PINNED_NODE = /^node:(\d+)\.(\d+)\.(\d+)-bookworm-slim$/;

const keyword = (stage: Stage, name: string) =>
  stage.instructions.filter((instruction) => instruction.keyword === name);
const allInstructions = (dockerfile: ParsedDockerfile) =>
  dockerfile.stages.flatMap((stage) => stage.instructions);
const runLines = (stage: Stage) => keyword(stage, 'RUN').map((instruction) => instruction.content);

const load = () => readDockerfile(join(REPOSITORY_ROOT, DOCKERFILE));

/** Every stage `docker build --target` runs for `target`: its lineage and what it copies from. */
function stagesBuiltFor(dockerfile: ParsedDockerfile, target: string): Set<Stage> {
  const stages = new Set<Stage>();
  const visit = (name: string) =>
    stageLineage(dockerfile, name).forEach((stage) => {
      if (stages.has(stage)) return;
      stages.add(stage);
      stage.instructions.forEach(({ flags }) => flags.from && visit(flags.from));
    });
  visit(target);
  return stages;
}

describe('Dockerfile lint', () => {
  it('when a Dockerfile has a mistake, then dockerfile-utils reports it (the zero below means something)', () => {
    const broken =
      'FROM node:20.20.2-bookworm-slim\nCOPY --chmown=node . .\nEXPOSE 80/tcpx\nworkdir app\n';
    const codes = validate(broken, STRICT).map((diagnostic) => diagnostic.message);
    expect(codes.length).toBeGreaterThanOrEqual(3);
  });

  it('when the Dockerfile is linted with every check on, then it has no findings', async () => {
    const text = await readFile(join(REPOSITORY_ROOT, DOCKERFILE), 'utf8');
    const findings = validate(text, STRICT).map(
      (diagnostic) =>
        `line ${diagnostic.range.start.line + 1}: ${JSON.stringify(diagnostic.message)}`,
    );
    expect(findings).toEqual([]);
  });
});

describe('the replay parser', () => {
  it('when a Dockerfile uses an instruction it does not know, then reading it fails naming it', () => {
    expect(() => parseDockerfile('FROM node:20\nSHELL ["bash"]\n')).toThrow(
      /does not support SHELL/,
    );
    expect(() => parseDockerfile('FROM node:20\nARG VERSION\n')).toThrow(/does not support ARG/);
  });

  it('when an ARG before the first FROM names the image, then the stages start from its default', () => {
    const dockerfile = parseDockerfile(
      'ARG IMAGE=node:24-slim\nFROM ${IMAGE} AS base\nFROM base AS app\nFROM $IMAGE AS other\n',
    );
    expect(dockerfile.stages.map(({ from, fromStage }) => ({ from, fromStage }))).toEqual([
      { from: 'node:24-slim', fromStage: false },
      { from: 'base', fromStage: true },
      { from: 'node:24-slim', fromStage: false },
    ]);
    expect(stageLineage(dockerfile, 'app').map((stage) => stage.name)).toEqual(['base', 'app']);
    expect(() => stageLineage(dockerfile, 'api')).toThrow(/no stage named api \(there are base/);
    expect(() => parseDockerfile('FROM ${IMAGE}\n')).toThrow(/no ARG IMAGE/);
  });

  it('when an instruction runs over lines, then flags, comments and continuations are read as Docker does', () => {
    const { final } = parseDockerfile(
      'FROM node:20 AS build\nRUN --mount=type=cache,target=/root/.npm \\\n# a note\n    npm ci \\\n    && echo ok\nENV A=1 \\\n    B=2\n',
    );
    expect(final.name).toBe('build');
    const [run, env] = final.instructions;
    expect(run?.flags).toEqual({ mount: 'type=cache,target=/root/.npm' });
    expect(run?.content).toBe('npm ci     && echo ok');
    expect(envOf(env!)).toEqual({ A: '1', B: '2' });
  });
});

describe('the Dockerfile', () => {
  it('when it names a Node base image, then it is slim and pinned to the exact release CI runs the tests on', async () => {
    const dockerfile = await load();
    const images = dockerfile.stages.filter((stage) => !stage.fromStage).map((stage) => stage.from);
    expect(new Set(images).size).toBe(1);
    const match = PINNED_NODE.exec(images[0] ?? '');
    expect(match, `${images[0]} is not node:<major>.<minor>.<patch>-bookworm-slim`).not.toBeNull();
    // CI replays the build steps and runs the suite on that release, so the image runs what
    // the tests ran.
    const ciScript = await readFile(join(REPOSITORY_ROOT, '.ci', 'run'), 'utf8');
    const ciNode = /^NODE_VERSION=(\d+\.\d+\.\d+)$/m.exec(ciScript)?.[1];
    expect(images[0]).toBe(`node:${ciNode}-bookworm-slim`);
  });

  it('when dependencies are installed, then only from the lockfile and without running install scripts', async () => {
    const dockerfile = await load();
    const installs = dockerfile.stages
      .flatMap(runLines)
      .filter((line) => /\bnpm (ci|install|i)\b/.test(line));
    expect(installs.length).toBeGreaterThanOrEqual(2);
    for (const line of installs) {
      expect(line).toMatch(/^npm ci /);
      expect(line).toContain('--ignore-scripts');
    }
  });

  it('when it sets variables or copies files, then no secret is baked in', async () => {
    const dockerfile = await load();
    const names = allInstructions(dockerfile)
      .filter((instruction) => instruction.keyword === 'ENV')
      .flatMap((instruction) => Object.keys(envOf(instruction)));
    expect(
      names.filter((name) => /pass|secret|token|key|credential|database_url/i.test(name)),
    ).toEqual([]);
    expect(dockerfile.text).not.toMatch(
      /AKIA[0-9A-Z]{16}|BEGIN [A-Z ]*PRIVATE KEY|postgres(ql)?:\/\/[^\s/]*:[^\s/]*@/,
    );
    const copied = allInstructions(dockerfile)
      .filter((instruction) => ['COPY', 'ADD'].includes(instruction.keyword))
      .flatMap((instruction) => instruction.args.slice(0, -1));
    expect(
      copied.filter((source) => /(^|\/)(\.env|\.aws|\.npmrc_auth|id_rsa)/.test(source)),
    ).toEqual([]);
    expect(copied).not.toContain('.');
  });
});

describe.each(TIERS)('the $tier target', ({ tier, port, workdir }) => {
  /** The target's stages from its base image on, and their instructions: the image's settings. */
  const loadImage = async () => {
    const dockerfile = await load();
    const lineage = stageLineage(dockerfile, tier);
    return { dockerfile, lineage, image: lineage.flatMap((stage) => stage.instructions) };
  };
  const ofImage = (image: Instruction[], name: string) =>
    image.filter((instruction) => instruction.keyword === name);

  it('when built, then its image starts from a fresh base, not from the build stage', async () => {
    const { dockerfile, lineage } = await loadImage();
    expect(lineage[0]?.fromStage).toBe(false);
    expect(
      dockerfile.stages.some((stage) => runLines(stage).some((line) => /tsc|run build/.test(line))),
    ).toBe(true);
    expect(lineage.flatMap(runLines)).toEqual([]);
  });

  it('when the image copies node_modules, then they come from an install without dev dependencies', async () => {
    const { dockerfile, image } = await loadImage();
    const copiesFrom = ofImage(image, 'COPY').flatMap(({ flags, args }) =>
      flags.from ? [{ from: flags.from, sources: args.slice(0, -1) }] : [],
    );
    expect(copiesFrom.length).toBeGreaterThan(0);
    for (const { from, sources } of copiesFrom) {
      const stage = dockerfile.stages.find((candidate) => candidate.name === from);
      expect(stage, `COPY --from=${from}`).toBeDefined();
      const installs = runLines(stage!).filter((line) => /\bnpm (ci|install)\b/.test(line));
      if (sources.every((source) => source.endsWith('/dist'))) continue; // build output only
      expect(installs.length, `stage ${from} installs the dependencies it ships`).toBe(1);
      expect(installs[0]).toMatch(/^npm ci .*--omit=dev/);
      expect(installs[0]).toContain(`--workspace @goal-tracker/${tier}`);
    }
  });

  it('when it runs, then as a non-root user, with NODE_ENV=production, from the agreed build output', async () => {
    const { image } = await loadImage();
    const users = ofImage(image, 'USER').map((user) => user.args[0]);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const env = Object.assign({}, ...ofImage(image, 'ENV').map(envOf)) as Record<string, string>;
    expect(env.NODE_ENV).toBe('production');
    expect(env.PORT).toBe(String(port));
    const workdirs = ofImage(image, 'WORKDIR').map((instruction) => instruction.args[0]);
    expect(workdirs.at(-1)).toBe(workdir);
    const cmds = ofImage(image, 'CMD');
    expect(cmds).toHaveLength(1);
    expect(cmds[0]?.json).toBe(true);
    const [program, ...words] = cmds[0]?.args ?? [];
    expect(program).toBe('node');
    expect(words.at(-1)).toBe('dist/main.js');
    // Anything between is a node flag (memory settings, which the bench runs with too).
    expect(words.slice(0, -1).every((word) => word.startsWith('--'))).toBe(true);
  });

  it(`when it exposes ports, then only ${port}`, async () => {
    const { image } = await loadImage();
    expect(ofImage(image, 'EXPOSE').flatMap((instruction) => instruction.args)).toEqual([
      String(port),
    ]);
  });

  it('when Docker checks health, then node itself asks /health on the tier port (slim images have no curl)', async () => {
    const { image } = await loadImage();
    const checks = ofImage(image, 'HEALTHCHECK');
    expect(checks).toHaveLength(1);
    const check = checks[0]!;
    const command = healthcheckCommand(check);
    expect(command?.slice(0, 2)).toEqual(['node', '-e']);
    expect(command?.[2]).toContain('/health');
    expect(command?.[2]).toContain(`process.env.PORT||${port}`);
    for (const flag of ['interval', 'timeout', 'start-period', 'retries']) {
      expect(check.flags[flag], `--${flag}`).toBeDefined();
    }
  });

  if (tier === 'api') {
    it('when the API verifies RDS certificates, then the image carries the RDS CA bundle, readable by the app user', async () => {
      const { image } = await loadImage();
      const adds = ofImage(image, 'ADD').map((add) => ({
        sources: add.args,
        chmod: add.flags.chmod,
      }));
      expect(adds).toEqual([{ sources: [RDS_CA_URL, RDS_CA_PATH], chmod: '644' }]);
    });
  } else {
    it('when the web tier is built, then it downloads nothing at build time', async () => {
      const stages = [...stagesBuiltFor(await load(), tier)];
      expect(stages.flatMap((stage) => keyword(stage, 'ADD'))).toEqual([]);
    });
  }
});

describe('.dockerignore', () => {
  const loadIgnore = async () =>
    parseDockerIgnore(await readFile(join(REPOSITORY_ROOT, '.dockerignore'), 'utf8'));

  it("when patterns are matched, then with Docker's rules: anchored at the root unless they start with **/", () => {
    const ignore = parseDockerIgnore('dist\n**/node_modules\n*.log\n!keep.log\n');
    expect(ignore.ignores('dist/main.js')).toBe(true);
    expect(ignore.ignores('apps/api/dist/main.js')).toBe(false);
    expect(ignore.ignores('node_modules/a/index.js')).toBe(true);
    expect(ignore.ignores('apps/web/node_modules/a/index.js')).toBe(true);
    expect(ignore.ignores('debug.log')).toBe(true);
    expect(ignore.ignores('apps/debug.log')).toBe(false);
    expect(ignore.ignores('keep.log')).toBe(false);
  });

  it.each([
    'node_modules/fastify/package.json',
    'apps/api/node_modules/pino/package.json',
    '.data/postgres/PG_VERSION',
    'apps/api/.data/base/1',
    '.git/HEAD',
    'apps/api/dist/main.js',
    'packages/contract/dist/index.js',
    'packages/server-kit/dist/index.js',
    'packages/server-kit/test/request-id.test.ts',
    'apps/api/tsconfig.tsbuildinfo',
    'infra/cdk.out/manifest.json',
    'apps/api/test/goals.test.ts',
    'packages/contract/test/goal.test.ts',
    'bench/results/2026-01-01.json',
    '.env',
    'apps/api/.env.local',
    'coverage/index.html',
  ])('when the context is sent, then %s stays out', async (path) => {
    expect((await loadIgnore()).ignores(path)).toBe(true);
  });

  it.each([
    'package.json',
    'package-lock.json',
    '.npmrc',
    'tsconfig.base.json',
    'apps/api/src/main.ts',
    'apps/api/migrations/001_create_goals.sql',
    'apps/web/public/styles.css',
    'apps/web/client/app.ts',
    'packages/contract/src/index.ts',
    'packages/server-kit/src/index.ts',
    'packages/server-kit/package.json',
  ])('when the context is sent, then %s is in it', async (path) => {
    expect((await loadIgnore()).ignores(path)).toBe(false);
  });

  it('when the Dockerfile copies from the context, then nothing it names is ignored', async () => {
    const ignore = await loadIgnore();
    const sources = allInstructions(await load())
      .filter(({ keyword, flags }) => ['COPY', 'ADD'].includes(keyword) && !flags.from)
      .flatMap((instruction) => instruction.args.slice(0, -1))
      .filter((source) => !/^https?:/.test(source));
    expect(sources.length).toBeGreaterThan(3);
    expect(sources.filter((source) => ignore.ignores(source))).toEqual([]);
  });
});
