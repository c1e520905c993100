import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import type { BenchDatabase } from './postgres.js';
import { API_MAIN, REPO_ROOT, startServer, WEB_MAIN, type ServerProcess } from './server.js';

const run = promisify(execFile);

/** Builds every workspace (`tsc -b`), so the servers run from their production output. */
export async function buildAll(): Promise<void> {
  await run('npx', ['tsc', '-b'], { cwd: REPO_ROOT, maxBuffer: 16 << 20 });
}

export function assertBuilt(): void {
  for (const main of [API_MAIN, WEB_MAIN]) {
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`npx tsc -b\` first`);
  }
}

/** Starts one API instance from apps/api/dist/main.js against the database. */
export function startApi(
  database: BenchDatabase,
  options: { name?: string; env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  return startServer({
    name: options.name ?? 'api',
    main: API_MAIN,
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
    env: { API_URL: apiUrl, ...options.env },
    readyPath: '/health',
  });
}
