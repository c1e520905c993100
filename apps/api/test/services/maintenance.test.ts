import type { Goal } from '@goal-tracker/contract';
import { createTestServer, type TestDatabases } from '@goal-tracker/test-support/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, postGoal, type TestApi } from '../helpers.js';

let server: TestDatabases;
let api: TestApi;

beforeAll(async () => {
  server = await createTestServer();
  // Pruning every 50 ms instead of every hour, so the test sees it happen.
  api = await createTestApi(
    await server.createDatabase('pruning'),
    {},
    {
      pruning: { intervalMs: 50 },
    },
  );
});
afterAll(async () => {
  await api?.close();
  await server?.dispose();
});

async function keys(): Promise<string[]> {
  return api.db.session(async (query) => {
    const { rows } = await query<{ key: string }>('SELECT key FROM idempotency_keys ORDER BY key');
    return rows.map((row) => row.key);
  });
}

describe('idempotency key pruning', () => {
  it('when keys are older than a day, then they are deleted by themselves; younger keys stay and still replay', async () => {
    const recent = await postGoal(api, 'recent', { 'idempotency-key': 'recent' });
    const almost = await postGoal(api, 'almost a day', { 'idempotency-key': 'almost' });
    await postGoal(api, 'old', { 'idempotency-key': 'old' });
    await postGoal(api, 'older', { 'idempotency-key': 'older' });
    // One statement, so no pruning run sees some keys aged and others not yet.
    await api.db.session((query) =>
      query(`UPDATE idempotency_keys SET created_at = now() - CASE key
          WHEN 'old' THEN interval '25 hours'
          WHEN 'older' THEN interval '30 days'
          WHEN 'almost' THEN interval '23 hours'
          ELSE interval '0' END`),
    );

    const deadline = Date.now() + 5000;
    let left = await keys();
    while (left.length > 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      left = await keys();
    }
    expect(left).toEqual(['almost', 'recent']);

    for (const [name, key, first] of [
      ['recent', 'recent', recent],
      ['almost a day', 'almost', almost],
    ] as const) {
      const again = await postGoal(api, name, { 'idempotency-key': key });
      expect(again.statusCode).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json<Goal>().id).toBe(first.json<Goal>().id);
    }
    // The goals the pruned keys made are kept; only the keys are forgotten.
    const summary = await api.inject({ method: 'GET', url: '/goals/summary' });
    expect(summary.json()).toMatchObject({ total: 4 });
  });
});
