import type { Goal, GoalPage, GoalSummary } from '@goal-tracker/contract';
import { describe, expect, it } from 'vitest';
import { goalsRepository } from '../../src/db/goals-repository.js';
import { RESTORE_WINDOW_SECONDS } from '../../src/services/goals-service.js';
import {
  countGoals,
  type Injector,
  json,
  patchGoal,
  postGoal,
  signUp,
  useTestApi,
} from '../helpers.js';

const api = useTestApi('undo', { reset: true });

async function createGoal(name: string, as: Injector = api): Promise<Goal> {
  const response = await postGoal(as, name);
  expect(response.statusCode).toBe(201);
  return response.json<Goal>();
}

const remove = (id: number, as: Injector = api) =>
  as.inject({ method: 'DELETE', url: `/goals/${id}` });
const restore = (id: number, as: Injector = api) =>
  as.inject({ method: 'POST', url: `/goals/${id}/restore` });
const get = (id: number) => api.inject({ method: 'GET', url: `/goals/${id}` });

function patchIfMatch(id: number, ifMatch: string, payload: Record<string, unknown>) {
  return api.inject({
    method: 'PATCH',
    url: `/goals/${id}`,
    headers: { ...json, 'if-match': ifMatch },
    payload,
  });
}

async function names(): Promise<string[]> {
  const page = (await api.inject({ method: 'GET', url: '/goals' })).json<GoalPage>();
  return page.goals.map((goal) => goal.name);
}

describe('deleting and restoring', () => {
  it('when a goal is deleted, then it is in no list, count or read, and cannot be changed', async () => {
    const kept = await createGoal('kept');
    const goal = await createGoal('deleted');
    await patchGoal(api, goal.id, { done: true });
    await names(); // cached before the delete
    expect((await remove(goal.id)).statusCode).toBe(204);
    expect(await names()).toEqual(['kept']);
    expect((await api.inject({ method: 'GET', url: '/goals?filter=done' })).json()).toMatchObject({
      goals: [],
    });
    const summary = await api.inject({ method: 'GET', url: '/goals/summary' });
    expect(summary.json<GoalSummary>()).toEqual({ total: 1, done: 0, active: 1, overdue: 0 });
    expect((await get(goal.id)).statusCode).toBe(404);
    expect((await patchGoal(api, goal.id, { name: 'x' })).statusCode).toBe(404);
    expect((await remove(goal.id)).statusCode).toBe(404);
    expect(
      (
        await api.inject({
          method: 'POST',
          url: `/goals/${kept.id}/move`,
          headers: json,
          payload: { before: goal.id },
        })
      ).statusCode,
    ).toBe(409);
  });

  it('when a deleted goal is restored, then it comes back as it was, in its place', async () => {
    await createGoal('a');
    const b = await createGoal('b');
    await createGoal('c');
    expect(await names()).toEqual(['c', 'b', 'a']);
    const before = (await get(b.id)).json<Goal>();
    await remove(b.id);
    expect(await names()).toEqual(['c', 'a']);
    const restored = await restore(b.id);
    expect(restored.statusCode).toBe(200);
    expect(restored.json()).toEqual(before);
    expect(await names()).toEqual(['c', 'b', 'a']);
    // Restoring again (a retry whose answer was lost) answers the goal, unchanged.
    expect((await restore(b.id)).json()).toEqual(before);
  });

  it('when several deletes are undone in any order, then each restores its own goal', async () => {
    const goals = [await createGoal('a'), await createGoal('b'), await createGoal('c')];
    for (const goal of goals) await remove(goal.id);
    expect(await names()).toEqual([]);
    await restore((goals[0] as Goal).id);
    await restore((goals[2] as Goal).id);
    expect(await names()).toEqual(['c', 'a']);
  });

  it('when the window has passed, then restore is 410; once purged, 404', async () => {
    const goal = await createGoal('old');
    await remove(goal.id);
    await api.db.session((query) =>
      query(
        `UPDATE goals SET deleted_at = now() - make_interval(secs => ${RESTORE_WINDOW_SECONDS + 1})`,
      ),
    );
    const late = await restore(goal.id);
    expect(late.statusCode).toBe(410);
    expect(late.json()).toMatchObject({ status: 410, title: 'Gone' });
    expect(await goalsRepository(api.db).purgeDeleted(RESTORE_WINDOW_SECONDS)).toBe(1);
    expect(await countGoals(api.db)).toBe(0);
    expect((await restore(goal.id)).statusCode).toBe(404);
  });

  it('when a recently deleted goal is purged, then it is kept', async () => {
    const goal = await createGoal('recent');
    await remove(goal.id);
    expect(await goalsRepository(api.db).purgeDeleted(RESTORE_WINDOW_SECONDS)).toBe(0);
    expect((await restore(goal.id)).statusCode).toBe(200);
  });

  it("when another account restores or deletes someone's goal, then 404 and it stays as it was", async () => {
    const other = await signUp(api.app);
    const goal = await createGoal('mine');
    expect((await remove(goal.id, other)).statusCode).toBe(404);
    await remove(goal.id);
    expect((await restore(goal.id, other)).statusCode).toBe(404);
    expect((await get(goal.id)).statusCode).toBe(404);
  });

  it('when the goal an Idempotency-Key made is deleted, then the key answers 410', async () => {
    const key = { 'idempotency-key': 'undo-key-1' };
    const goal = (await postGoal(api, 'keyed', key)).json<Goal>();
    await remove(goal.id);
    expect((await postGoal(api, 'keyed', key)).statusCode).toBe(410);
  });
});

describe('If-Match: undoing a tick or a rename', () => {
  it('when GET and PATCH answer, then the ETag is the version, and each change moves it on', async () => {
    const goal = await createGoal('g');
    const read = await get(goal.id);
    expect(read.headers.etag).toBe('"1"');
    const ticked = await patchGoal(api, goal.id, { done: true });
    expect(ticked.headers.etag).toBe('"2"');
    expect(ticked.json<Goal>().version).toBe(2);
    // The same change again changes nothing, so the version stays.
    expect((await patchGoal(api, goal.id, { done: true })).json<Goal>().version).toBe(2);
  });

  it('when the undo names the version its change made, then it applies; after a newer change, 412 and nothing changes', async () => {
    const goal = await createGoal('Read');
    const renamed = (await patchGoal(api, goal.id, { name: 'Read more' })).json<Goal>();
    const undone = await patchIfMatch(goal.id, `"${renamed.version}"`, { name: 'Read' });
    expect(undone.statusCode).toBe(200);
    expect(undone.json<Goal>().name).toBe('Read');

    const again = (await patchGoal(api, goal.id, { name: 'Read a lot' })).json<Goal>();
    await patchGoal(api, goal.id, { name: 'Read everything' });
    const stale = await patchIfMatch(goal.id, `"${again.version}"`, { name: 'Read' });
    expect(stale.statusCode).toBe(412);
    expect(stale.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await get(goal.id)).json<Goal>().name).toBe('Read everything');
  });

  it('when two pending undos of different goals are sent in either order, then each restores exactly its own change', async () => {
    const a = await createGoal('a');
    const b = await createGoal('b');
    const tick = (await patchGoal(api, a.id, { done: true })).json<Goal>();
    const rename = (await patchGoal(api, b.id, { name: 'b2' })).json<Goal>();
    const [undoRename, undoTick] = await Promise.all([
      patchIfMatch(b.id, `"${rename.version}"`, { name: 'b' }),
      patchIfMatch(a.id, `"${tick.version}"`, { done: false }),
    ]);
    expect(undoRename.json<Goal>()).toMatchObject({ name: 'b', done: false });
    expect(undoTick.json<Goal>()).toMatchObject({ name: 'a', done: false, doneAt: null });
  });

  it('when a rename and a tick of one goal are undone newest first, then both apply; an undo already in place is 200', async () => {
    const goal = await createGoal('a');
    const rename = (await patchGoal(api, goal.id, { name: 'a2' })).json<Goal>();
    const tick = (await patchGoal(api, goal.id, { done: true })).json<Goal>();
    const undoTick = await patchIfMatch(goal.id, `"${tick.version}"`, { done: false });
    expect(undoTick.statusCode).toBe(200);
    // The rename's undo names the version after the rename; the tick's undo moved it on,
    // so the client asks again (GET) and undoes with the current ETag if the name is still its.
    expect((await patchIfMatch(goal.id, `"${rename.version}"`, { name: 'a' })).statusCode).toBe(
      412,
    );
    const current = await get(goal.id);
    expect(current.json<Goal>().name).toBe('a2');
    const undoRename = await patchIfMatch(goal.id, current.headers.etag as string, { name: 'a' });
    expect(undoRename.json<Goal>()).toMatchObject({ name: 'a', done: false });
    // Sent twice (a retry): the second finds it in place and answers 200.
    expect(
      (await patchIfMatch(goal.id, current.headers.etag as string, { name: 'a' })).statusCode,
    ).toBe(200);
  });

  it('when If-Match is *, weak or malformed, then * applies and the others are 412', async () => {
    const goal = await createGoal('g');
    expect((await patchIfMatch(goal.id, '*', { name: 'h' })).statusCode).toBe(200);
    expect((await patchIfMatch(goal.id, 'W/"2"', { name: 'i' })).statusCode).toBe(412);
    expect((await patchIfMatch(goal.id, 'nonsense', { name: 'i' })).statusCode).toBe(412);
    expect((await patchIfMatch(424242, '"1"', { name: 'i' })).statusCode).toBe(404);
  });
});
