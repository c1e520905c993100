import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@goal-tracker/test-support/free-port';
import { fromSource, spawnProcess, startServer } from '@goal-tracker/test-support/process';
import { startPostgres, type PostgresServer } from '@goal-tracker/test-support/postgres';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API_ROOT } from '../src/paths.js';
import { TEST_PASSWORD, uniqueEmail } from './helpers.js';

/** The real entry points, run from source as `npm run dev` does. */
const MAIN = join(API_ROOT, 'src/main.ts');
const MIGRATE = join(API_ROOT, 'src/migrate.ts');

const children: ChildProcess[] = [];
let postgres: PostgresServer;

beforeAll(async () => {
  postgres = await startPostgres();
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});
afterAll(async () => {
  await postgres?.dispose();
});

/**
 * Only the variables given reach the process (the test's own DATABASE_URL stays out). One
 * process, as before WORKERS: cluster.test.ts runs the primary and its workers.
 */
const onlyThese = (env: Record<string, string>) => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/root',
  WORKERS: '1',
  ...env,
});

/** Runs an entry point from source; `exited` resolves with its exit code. */
function run(
  entry: string,
  env: Record<string, string>,
  user: { uid?: number; gid?: number } = {},
) {
  const started = spawnProcess({ args: fromSource(entry), env: onlyThese(env), ...user });
  children.push(started.child);
  return { ...started, exited: started.exited.then(({ code }) => code) };
}

async function startApi(env: Record<string, string>) {
  const api = await startServer({
    args: fromSource(MAIN),
    env: onlyThese(env),
    readyPath: '/ready',
  });
  children.push(api.child);
  return { ...api, base: api.url, exited: api.exited.then(({ code }) => code) };
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** Signs up a new account over HTTP; answers its session token. */
async function signUpOver(base: string): Promise<string> {
  const response = await fetch(`${base}/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: uniqueEmail(), password: TEST_PASSWORD }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { token: string }).token;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function createGoal(base: string, token: string, name: string): Promise<number> {
  const response = await fetch(`${base}/goals`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(token) },
    body: JSON.stringify({ name }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: number }).id;
}

describe('SIGTERM', () => {
  it('when a request is in flight, then it completes, new connections are refused, and the process exits 0 within 10 s', async () => {
    const url = await postgres.createDatabase('sigterm');
    const api = await startApi({ DATABASE_URL: url });
    const token = await signUpOver(api.base);
    await createGoal(api.base, token, 'Kept');

    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    const watcher = new pg.Client({ connectionString: url });
    await watcher.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE goals IN ACCESS EXCLUSIVE MODE');
      const inFlight = fetch(`${api.base}/goals`, { headers: bearer(token) });
      // Wait until the request's statement is actually waiting inside the database.
      for (let waiting = 0; waiting === 0;) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const { rowCount } = await watcher.query(
          "SELECT 1 FROM pg_stat_activity WHERE application_name = 'goal-tracker-api' AND wait_event_type = 'Lock'",
        );
        waiting = rowCount ?? 0;
      }

      const signalled = Date.now();
      api.child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await refusesConnections(api.port)).toBe(true);
      expect(api.child.exitCode).toBeNull();

      await locker.query('COMMIT');
      const response = await inFlight;
      expect(response.status).toBe(200);
      expect(((await response.json()) as { goals: unknown[] }).goals).toHaveLength(1);
      expect(await api.exited, api.output()).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(10_000);
      expect(api.output()).toMatch(/"msg":"shutting down"[\s\S]*"msg":"stopped"/);
    } finally {
      await locker.end();
      await watcher.end();
    }
  });
});

describe('no DATABASE_URL', () => {
  it('when started, then the API runs on the embedded PostgreSQL in DATA_DIR, goals survive a restart, and the server stops with it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'goal-tracker-data-'));
    // PostgreSQL runs as the postgres user, which must be able to enter the directory.
    await chmod(dataDir, 0o755);
    try {
      const first = await startApi({ DATA_DIR: dataDir });
      const token = await signUpOver(first.base);
      const id = await createGoal(first.base, token, 'Survives a restart');

      // While it runs, db:migrate on the same DATA_DIR shares its server rather than fight it.
      const migrate = run(MIGRATE, { DATA_DIR: dataDir });
      expect(await migrate.exited, migrate.output()).toBe(0);
      expect((await fetch(`${first.base}/ready`)).status).toBe(200);

      const pidFile = join(dataDir, 'postgres', 'postmaster.pid');
      const serverPid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      expect(existsSync(pidFile)).toBe(false);
      expect(() => process.kill(serverPid, 0)).toThrow();

      const second = await startApi({ DATA_DIR: dataDir });
      // The session survives the restart too: it lives in the database.
      const response = await fetch(`${second.base}/goals/${id}`, { headers: bearer(token) });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ id, name: 'Survives a restart' });
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('configuration', () => {
  it('when the limits and trusted proxies are set in the environment, then the running API applies them', async () => {
    const api = await startApi({
      DATABASE_URL: await postgres.createDatabase('settings'),
      GOALS_PER_ACCOUNT: '1',
      SIGNIN_FAILURES_PER_ADDRESS: '1',
      TRUSTED_PROXIES: '127.0.0.1',
    });
    try {
      const token = await signUpOver(api.base);
      await createGoal(api.base, token, 'The only one');
      const second = await fetch(`${api.base}/goals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(token) },
        body: JSON.stringify({ name: 'One too many' }),
      });
      expect(second.status).toBe(409);
      // One failure from one client address is all it allows; another address is counted apart.
      const signIn = (address: string) =>
        fetch(`${api.base}/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
          body: JSON.stringify({ email: 'nobody@example.com', password: 'wrong password!' }),
        });
      expect((await signIn('203.0.113.1')).status).toBe(401);
      expect((await signIn('203.0.113.1')).status).toBe(429);
      expect((await signIn('203.0.113.2')).status).toBe(401);
    } finally {
      api.child.kill('SIGTERM');
      await api.exited;
    }
  });

  it('when a variable is invalid, then the process exits 1 and names it', async () => {
    const api = run(MAIN, { PORT: 'eighty' });
    expect(await api.exited).toBe(1);
    expect(api.output()).toContain('PORT');
  });

  it('when no database is configured and DATA_DIR cannot be created, then it exits 1 saying what to set', async () => {
    // As in the image: a user that may not write where DATA_DIR points (root may write anywhere,
    // so as root the API runs as uid 1000, the image's user).
    const parent = await mkdtemp(join(tmpdir(), 'goal-tracker-readonly-'));
    await chmod(parent, 0o555);
    try {
      const asImageUser = process.getuid?.() === 0 ? { uid: 1000, gid: 1000 } : {};
      const dataDir = join(parent, '.data');
      const api = run(
        MAIN,
        { DATA_DIR: dataDir, PORT: String(await freePort()), HOST: '127.0.0.1' },
        asImageUser,
      );
      expect(await api.exited, api.output()).toBe(1);
      const output = api.output();
      expect(output).toContain(`DATA_DIR: cannot create ${dataDir}`);
      expect(output).toContain('EACCES');
      expect(output).toContain('Set DATABASE_URL or DB_SECRET_ARN');
      expect(output).not.toMatch(/\s+at \S+ \(/);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});

describe('npm run db:migrate', () => {
  it('when pointed at a database, then it applies the migrations and exits 0', async () => {
    const url = await postgres.createDatabase('migrate_command');
    const migrate = run(MIGRATE, { DATABASE_URL: url });
    expect(await migrate.exited, migrate.output()).toBe(0);
    expect(migrate.output()).toContain('database is migrated');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ count: number }>(
      'SELECT count(*)::int AS count FROM schema_migrations',
    );
    await client.end();
    expect(rows[0]?.count).toBeGreaterThanOrEqual(4);
  });
});
