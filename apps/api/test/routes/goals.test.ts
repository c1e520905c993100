import type { Goal, GoalPage, GoalSummary } from '@goal-tracker/contract';
import { describe, expect, it } from 'vitest';
import { json, patchGoal, postGoal, useTestApi } from '../helpers.js';

const api = useTestApi('goals', { reset: true });

function create(name: string, headers: Record<string, string> = {}) {
  return postGoal(api, name, headers);
}

async function createGoal(name: string): Promise<Goal> {
  const response = await create(name);
  expect(response.statusCode).toBe(201);
  return response.json<Goal>();
}

async function list(query: string): Promise<GoalPage> {
  const response = await api.inject({ method: 'GET', url: `/goals${query}` });
  expect(response.statusCode).toBe(200);
  return response.json<GoalPage>();
}

describe('POST /goals', () => {
  it('when the name is valid, then 201 with the goal, its Location, and the name trimmed', async () => {
    const response = await create('  Run a marathon  ');
    expect(response.statusCode).toBe(201);
    const goal = response.json<Goal>();
    expect(goal).toMatchObject({ name: 'Run a marathon', done: false });
    expect(goal.id).toBeGreaterThan(0);
    expect(response.headers.location).toBe(`/goals/${goal.id}`);
    expect(new Date(goal.createdAt).toISOString()).toBe(goal.createdAt);
    expect(goal.updatedAt).toBe(goal.createdAt);
    expect(Object.keys(goal).sort()).toEqual([
      'createdAt',
      'done',
      'doneAt',
      'id',
      'name',
      'targetDate',
      'updatedAt',
      'version',
    ]);
    expect(goal).toMatchObject({ targetDate: null, doneAt: null, version: 1 });
  });

  it('when the name holds SQL, then it is stored literally and the table survives', async () => {
    const name = "Robert'); DROP TABLE goals;--";
    const goal = await createGoal(name);
    expect(goal.name).toBe(name);
    const fetched = await api.inject({ method: 'GET', url: `/goals/${goal.id}` });
    expect(fetched.json<Goal>().name).toBe(name);
    expect((await list('')).goals).toHaveLength(1);
  });

  it('when the name is 255 emoji, then it is accepted, as PostgreSQL counts characters', async () => {
    const name = '🎯'.repeat(255);
    expect((await createGoal(name)).name).toBe(name);
  });
});

describe('GET /goals/{id}', () => {
  it('when the goal exists, then 200 with it', async () => {
    const goal = await createGoal('Learn Rust');
    const response = await api.inject({ method: 'GET', url: `/goals/${goal.id}` });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(goal);
  });

  it('when no goal has the id, then 404 problem', async () => {
    const response = await api.inject({ method: 'GET', url: '/goals/999999' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ status: 404, title: 'Not Found' });
  });
});

describe('PATCH /goals/{id}', () => {
  it('when done is set, then the goal is done, its name unchanged, updatedAt moved on', async () => {
    const goal = await createGoal('Read a book');
    const response = await patchGoal(api, goal.id, { done: true });
    expect(response.statusCode).toBe(200);
    const updated = response.json<Goal>();
    expect(updated).toMatchObject({
      id: goal.id,
      name: 'Read a book',
      done: true,
      createdAt: goal.createdAt,
    });
    expect(updated.updatedAt >= goal.updatedAt).toBe(true);
  });

  it('when the name is changed, then it is trimmed and stored', async () => {
    const goal = await createGoal('Old name');
    const response = await patchGoal(api, goal.id, { name: ' New name ' });
    expect(response.json<Goal>()).toMatchObject({ name: 'New name', done: false });
  });

  it('when no goal has the id, then 404', async () => {
    const response = await patchGoal(api, 424242, { done: true });
    expect(response.statusCode).toBe(404);
  });
});

describe('DELETE /goals/{id}', () => {
  it('when the goal exists, then 204 and it is gone; deleting it again is 404', async () => {
    const goal = await createGoal('Temporary');
    const deleted = await api.inject({ method: 'DELETE', url: `/goals/${goal.id}` });
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    expect((await api.inject({ method: 'GET', url: `/goals/${goal.id}` })).statusCode).toBe(404);
    expect((await api.inject({ method: 'DELETE', url: `/goals/${goal.id}` })).statusCode).toBe(404);
  });
});

describe('GET /goals', () => {
  it('when there are no goals, then an empty page with no next', async () => {
    expect(await list('')).toEqual({ goals: [], next: null, cursor: null });
  });

  it('when paging with limit and after, then every goal comes once, newest first', async () => {
    const created: Goal[] = [];
    for (let i = 1; i <= 7; i += 1) created.push(await createGoal(`Goal ${i}`));
    const seen: number[] = [];
    let after: number | null = 0;
    let pages = 0;
    while (after !== null) {
      const page = await list(`?limit=3&after=${after}`);
      expect(page.goals.length).toBeLessThanOrEqual(3);
      seen.push(...page.goals.map((goal) => goal.id));
      after = page.next;
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(created.map((goal) => goal.id).reverse());
  });

  it('when a page is full but nothing follows, then next is null', async () => {
    await createGoal('One');
    await createGoal('Two');
    expect((await list('?limit=2')).next).toBeNull();
  });

  it('when a goal is deleted between pages, then paging by after still skips nothing', async () => {
    const [d, c, b, a] = [
      await createGoal('d'),
      await createGoal('c'),
      await createGoal('b'),
      await createGoal('a'),
    ];
    const first = await list('?limit=2');
    expect(first.goals.map((goal) => goal.id)).toEqual([a?.id, b?.id]);
    await api.inject({ method: 'DELETE', url: `/goals/${a?.id}` });
    const second = await list(`?limit=2&after=${first.next}`);
    expect(second.goals.map((goal) => goal.id)).toEqual([c?.id, d?.id]);
  });

  it('when filtered by done, then only goals in that state come, paged the same way', async () => {
    const goals: Goal[] = [];
    for (let i = 0; i < 6; i += 1) goals.push(await createGoal(`Goal ${i}`));
    for (const goal of goals.filter((_, index) => index % 2 === 0)) {
      await patchGoal(api, goal.id, { done: true });
    }
    const done = await list('?done=true&limit=2');
    expect(done.goals.every((goal) => goal.done)).toBe(true);
    const rest = await list(`?done=true&limit=2&after=${done.next}`);
    expect([...done.goals, ...rest.goals].map((goal) => goal.id)).toEqual(
      goals
        .filter((_, index) => index % 2 === 0)
        .map((goal) => goal.id)
        .reverse(),
    );
    expect(rest.next).toBeNull();
    const open = await list('?done=false');
    expect(open.goals.map((goal) => goal.id)).toEqual(
      goals
        .filter((_, index) => index % 2 === 1)
        .map((goal) => goal.id)
        .reverse(),
    );
  });

  it('when no limit is given, then the page holds at most 50', async () => {
    for (let i = 0; i < 51; i += 1) await createGoal(`Goal ${i}`);
    const page = await list('');
    expect(page.goals).toHaveLength(50);
    expect(page.next).toBe(page.goals[49]?.id);
  });
});

describe('POST /goals with Idempotency-Key', () => {
  it('when the same key comes again, then the same goal comes back and no second one is made', async () => {
    const key = { 'idempotency-key': 'create-1' };
    const first = await create('Ship it', key);
    const second = await create('Ship it', key);
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.headers.location).toBe(first.headers.location);
    expect((await list('')).goals).toHaveLength(1);
  });

  it('when the same key comes ten times at once, then exactly one goal is made', async () => {
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => create('Concurrent', { 'idempotency-key': 'burst' })),
    );
    expect(responses.map((response) => response.statusCode)).toEqual(Array(10).fill(201));
    expect(new Set(responses.map((response) => response.json<Goal>().id)).size).toBe(1);
    expect((await list('')).goals).toHaveLength(1);
  });

  it('when the key is reused for a different name, then 422 and nothing is made', async () => {
    await create('First', { 'idempotency-key': 'reused' });
    const response = await create('Second', { 'idempotency-key': 'reused' });
    expect(response.statusCode).toBe(422);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await list('')).goals.map((goal) => goal.name)).toEqual(['First']);
  });

  it('when different keys are used, then each makes its own goal', async () => {
    await create('Same name', { 'idempotency-key': 'a' });
    await create('Same name', { 'idempotency-key': 'b' });
    expect((await list('')).goals).toHaveLength(2);
  });

  it('when the goal the key made was deleted, then 410 and no new goal', async () => {
    const first = await create('Short-lived', { 'idempotency-key': 'gone' });
    await api.inject({ method: 'DELETE', url: first.headers.location });
    const again = await create('Short-lived', { 'idempotency-key': 'gone' });
    expect(again.statusCode).toBe(410);
    expect((await list('')).goals).toHaveLength(0);
  });

  it('when the key is empty, too long or has spaces, then 400 and nothing is made', async () => {
    for (const key of ['', 'k'.repeat(256), 'has space']) {
      const response = await create('Keyed', { 'idempotency-key': key });
      expect(response.statusCode, JSON.stringify(key)).toBe(400);
    }
    expect((await list('')).goals).toHaveLength(0);
  });
});

describe('GET /goals/summary', () => {
  async function summary(): Promise<GoalSummary> {
    const response = await api.inject({ method: 'GET', url: '/goals/summary' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    return response.json<GoalSummary>();
  }

  it('when there are no goals, then every count is 0', async () => {
    expect(await summary()).toEqual({ total: 0, done: 0, active: 0, overdue: 0 });
  });

  it('when goals are created, marked done and deleted, then the counts follow each change', async () => {
    const goals: Goal[] = [];
    for (let i = 0; i < 5; i += 1) goals.push(await createGoal(`Goal ${i}`));
    expect(await summary()).toEqual({ total: 5, done: 0, active: 5, overdue: 0 });
    for (const goal of goals.slice(0, 2)) await patchGoal(api, goal.id, { done: true });
    expect(await summary()).toEqual({ total: 5, done: 2, active: 3, overdue: 0 });
    await patchGoal(api, goals[0]?.id, { done: false });
    expect(await summary()).toEqual({ total: 5, done: 1, active: 4, overdue: 0 });
    await api.inject({ method: 'DELETE', url: `/goals/${goals[1]?.id}` });
    await api.inject({ method: 'DELETE', url: `/goals/${goals[4]?.id}` });
    expect(await summary()).toEqual({ total: 3, done: 0, active: 3, overdue: 0 });
  });

  it('when the path is /goals/summary, then it is never taken for a goal id', async () => {
    await createGoal('Only one');
    const patched = await api.inject({
      method: 'PATCH',
      url: '/goals/summary',
      headers: json,
      payload: { done: true },
    });
    expect(patched.statusCode).toBe(400);
    expect((await api.inject({ method: 'DELETE', url: '/goals/summary' })).statusCode).toBe(400);
    expect(await summary()).toEqual({ total: 1, done: 0, active: 1, overdue: 0 });
  });

  it('when the OpenAPI document is read, then it describes the route and its schema', async () => {
    const document = (await api.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    }>();
    const route = document.paths['/goals/summary']?.get;
    expect(Object.keys(route?.responses ?? {}).sort()).toEqual([
      '200',
      '304',
      '400',
      '401',
      '431',
      '500',
      '503',
    ]);
    expect(JSON.stringify(route?.responses['200'])).toMatch(
      /total[\s\S]*done[\s\S]*active[\s\S]*overdue/,
    );
  });
});

describe('ETag and If-None-Match', () => {
  async function get(url: string, ifNoneMatch?: string) {
    return api.inject({
      method: 'GET',
      url,
      headers: ifNoneMatch === undefined ? {} : { 'if-none-match': ifNoneMatch },
    });
  }

  it.each(['/goals?limit=20', '/goals/summary'])(
    'when %s is asked with its current ETag, then 304 with no body; after a write, 200 with a new ETag',
    async (url) => {
      await createGoal('Tagged');
      const first = await get(url);
      const etag = first.headers.etag as string;
      expect(etag).toMatch(/^"[\w-]+"$/);
      expect(first.headers['cache-control']).toBe('no-cache');

      const revalidated = await get(url, etag);
      expect(revalidated.statusCode).toBe(304);
      expect(revalidated.body).toBe('');
      expect(revalidated.headers.etag).toBe(etag);
      // Weak comparison, lists and `*`, as RFC 9110 says for If-None-Match.
      expect((await get(url, `"other", W/${etag}`)).statusCode).toBe(304);
      expect((await get(url, '*')).statusCode).toBe(304);
      expect((await get(url, '"other"')).statusCode).toBe(200);

      await createGoal('Changes the list and the counts');
      const changed = await get(url, etag);
      expect(changed.statusCode).toBe(200);
      expect(changed.headers.etag).not.toBe(etag);
      expect(changed.body).toContain(url === '/goals/summary' ? '"total":2' : 'Changes the list');
      expect((await get(url, changed.headers.etag as string)).statusCode).toBe(304);
    },
  );

  it('when two lists differ only in their query, then they have different ETags', async () => {
    await createGoal('First');
    await createGoal('Second');
    const all = await get('/goals');
    const one = await get('/goals?limit=1');
    expect(all.headers.etag).not.toBe(one.headers.etag);
    expect((await get('/goals?limit=1', all.headers.etag as string)).statusCode).toBe(200);
  });
});
