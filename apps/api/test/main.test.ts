import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
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
function run(entry: string, env: Record<string, string>) {
  const started = spawnProcess({ args: fromSource(entry), env: onlyThese(env) });
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

  it.each([
    ['the API', MAIN],
    ['npm run db:migrate', MIGRATE],
  ])(
    'when %s is started with neither DATABASE_URL nor DB_SECRET_ARN, then it exits 1 saying to set one, without a stack trace',
    async (_name, entry) => {
      const started = run(entry, { PORT: String(await freePort()), HOST: '127.0.0.1' });
      expect(await started.exited, started.output()).toBe(1);
      expect(started.output()).toContain('DATABASE_URL or DB_SECRET_ARN: one must be set');
      expect(started.output()).not.toMatch(/\s+at \S+ \(/);
    },
  );
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
