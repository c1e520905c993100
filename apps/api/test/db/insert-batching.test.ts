import type { Goal } from '@goal-tracker/contract';
import { createTestServer } from '@goal-tracker/test-support/postgres';
import { describe, expect, it } from 'vitest';
import {
  countGoals,
  postGoal,
  TEST_SETTINGS,
  until,
  useTestApis,
  type TestApi,
} from '../helpers.js';

const apis = useTestApis(createTestServer);

async function newApi(): Promise<TestApi> {
  // Creates share INSERTs when no goal cap needs counting first (as in the benchmark).
  const api = await apis.create(
    await apis.server.createDatabase('batching'),
    {},
    {},
    { ...TEST_SETTINGS, limits: { ...TEST_SETTINGS.limits, goalsPerAccount: 0 } },
  );
  // Creates reach the batcher together only when none asks the database first. Until the
  // change feed listens, and before the session's first use, each looks its session up, and
  // those lookups update one row, one at a time: on a slow machine every create went alone.
  await until(() => api.cache.live, 10_000);
  await api.inject({ method: 'GET', url: '/goals' });
  return api;
}

/** INSERT statements of creates so far, and the creates they carried, from /metrics. */
async function insertStatements(api: TestApi): Promise<{ statements: number; creates: number }> {
  const text = (await api.inject({ method: 'GET', url: '/metrics' })).body;
  const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
  return {
    statements: value('goals_insert_batch_size_count'),
    creates: value('goals_insert_batch_size_sum'),
  };
}

describe('creates arriving together', () => {
  it('when 40 arrive at once, some with equal names, then they share INSERTs and each gets its own goal with its name', async () => {
    const api = await newApi();
    const names = Array.from({ length: 40 }, (_, i) => `goal ${i % 30}`);
    const responses = await Promise.all(names.map((name) => postGoal(api, name)));
    expect(responses.map((response) => response.statusCode)).toEqual(Array(40).fill(201));
    const goals = responses.map((response) => response.json<Goal>());
    expect(goals.map((goal) => goal.name)).toEqual(names);
    expect(new Set(goals.map((goal) => goal.id)).size).toBe(40);
    for (const [i, response] of responses.entries()) {
      expect(response.headers.location).toBe(`/goals/${goals[i]?.id}`);
    }
    expect(await countGoals(api.db)).toBe(40);

    const { statements, creates } = await insertStatements(api);
    expect(creates).toBe(40);
    expect(statements).toBeLessThan(40);
    // Each one is stored as answered.
    for (const goal of goals.slice(0, 5)) {
      const stored = await api.inject({ method: 'GET', url: `/goals/${goal.id}` });
      expect(stored.json()).toEqual(goal);
    }
  });

  it('when one create in a shared INSERT fails in the database, then only it fails and the others are created', async () => {
    const api = await newApi();
    // A rule only the database knows, so the API's validation lets the name through.
    await api.db.session((query) =>
      query("ALTER TABLE goals ADD CONSTRAINT no_poison CHECK (goal_name <> 'poison')"),
    );
    const names = ['a', 'b', 'poison', 'c', 'd', 'e', 'f', 'g'];
    const responses = await Promise.all(names.map((name) => postGoal(api, name)));
    expect(responses.map((response) => response.statusCode)).toEqual(
      names.map((name) => (name === 'poison' ? 500 : 201)),
    );
    const poisoned = responses[2];
    expect(poisoned?.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(poisoned?.body).not.toMatch(/poison|constraint|INSERT/i);
    expect(await countGoals(api.db)).toBe(7);
    const { statements, creates } = await insertStatements(api);
    expect(creates).toBe(names.length);
    expect(statements).toBeLessThan(names.length);
  });

  it('when plain and keyed creates arrive together, then each keyed one is made exactly once', async () => {
    const api = await newApi();
    const keyed = (i: number) =>
      postGoal(api, 'keyed', { 'idempotency-key': `key-${i % 3}` }).then((response) => ({
        key: i % 3,
        response,
      }));
    const [plain, keyedResults] = await Promise.all([
      Promise.all(Array.from({ length: 20 }, (_, i) => postGoal(api, `plain ${i}`))),
      Promise.all(Array.from({ length: 15 }, (_, i) => keyed(i))),
    ]);
    expect(plain.map((response) => response.statusCode)).toEqual(Array(20).fill(201));
    for (const key of [0, 1, 2]) {
      const ids = new Set(
        keyedResults
          .filter((result) => result.key === key)
          .map(({ response }) => response.json<Goal>().id),
      );
      expect(ids.size, `key-${key}`).toBe(1);
    }
    expect(await countGoals(api.db)).toBe(23);
  });
});

describe('a create named with half a character', () => {
  it('when it arrives together with a good one, then it alone is refused (400) and only the good one is stored, with its own name', async () => {
    const api = await newApi();
    const [bad, good] = await Promise.all([postGoal(api, 'a\ud800'), postGoal(api, 'a\ufffd')]);
    expect(bad.statusCode).toBe(400);
    expect(good.statusCode).toBe(201);
    expect(good.json<{ name: string }>().name).toBe('a\ufffd');
    expect(await countGoals(api.db)).toBe(1);
  });
});
