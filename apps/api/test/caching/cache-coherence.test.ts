import type { Goal, GoalPage, GoalSummary } from '@goal-tracker/contract';
import { startPostgres } from '@goal-tracker/test-support/postgres';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { AppTuning } from '../../src/app.js';
import { GOALS_CHANNEL } from '../../src/caching/change-feed.js';
import {
  changePassword,
  json,
  patchGoal,
  postGoal,
  signUp,
  TEST_SETTINGS,
  until,
  useTestApis,
  type TestApi,
} from '../helpers.js';

// Two API instances (two apps, each with its own pool, listener and cache) on one database,
// as behind the internal load balancer: what one writes, the other must list at once.

const apis = useTestApis(startPostgres);

/** No goal cap: creates then run side by side, as in the benchmark, rather than one by one. */
const UNCAPPED = { ...TEST_SETTINGS, limits: { ...TEST_SETTINGS.limits, goalsPerAccount: 0 } };

/** How long another instance may keep listing the old goals after a write is acknowledged. */
const MAX_STALE_MS = 1000;

/** Two instances on one fresh database, both listening for changes. */
async function twoInstances(
  tuning: AppTuning = {},
): Promise<{ url: string; writer: TestApi; reader: TestApi }> {
  const url = await apis.server.createDatabase('coherence');
  const writer = await apis.create(url, {}, {}, UNCAPPED);
  // The same person, signed in on the other instance too.
  const reader = await apis.create(url, {}, tuning, UNCAPPED, writer.account.token);
  await until(() => writer.cache.live && reader.cache.live, 5000);
  return { url, writer, reader };
}

function get(api: TestApi, url: string, ifNoneMatch?: string) {
  return api.inject({
    method: 'GET',
    url,
    headers: ifNoneMatch === undefined ? {} : { 'if-none-match': ifNoneMatch },
  });
}

/**
 * Reads `url` until the instance answers it from its cache (the NOTIFY of a write made just
 * before may arrive after the first read and drop it once).
 */
async function warm(api: TestApi, url: string): Promise<void> {
  const hits = api.cache.stats().hits;
  await until(async () => {
    await get(api, url);
    return api.cache.stats().hits > hits;
  }, 2000);
}

/** The names in the order they were created (oldest first), whatever the list's order. */
async function names(api: TestApi): Promise<string[]> {
  const response = await get(api, '/goals?limit=100');
  expect(response.statusCode).toBe(200);
  return response
    .json<GoalPage>()
    .goals.sort((a, b) => a.id - b.id)
    .map((goal) => `${goal.name}${goal.done ? ' (done)' : ''}`);
}

async function summary(api: TestApi): Promise<GoalSummary> {
  return (await get(api, '/goals/summary')).json<GoalSummary>();
}

/** Runs SQL on the database directly: a change the API instances are not told about. */
async function behindTheirBack(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('two API instances on one database', () => {
  it('when goals are created, renamed, marked done and deleted through one, then the other lists each change within 1 s, with new ETags', async () => {
    const { writer, reader } = await twoInstances();
    const first = (await postGoal(writer, 'first')).json<Goal>();
    const steps: { write: () => Promise<unknown>; expected: string[]; counts: GoalSummary }[] = [
      {
        write: () => postGoal(writer, 'second'),
        expected: ['first', 'second'],
        counts: { total: 2, done: 0, active: 2, overdue: 0 },
      },
      {
        write: () => patchGoal(writer, first.id, { name: 'first, renamed' }),
        expected: ['first, renamed', 'second'],
        counts: { total: 2, done: 0, active: 2, overdue: 0 },
      },
      {
        write: () => patchGoal(writer, first.id, { done: true }),
        expected: ['first, renamed (done)', 'second'],
        counts: { total: 2, done: 1, active: 1, overdue: 0 },
      },
      {
        write: () => writer.inject({ method: 'DELETE', url: `/goals/${first.id}` }),
        expected: ['second'],
        counts: { total: 1, done: 0, active: 1, overdue: 0 },
      },
      {
        write: () =>
          writer.inject({
            method: 'POST',
            url: '/goals',
            headers: { ...json, 'idempotency-key': 'coherent' },
            payload: { name: 'keyed' },
          }),
        expected: ['second', 'keyed'],
        counts: { total: 2, done: 0, active: 2, overdue: 0 },
      },
    ];

    for (const step of steps) {
      // The reader holds the current list and summary in its cache.
      await warm(reader, '/goals?limit=100');
      await warm(reader, '/goals/summary');
      const before = await get(reader, '/goals?limit=100');
      const summaryBefore = await get(reader, '/goals/summary');

      await step.write();
      const acknowledged = Date.now();
      await until(
        async () =>
          JSON.stringify(await names(reader)) === JSON.stringify(step.expected) &&
          JSON.stringify(await summary(reader)) === JSON.stringify(step.counts),
        MAX_STALE_MS,
      );
      expect(Date.now() - acknowledged).toBeLessThan(MAX_STALE_MS);

      for (const [url, old] of [
        ['/goals?limit=100', before],
        ['/goals/summary', summaryBefore],
      ] as const) {
        const again = await get(reader, url, old.headers.etag);
        // Equal content, equal ETag, whichever instance answers.
        const current = (await get(writer, url)).headers.etag as string;
        if (old.body === (await get(reader, url)).body) {
          // A rename leaves the counts, and so the summary's ETag, as they were.
          expect(again.statusCode, url).toBe(304);
          expect(current).toBe(old.headers.etag);
          continue;
        }
        expect(again.statusCode, url).toBe(200);
        expect(again.headers.etag).not.toBe(old.headers.etag);
        expect(current).toBe(again.headers.etag);
        expect((await get(reader, url, current)).statusCode).toBe(304);
      }
    }
  });

  it('when many writes land at once, then they share a few NOTIFYs and the other instance still sees them all', async () => {
    const { url, writer, reader } = await twoInstances();
    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    let notifications = 0;
    listener.on('notification', () => (notifications += 1));
    await listener.query(`LISTEN ${GOALS_CHANNEL}`);
    try {
      await names(reader);
      const created = await Promise.all(
        Array.from({ length: 40 }, (_, i) => postGoal(writer, `burst ${i}`)),
      );
      expect(created.map((response) => response.statusCode)).toEqual(Array(40).fill(201));
      await until(async () => (await summary(reader)).total === 40, MAX_STALE_MS);
      expect(await names(reader)).toHaveLength(40);
      expect(notifications).toBeGreaterThan(0);
      expect(notifications).toBeLessThan(40);
    } finally {
      await listener.end();
    }
  });

  it('when an instance loses its LISTEN connection, then it serves nothing from its cache until it listens again', async () => {
    // A slow reconnect leaves a wide window in which notifications cannot reach the reader.
    const { url, writer, reader } = await twoInstances({ listener: { reconnectDelayMs: 1500 } });
    await postGoal(writer, 'before');
    await warm(reader, '/goals?limit=100');

    await behindTheirBack(
      url,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'goal-tracker-api listener'`,
    );
    await until(() => !reader.cache.live, 2000);

    // Notifications sent now never reach the reader; it must read the database instead.
    await postGoal(writer, 'while deaf');
    await behindTheirBack(
      url,
      `INSERT INTO goals (account_id, goal_name) VALUES (${writer.account.account.id}, 'behind their back')`,
    );
    const hits = reader.cache.stats().hits;
    expect(await names(reader)).toEqual(['before', 'while deaf', 'behind their back']);
    expect(await names(reader)).toEqual(['before', 'while deaf', 'behind their back']);
    expect((await summary(reader)).total).toBe(3);
    expect(reader.cache.stats().hits).toBe(hits);

    // Listening again, it caches again, and hears the writer again.
    await until(() => reader.cache.live, 5000);
    await warm(reader, '/goals?limit=100');
    await postGoal(writer, 'after');
    await until(async () => (await names(reader)).includes('after'), MAX_STALE_MS);
  });

  it('when PostgreSQL restarts, then both listen again by themselves and changes on one reach the other', async () => {
    const { writer, reader } = await twoInstances();
    await postGoal(writer, 'before the restart');
    await warm(reader, '/goals?limit=100');

    await apis.server.stop();
    try {
      await until(() => !reader.cache.live && !writer.cache.live, 2000);
      const during = await get(reader, '/goals?limit=100');
      expect(during.statusCode).toBe(503);
      expect(during.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect((await get(reader, '/goals/summary')).statusCode).toBe(503);
    } finally {
      await apis.server.start();
    }

    await until(() => reader.cache.live && writer.cache.live, 5000);
    await until(async () => (await get(reader, '/goals?limit=100')).statusCode === 200, 5000);
    await names(reader);
    await postGoal(writer, 'after the restart');
    await until(
      async () =>
        JSON.stringify(await names(reader)) ===
        JSON.stringify(['before the restart', 'after the restart']),
      MAX_STALE_MS,
    );
  });
});

/**
 * How long after a sign-out is answered another instance may still take the token: the
 * reply waits until the NOTIFY is back on this instance's own LISTEN connection, so what is
 * left is PostgreSQL handing it to the other listening connections, a few milliseconds.
 */
const MAX_REVOCATION_LAG_MS = 250;

async function refusedSoon(api: TestApi, url: string) {
  await until(async () => (await get(api, url)).statusCode === 401, MAX_REVOCATION_LAG_MS);
}

describe('accounts across two instances', () => {
  it('when a token signs out on one instance, then the other, which remembered it, refuses it within milliseconds', async () => {
    const { writer, reader } = await twoInstances();
    // The reader remembers the session from its first use.
    await warm(reader, '/goals?limit=100');
    const signOut = await writer.inject({ method: 'DELETE', url: '/sessions/current' });
    expect(signOut.statusCode).toBe(204);
    await refusedSoon(reader, '/goals?limit=100');
  });

  it('when the password changes on one instance, then the old token is refused on the other within milliseconds', async () => {
    const { writer, reader } = await twoInstances();
    await warm(reader, '/goals?limit=100');
    const changed = await changePassword(writer, 'another long passphrase');
    expect(changed.statusCode).toBe(201);
    await refusedSoon(reader, '/goals/summary');
  });

  it("when one account's lists are cached on an instance, then another account there sees only its own, and a write by either drops only the writer's", async () => {
    const { writer, reader } = await twoInstances();
    await postGoal(writer, 'private to the first');
    await warm(reader, '/goals?limit=100');
    const stranger = await signUp(reader.app);
    const theirs = await stranger.inject({ method: 'GET', url: '/goals?limit=100' });
    expect(theirs.json<GoalPage>().goals).toEqual([]);
    expect((await stranger.inject({ method: 'GET', url: '/goals/summary' })).json()).toEqual({
      total: 0,
      done: 0,
      active: 0,
      overdue: 0,
    });
    // The stranger writes through the reader: the first account's cached list survives it.
    const hits = reader.cache.stats().hits;
    await postGoal(stranger, 'the stranger’s own');
    expect(await names(reader)).toEqual(['private to the first']);
    expect(reader.cache.stats().hits).toBe(hits + 1);
    // And the first account's writes on the other instance reach the reader.
    await postGoal(writer, 'second of the first');
    await until(async () => (await names(reader)).length === 2, MAX_STALE_MS);
    const strangerList = await stranger.inject({ method: 'GET', url: '/goals?limit=100' });
    expect(strangerList.json<GoalPage>().goals.map((goal) => goal.name)).toEqual([
      'the stranger’s own',
    ]);
  });
});
