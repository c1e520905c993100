import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { freePort } from '@goal-tracker/test-support/free-port';
import {
  fromSource,
  logLines,
  spawnProcess,
  startServer,
  waitUntil as until,
  type ServerProcess,
} from '@goal-tracker/test-support/process';
import { startPostgres, type PostgresServer } from '@goal-tracker/test-support/postgres';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API_ROOT } from '../src/paths.js';
import { TEST_PASSWORD, uniqueEmail } from './helpers.js';

/** The real entry point with WORKERS=2: a primary and two workers sharing the port. */
const MAIN = join(API_ROOT, 'src/main.ts');

const running: ServerProcess[] = [];
let postgres: PostgresServer;

beforeAll(async () => {
  postgres = await startPostgres();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((api) => api.stop('SIGKILL')));
});
afterAll(async () => {
  await postgres?.dispose();
});

const onlyThese = (env: Record<string, string>) => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/root',
  WORKERS: '2',
  // debug: one "request completed" line per request, carrying the serving process's pid.
  LOG_LEVEL: 'debug',
  ...env,
});

async function startCluster(env: Record<string, string>): Promise<ServerProcess> {
  const api = await startServer({
    args: fromSource(MAIN),
    env: onlyThese(env),
    readyPath: '/ready',
    deadlineMs: 90_000,
  });
  running.push(api);
  await until(() => logLines(api, 'worker ready').length === 2, api);
  return api;
}

const workerPids = (api: ServerProcess) =>
  logLines(api, 'worker started').map((line) => line.workerPid as number);

interface Answer {
  status: number;
  body: string;
}

/**
 * One request on a connection of its own: the primary hands each new connection to the next
 * worker in turn, so consecutive requests reach both.
 */
function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      {
        method,
        agent: false,
        headers: {
          ...headers,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function signUp(base: string): Promise<Record<string, string>> {
  const answer = await send(
    base,
    'POST',
    '/accounts',
    {},
    {
      email: uniqueEmail(),
      password: TEST_PASSWORD,
    },
  );
  expect(answer.status).toBe(201);
  return { authorization: `Bearer ${(JSON.parse(answer.body) as { token: string }).token}` };
}

/** The pids that logged "request completed" for `path`. */
const servedBy = (api: ServerProcess, path: string) =>
  new Set(
    logLines(api, 'request completed')
      .filter((line) => line.url === path)
      .map((line) => line.pid),
  );

describe('WORKERS=2', { timeout: 60_000 }, () => {
  it('when requests arrive on new connections, then both workers serve them, and the migrations ran once', async () => {
    const url = await postgres.createDatabase('cluster_serving');
    const api = await startCluster({ DATABASE_URL: url });
    const workers = workerPids(api);
    expect(workers).toHaveLength(2);
    expect(workers).not.toContain(api.pid);

    for (let i = 0; i < 10; i += 1) {
      expect((await send(api.url, 'GET', '/health')).status).toBe(200);
    }
    await until(() => servedBy(api, '/health').size === 2, api, 5_000);
    expect([...servedBy(api, '/health')].sort()).toEqual([...workers].sort());

    // One worker applied each migration; the other found them applied under the lock.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ count: number }>(
      'SELECT count(*)::int AS count FROM schema_migrations',
    );
    await client.end();
    expect(logLines(api, 'migration applied')).toHaveLength(rows[0]?.count ?? -1);
  });

  it('when /metrics is scraped, then it counts the requests of both workers, whichever answers', async () => {
    const url = await postgres.createDatabase('cluster_metrics');
    const api = await startCluster({ DATABASE_URL: url });
    for (let i = 0; i < 10; i += 1) {
      expect((await send(api.url, 'GET', '/health')).status).toBe(200);
    }
    await until(() => servedBy(api, '/health').size === 2, api, 5_000);
    const healthCount = (text: string) =>
      /^http_request_duration_seconds_count\{[^}]*route="\/health"[^}]*\} (\d+)$/m.exec(text)?.[1];
    // Scrapes on new connections until each worker has answered one: both count all ten.
    for (let scrape = 0; scrape < 8 && servedBy(api, '/metrics').size < 2; scrape += 1) {
      const metrics = await send(api.url, 'GET', '/metrics');
      expect(metrics.status).toBe(200);
      expect(healthCount(metrics.body)).toBe('10');
      expect(metrics.body).toMatch(/^db_pool_connections\{state="total"\} \d+$/m);
      await until(() => servedBy(api, '/metrics').size > 0, api, 5_000);
    }
    expect(servedBy(api, '/metrics').size).toBe(2);
  });

  it('when an account writes, or a client fails to sign in, over both workers, then GOAL_WRITES_PER_MINUTE and SIGNIN_FAILURES_PER_EMAIL hold for the instance as a whole', async () => {
    const api = await startCluster({
      DATABASE_URL: await postgres.createDatabase('cluster_limits'),
      GOAL_WRITES_PER_MINUTE: '4',
      SIGNIN_FAILURES_PER_EMAIL: '2',
    });
    const auth = await signUp(api.url);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      statuses.push((await send(api.url, 'POST', '/goals', auth, { name: `Goal ${i}` })).status);
    }
    // Each worker alone would have allowed 4, so 8 in all.
    expect(statuses.filter((status) => status === 201)).toHaveLength(4);
    expect(statuses.filter((status) => status === 429)).toHaveLength(4);
    await until(() => servedBy(api, '/goals').size === 2, api, 5_000);

    // Counted in PostgreSQL: the third failure is refused whichever worker takes it.
    const failures: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const answer = await send(
        api.url,
        'POST',
        '/sessions',
        {},
        {
          email: 'nobody@example.com',
          password: 'not the password',
        },
      );
      failures.push(answer.status);
    }
    expect(failures).toEqual([401, 401, 429, 429]);
    await until(() => servedBy(api, '/sessions').size === 2, api, 5_000);
  });

  it('when a worker is killed, then the other keeps answering and a new worker takes its place', async () => {
    const api = await startCluster({ DATABASE_URL: await postgres.createDatabase('cluster_kill') });
    const [victim, survivor] = workerPids(api) as [number, number];
    process.kill(victim, 'SIGKILL');
    await until(() => logLines(api, 'worker exited unexpectedly').length === 1, api);
    // Meanwhile every new connection goes to the survivor.
    for (let i = 0; i < 5; i += 1) {
      expect((await send(api.url, 'GET', '/ready')).status).toBe(200);
    }
    // Replaced after the first back-off (1 s), and ready once it has checked the schema.
    await until(() => logLines(api, 'worker ready').length === 3, api);
    const replacement = workerPids(api)[2];
    expect(replacement).toBeDefined();
    expect([victim, survivor]).not.toContain(replacement);
    expect(logLines(api, 'worker exited unexpectedly')[0]).toMatchObject({
      workerPid: victim,
      signal: 'SIGKILL',
    });
    for (let i = 0; i < 6; i += 1) {
      expect((await send(api.url, 'GET', '/ready')).status).toBe(200);
    }
    expect(api.isRunning()).toBe(true);
  });

  it('when SIGTERM arrives mid-request, then that request completes, new connections are refused, and the primary exits 0', async () => {
    const url = await postgres.createDatabase('cluster_sigterm');
    const api = await startCluster({ DATABASE_URL: url });
    const auth = await signUp(api.url);
    expect((await send(api.url, 'POST', '/goals', auth, { name: 'Kept' })).status).toBe(201);

    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE goals IN ACCESS EXCLUSIVE MODE');
      const inFlight = send(api.url, 'GET', '/goals', auth);
      for (let waiting = 0; waiting === 0;) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const { rowCount } = await locker.query(
          "SELECT 1 FROM pg_stat_activity WHERE application_name = 'goal-tracker-api' AND wait_event_type = 'Lock'",
        );
        waiting = rowCount ?? 0;
      }
      const signalled = Date.now();
      api.child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 500));
      await expect(send(api.url, 'GET', '/health')).rejects.toThrow(/ECONNREFUSED/);
      expect(api.isRunning()).toBe(true);

      await locker.query('COMMIT');
      const answer = await inFlight;
      expect(answer.status).toBe(200);
      expect((JSON.parse(answer.body) as { goals: unknown[] }).goals).toHaveLength(1);
      expect(await api.exited, api.output()).toEqual({ code: 0, signal: null });
      expect(Date.now() - signalled).toBeLessThan(10_000);
      // Each worker drained and said so; no worker was replaced on the way out.
      expect(logLines(api, 'stopped')).toHaveLength(3);
      expect(logLines(api, 'worker exited unexpectedly')).toHaveLength(0);
    } finally {
      await locker.end().catch(() => undefined);
    }
  });

  it('when the workers cannot start (the port is taken), then the primary exits 1 saying why', async () => {
    const port = await freePort();
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      const api = spawnProcess({
        args: fromSource(MAIN),
        env: onlyThese({
          DATABASE_URL: await postgres.createDatabase('cluster_no_port'),
          HOST: '127.0.0.1',
          PORT: String(port),
        }),
      });
      expect(await api.exited, api.output()).toEqual({ code: 1, signal: null });
      expect(api.output()).toContain('EADDRINUSE');
      expect(api.output()).toContain('"reason":"a worker failed to start"');
    } finally {
      squatter.close();
    }
  });
});
