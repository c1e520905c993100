import type { Goal } from '@goal-tracker/contract';
import { startPostgres } from '@goal-tracker/test-support/postgres';
import type { InjectOptions } from 'fastify';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrateWhenReachable } from '../../src/db/migrations.js';
import {
  json,
  type PoolOverrides,
  postGoal,
  silentLog,
  testDatabase,
  useTestApis,
  type TestApi,
} from '../helpers.js';

const apis = useTestApis(startPostgres);

async function newApi(overrides: PoolOverrides = {}): Promise<TestApi> {
  return apis.create(await apis.server.createDatabase('faults'), overrides);
}

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
}

function expectGenericProblem(body: string) {
  expect(body).not.toMatch(/ECONNREFUSED|terminat|5432|127\.0\.0\.1|SELECT|postgres|stack/i);
}

/** Runs SQL as the superuser on the database the API uses. */
async function admin<T>(database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: apis.server.url(database) });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Holds an ACCESS EXCLUSIVE lock on the API's goals table while `work` runs, so the API's
 * statements on it wait; `release` lets them go early.
 */
async function withGoalsLocked<T>(
  api: TestApi,
  work: (release: () => Promise<void>, database: string) => Promise<T>,
): Promise<T> {
  const database = await databaseName(api);
  const locker = new pg.Client({ connectionString: apis.server.url(database) });
  await locker.connect();
  let held = false;
  const release = async () => {
    if (!held) return;
    held = false;
    await locker.query('COMMIT');
  };
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE goals IN ACCESS EXCLUSIVE MODE');
    held = true;
    return await work(release, database);
  } finally {
    await release().catch(() => undefined);
    await locker.end();
  }
}

function databaseName(api: TestApi): Promise<string> {
  return api.db.session(async (query) => {
    const { rows } = await query<{ name: string }>('SELECT current_database() AS name');
    return rows[0]?.name ?? '';
  });
}

describe('when the database stops mid-run', () => {
  it('then /health stays 200, /ready and data routes fail fast with 503, it recovers by itself, and no acknowledged write is lost', async () => {
    const api = await newApi();
    const acknowledged: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const response = await api.inject({
        method: 'POST',
        url: '/goals',
        headers: json,
        payload: { name: `Before ${i}` },
      });
      expect(response.statusCode).toBe(201);
      acknowledged.push(response.json<Goal>().id);
    }

    await apis.server.stop();
    try {
      expect((await api.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      const probes = [
        { method: 'GET', url: '/ready' },
        { method: 'GET', url: '/goals' },
        { method: 'GET', url: `/goals/${acknowledged[0]}` },
        { method: 'POST', url: '/goals', headers: json, payload: { name: 'During' } },
        {
          method: 'PATCH',
          url: `/goals/${acknowledged[0]}`,
          headers: json,
          payload: { done: true },
        },
        { method: 'DELETE', url: `/goals/${acknowledged[1]}` },
      ] as const;
      for (const probe of probes) {
        const { result: response, ms } = await timed(() => api.inject(probe));
        expect(response.statusCode, `${probe.method} ${probe.url}`).toBe(503);
        expect(ms).toBeLessThan(2000);
        expect(response.headers['retry-after']).toBe('1');
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
        expectGenericProblem(response.body);
      }
      expect((await api.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      await apis.server.start();
    }

    const deadline = Date.now() + 5000;
    let ready = 0;
    while (Date.now() < deadline) {
      ready = (await api.inject({ method: 'GET', url: '/ready' })).statusCode;
      if (ready === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(ready).toBe(200);
    const page = await api.inject({ method: 'GET', url: '/goals?limit=100' });
    expect(page.statusCode).toBe(200);
    // Listed newest first.
    expect(page.json<{ goals: Goal[] }>().goals.map((goal) => goal.id)).toEqual(
      [...acknowledged].reverse(),
    );
    const after = await postGoal(api, 'After');
    expect(after.statusCode).toBe(201);
  });
});

describe('when the database is down as the API boots', () => {
  it('then migration waits for it, and completes by itself once it is back', async () => {
    const db = testDatabase(await apis.server.createDatabase('late'));
    await apis.server.stop();
    let migrated: Promise<number[]>;
    try {
      migrated = migrateWhenReachable(db, { log: silentLog });
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(db.migratedVersion).toBeUndefined();
    } finally {
      await apis.server.start();
    }
    try {
      expect((await migrated).length).toBeGreaterThan(0);
      expect(db.migratedVersion).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  });
});

describe('when every pooled connection is terminated by the server', () => {
  it('then the next requests succeed on fresh connections', async () => {
    const api = await newApi();
    const goal = (await postGoal(api, 'Survivor')).json<Goal>();
    // Fill the pool with several idle connections (reads by id: concurrent lists share one).
    await Promise.all(
      Array.from({ length: 8 }, () => api.inject({ method: 'GET', url: `/goals/${goal.id}` })),
    );
    expect(api.db.stats().idle).toBeGreaterThan(1);

    const database = await databaseName(api);
    const terminated = await admin('postgres', async (client) => {
      const { rowCount } = await client.query(
        // The second argument waits for each backend to be gone.
        'SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [database],
      );
      return rowCount;
    });
    expect(terminated).toBeGreaterThan(1);

    const list = await api.inject({ method: 'GET', url: '/goals' });
    expect(list.statusCode).toBe(200);
    expect(list.json<{ goals: Goal[] }>().goals).toHaveLength(1);
    const update = await api.inject({
      method: 'PATCH',
      url: `/goals/${goal.id}`,
      headers: json,
      payload: { done: true },
    });
    expect(update.statusCode).toBe(200);
    const keyed = await api.inject({
      method: 'POST',
      url: '/goals',
      headers: { ...json, 'idempotency-key': 'after-terminate' },
      payload: { name: 'Keyed' },
    });
    expect(keyed.statusCode).toBe(201);
    const plain = await postGoal(api, 'Plain');
    expect(plain.statusCode).toBe(201);
  });
});

describe('when the connection dies under a statement', () => {
  /** Sends the request while the table is locked, kills its backend, then lets the lock go. */
  function killMidStatement(api: TestApi, request: InjectOptions) {
    return withGoalsLocked(api, async (release, database) => {
      const pending = api.inject(request);
      let killed = 0;
      // Not from the locker: inside its transaction pg_stat_activity would be a frozen snapshot.
      for (let attempt = 0; attempt < 50 && killed === 0; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        killed = await admin(database, async (client) => {
          const { rowCount } = await client.query(
            `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
             WHERE datname = $1 AND application_name = 'goal-tracker-api' AND wait_event_type = 'Lock'`,
            [database],
          );
          return rowCount ?? 0;
        });
      }
      expect(killed).toBe(1);
      await release();
      return pending;
    });
  }

  it('then a read is sent again, once, on a fresh connection and succeeds', async () => {
    const api = await newApi();
    const response = await killMidStatement(api, { method: 'GET', url: '/goals' });
    expect(response.statusCode).toBe(200);
  });

  it('then a plain create is not sent again (it might land twice): 503, and at most one row', async () => {
    const api = await newApi();
    const response = await killMidStatement(api, {
      method: 'POST',
      url: '/goals',
      headers: json,
      payload: { name: 'Maybe' },
    });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    const page = await api.inject({ method: 'GET', url: '/goals' });
    expect(page.json<{ goals: Goal[] }>().goals.length).toBeLessThanOrEqual(1);
  });
});

describe('when 50 creates arrive at once', () => {
  it('then all 50 land, with distinct ids', async () => {
    const api = await newApi();
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        api.inject({
          method: 'POST',
          url: '/goals',
          headers: json,
          payload: { name: `Parallel ${i}` },
        }),
      ),
    );
    expect(responses.map((response) => response.statusCode)).toEqual(Array(50).fill(201));
    const ids = new Set(responses.map((response) => response.json<Goal>().id));
    expect(ids.size).toBe(50);
    const page = await api.inject({ method: 'GET', url: '/goals?limit=100' });
    expect(
      page
        .json<{ goals: Goal[] }>()
        .goals.map((goal) => goal.id)
        .sort((a, b) => a - b),
    ).toEqual([...ids].sort((a, b) => a - b));
  });
});

describe('when no pooled connection frees up in time', () => {
  it('then the waiting request gets 503 with Retry-After instead of hanging', async () => {
    const api = await newApi({ poolMax: 1, connectTimeoutMs: 300 });
    await withGoalsLocked(api, async (release) => {
      // Holds the pool's only connection, waiting on the lock.
      const blocked = api.inject({ method: 'GET', url: '/goals' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const { result: waiting, ms } = await timed(() =>
        api.inject({ method: 'GET', url: '/goals/1' }),
      );
      expect(waiting.statusCode).toBe(503);
      expect(waiting.headers['retry-after']).toBe('1');
      expect(ms).toBeLessThan(2000);
      expectGenericProblem(waiting.body);
      await release();
      expect((await blocked).statusCode).toBe(200);
    });
  });

  it('then a statement that runs past the statement timeout ends in 503, not a hang', async () => {
    const api = await newApi({ statementTimeoutMs: 300 });
    await withGoalsLocked(api, async () => {
      const { result: response, ms } = await timed(() =>
        api.inject({ method: 'GET', url: '/goals' }),
      );
      expect(response.statusCode).toBe(503);
      expect(ms).toBeLessThan(2000);
      expectGenericProblem(response.body);
    });
  });
});
