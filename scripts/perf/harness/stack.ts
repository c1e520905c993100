import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';
import type { BenchDatabase } from './postgres.js';
import { API_MAIN, startServer, WEB_MAIN, type ServerProcess } from './server.js';

const run = promisify(execFile);

/** Builds every workspace (`tsc -b`), so the servers run from their production output. */
export async function buildAll(): Promise<void> {
  await run('npx', ['tsc', '-b'], { cwd: REPOSITORY_ROOT, maxBuffer: 16 << 20 });
}

export function assertBuilt(): void {
  for (const main of [API_MAIN, WEB_MAIN]) {
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`npx tsc -b\` first`);
  }
}

/** The root Dockerfile, which builds both images (a target each), or '' if it is missing. */
function readDockerfile(): string {
  try {
    return readFileSync(resolve(REPOSITORY_ROOT, 'Dockerfile'), 'utf8');
  } catch {
    return '';
  }
}

/**
 * The node flags an app's image runs with: the words between `node` and the entry point in
 * the exec-form CMD of its Dockerfile target, the stage named after the app (e.g.
 * `CMD ["node", "--max-semi-space-size=2", "dist/main.js"]` under `FROM runtime AS api`),
 * so the harness measures the process as production runs it.
 */
export function imageNodeArgs(app: 'api' | 'web'): string[] {
  const stage = readDockerfile()
    .split(/^FROM\s/m)
    .find((section) => new RegExp(`^\\S+[ \\t]+AS[ \\t]+${app}[ \\t]*\\n`, 'i').test(section));
  const cmd = stage && /^CMD\s+(\[.*\])\s*$/m.exec(stage)?.[1];
  if (!cmd) return [];
  const words = JSON.parse(cmd) as string[];
  if (words[0] !== 'node') return [];
  return words.slice(1, -1).filter((word) => word.startsWith('--'));
}

/** The Node release the images run (`ARG NODE_IMAGE=node:<release>-…` in the Dockerfile). */
export function imageNodeRelease(): string | undefined {
  return /^ARG NODE_IMAGE=node:(\d+\.\d+\.\d+)/m.exec(readDockerfile())?.[1];
}

/**
 * A line for the bench's output when this Node is not the images': start-up above all
 * differs between releases (Node 20 loads the API's modules in about twice Node 24's time).
 */
export function nodeReleaseWarning(): string | undefined {
  const release = imageNodeRelease();
  if (release === undefined || process.version === `v${release}`) return undefined;
  return (
    `bench: this is node ${process.version}; the images run ${release}, so the figures are not ` +
    `production's (start to ready above all): .ci/run shows how to get that release from npm`
  );
}

/** Starts one API instance from apps/api/dist/main.js against the database. */
export function startApi(
  database: BenchDatabase,
  options: { name?: string; env?: Record<string, string>; nodeArgs?: string[] } = {},
): Promise<ServerProcess> {
  return startServer({
    name: options.name ?? 'api',
    main: API_MAIN,
    nodeArgs: options.nodeArgs ?? imageNodeArgs('api'),
    env: { DATABASE_URL: database.url, ...options.env },
    readyPath: '/ready',
  });
}

/** Starts the web tier from apps/web/dist/main.js, calling the API at `apiUrl`. */
export function startWeb(
  apiUrl: string,
  options: { env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  return startServer({
    name: 'web',
    main: WEB_MAIN,
    nodeArgs: imageNodeArgs('web'),
    env: { API_URL: apiUrl, ...options.env },
    readyPath: '/health',
  });
}
