import type { Goal, GoalPage, GoalSummary } from '@goal-tracker/contract';
import { describe, expect, it } from 'vitest';
import { json, patchGoal, postGoal, signUp, useTestApi } from '../helpers.js';

const api = useTestApi('order', { reset: true });

async function createGoal(name: string, targetDate?: string | null): Promise<Goal> {
  const response = await api.inject({
    method: 'POST',
    url: '/goals',
    headers: json,
    payload: targetDate === undefined ? { name } : { name, targetDate },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<Goal>();
}

async function list(query = ''): Promise<GoalPage> {
  const response = await api.inject({ method: 'GET', url: `/goals${query}` });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<GoalPage>();
}

async function names(query = ''): Promise<string[]> {
  return (await list(query)).goals.map((goal) => goal.name);
}

function move(id: number, destination: Record<string, number | null>) {
  return api.inject({
    method: 'POST',
    url: `/goals/${id}/move`,
    headers: json,
    payload: destination,
  });
}

async function moved(id: number, destination: Record<string, number | null>): Promise<Goal> {
  const response = await move(id, destination);
  expect(response.statusCode, response.body).toBe(200);
  return response.json<Goal>();
}

describe('the order of the list', () => {
  it('when goals are created, then the newest is on top', async () => {
    for (const name of ['a', 'b', 'c']) await createGoal(name);
    expect(await names()).toEqual(['c', 'b', 'a']);
  });

  it('when goals are created at once (one INSERT), then the later ones are higher up', async () => {
    await Promise.all(['a', 'b', 'c', 'd'].map((name) => postGoal(api, name)));
    const goals = (await list()).goals;
    expect(goals.map((goal) => goal.id)).toEqual(
      [...goals.map((goal) => goal.id)].sort((x, y) => y - x),
    );
  });

  it('when a goal is moved to the top, the bottom, above and below another, then the list shows it there and its version stays', async () => {
    const a = await createGoal('a');
    const b = await createGoal('b');
    const c = await createGoal('c');
    const d = await createGoal('d');
    expect(await names()).toEqual(['d', 'c', 'b', 'a']);
    const top = await moved(a.id, { after: null });
    expect(top).toMatchObject({ id: a.id, version: a.version, updatedAt: a.updatedAt });
    expect(await names()).toEqual(['a', 'd', 'c', 'b']);
    await moved(d.id, { before: null });
    expect(await names()).toEqual(['a', 'c', 'b', 'd']);
    await moved(b.id, { before: c.id });
    expect(await names()).toEqual(['a', 'b', 'c', 'd']);
    await moved(a.id, { after: c.id });
    expect(await names()).toEqual(['b', 'c', 'a', 'd']);
    // Where it already is: nothing changes.
    await moved(a.id, { after: c.id });
    expect(await names()).toEqual(['b', 'c', 'a', 'd']);
  });

  it('when a goal is moved into the same gap again and again, then the neighbours are renumbered and the order stays right', async () => {
    const bottom = await createGoal('bottom');
    const top = await createGoal('top');
    const middles: Goal[] = [];
    for (let i = 1; i <= 20; i += 1) {
      const goal = await createGoal(`m${i}`);
      await moved(goal.id, { after: top.id });
      middles.push(goal);
    }
    expect(await names('?limit=100')).toEqual([
      'top',
      ...middles.map((goal) => goal.name).reverse(),
      'bottom',
    ]);
    expect(bottom.id).toBeLessThan(top.id);
    const positions = await api.db.session(
      async (query) =>
        (await query<{ position: string }>('SELECT position::text FROM goals ORDER BY position'))
          .rows,
    );
    // Renumbered: consecutive multiples of the gap, not 16 halvings deep.
    expect(positions.every(({ position }) => BigInt(position) % 2n ** 10n === 0n)).toBe(true);
  });

  it('when the goal to place it next to is missing, itself or another account’s, then 409; a missing goal is 404', async () => {
    const a = await createGoal('a');
    const other = await signUp(api.app);
    const theirs = (await postGoal(other, 'theirs')).json<Goal>();
    expect((await move(a.id, { before: 999999 })).statusCode).toBe(409);
    expect((await move(a.id, { after: a.id })).statusCode).toBe(409);
    expect((await move(a.id, { after: theirs.id })).statusCode).toBe(409);
    expect((await move(999999, { after: null })).statusCode).toBe(404);
    expect(
      (
        await other.inject({
          method: 'POST',
          url: `/goals/${a.id}/move`,
          headers: json,
          payload: { after: null },
        })
      ).statusCode,
    ).toBe(404);
  });

  it('when the destination names both sides, neither, or an unknown key, then 400', async () => {
    const a = await createGoal('a');
    for (const payload of [{}, { before: null, after: null }, { above: null }, { before: 'x' }]) {
      const response = await api.inject({
        method: 'POST',
        url: `/goals/${a.id}/move`,
        headers: json,
        payload,
      });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
    }
  });
});

describe('paging in the stored order', () => {
  it('when paging by cursor, then every goal comes once, newest first', async () => {
    for (let i = 1; i <= 7; i += 1) await createGoal(`g${i}`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: GoalPage = await list(`?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.goals.map((goal) => goal.name));
      cursor = page.cursor;
    } while (cursor !== null);
    expect(seen).toEqual(['g7', 'g6', 'g5', 'g4', 'g3', 'g2', 'g1']);
  });

  it('when the last goal of a page moves to the top before the next page, then the cursor still goes on below where it was', async () => {
    for (let i = 1; i <= 6; i += 1) await createGoal(`g${i}`);
    const first = await list('?limit=3');
    expect(first.goals.map((goal) => goal.name)).toEqual(['g6', 'g5', 'g4']);
    const last = first.goals[2] as Goal;
    await moved(last.id, { after: null });
    const second = await list(`?limit=3&cursor=${first.cursor}`);
    expect(second.goals.map((goal) => goal.name)).toEqual(['g3', 'g2', 'g1']);
    expect(second.cursor).toBeNull();
  });

  it('when a goal moves from the next page onto the first, then the next page goes on without it', async () => {
    const goals: Goal[] = [];
    for (let i = 1; i <= 6; i += 1) goals.push(await createGoal(`g${i}`));
    const first = await list('?limit=3');
    await moved((goals[0] as Goal).id, { after: null });
    const second = await list(`?limit=3&cursor=${first.cursor}`);
    expect(second.goals.map((goal) => goal.name)).toEqual(['g3', 'g2']);
  });

  it('when the cursor is malformed or out of range, or after names no goal, then 400', async () => {
    for (const query of [
      '?cursor=abc',
      '?cursor=1.',
      '?cursor=99999999999999999999.1',
      '?after=424242',
      '?cursor=1.1&after=2',
      '?filter=done&done=true',
      '?filter=later',
      '?today=2026-02-30&filter=overdue',
    ]) {
      const response = await api.inject({ method: 'GET', url: `/goals${query}` });
      expect(response.statusCode, query).toBe(400);
    }
  });
});

describe('target dates, doneAt and the filters', () => {
  it('when a goal is created with a target date, then it comes back; null and none mean no date', async () => {
    expect((await createGoal('dated', '2027-03-01')).targetDate).toBe('2027-03-01');
    expect((await createGoal('leap day', '2028-02-29')).targetDate).toBe('2028-02-29');
    expect((await createGoal('undated', null)).targetDate).toBeNull();
    expect((await createGoal('plain')).targetDate).toBeNull();
  });

  it('when the target date is not a real day or not YYYY-MM-DD, then 400 and nothing is stored', async () => {
    const goal = await createGoal('kept');
    for (const targetDate of [
      '2026-02-30',
      '2027-02-29',
      '2026-13-01',
      '2026-1-1',
      'tomorrow',
      20260101,
    ]) {
      const created = await api.inject({
        method: 'POST',
        url: '/goals',
        headers: json,
        payload: { name: 'x', targetDate },
      });
      expect(created.statusCode, String(targetDate)).toBe(400);
      expect(created.json()).toMatchObject({ status: 400 });
      expect((await patchGoal(api, goal.id, { targetDate })).statusCode).toBe(400);
    }
    expect((await list()).goals).toHaveLength(1);
  });

  it('when the target date is changed and then null, then it is set and cleared', async () => {
    const goal = await createGoal('g', '2027-01-01');
    const changed = (await patchGoal(api, goal.id, { targetDate: '2027-06-30' })).json<Goal>();
    expect(changed).toMatchObject({ targetDate: '2027-06-30', version: 2 });
    const cleared = (await patchGoal(api, goal.id, { targetDate: null })).json<Goal>();
    expect(cleared).toMatchObject({ targetDate: null, version: 3 });
    // Renaming leaves it.
    await patchGoal(api, goal.id, { targetDate: '2027-01-02' });
    expect((await patchGoal(api, goal.id, { name: 'h' })).json<Goal>().targetDate).toBe(
      '2027-01-02',
    );
  });

  it('when done turns true, then doneAt is set by the server; false clears it; true again keeps it', async () => {
    const goal = await createGoal('g');
    const before = Date.now();
    const done = (await patchGoal(api, goal.id, { done: true })).json<Goal>();
    expect(done.doneAt).not.toBeNull();
    expect(Date.parse(done.doneAt as string)).toBeGreaterThanOrEqual(before - 1000);
    const renamed = (await patchGoal(api, goal.id, { name: 'h', done: true })).json<Goal>();
    expect(renamed.doneAt).toBe(done.doneAt);
    const undone = (await patchGoal(api, goal.id, { done: false })).json<Goal>();
    expect(undone.doneAt).toBeNull();
  });

  it('when an untick is undone with the old doneAt, then doneAt is restored; doneAt without done: true is 400', async () => {
    const goal = await createGoal('g');
    const done = (await patchGoal(api, goal.id, { done: true })).json<Goal>();
    await patchGoal(api, goal.id, { done: false });
    const redone = await patchGoal(api, goal.id, { done: true, doneAt: done.doneAt });
    expect(redone.json<Goal>().doneAt).toBe(done.doneAt);
    expect((await patchGoal(api, goal.id, { doneAt: done.doneAt })).statusCode).toBe(400);
    expect(
      (await patchGoal(api, goal.id, { done: true, doneAt: '2026-02-30T00:00:00Z' })).statusCode,
    ).toBe(400);
  });

  it('when filtered, then all, active, done and overdue (by the given today, else UTC) each hold theirs, and the summary counts them', async () => {
    const late = await createGoal('late', '2026-01-10');
    await createGoal('due today', '2026-01-15');
    await createGoal('later', '2026-02-01');
    await createGoal('undated');
    const lateDone = await createGoal('late but done', '2026-01-01');
    await patchGoal(api, lateDone.id, { done: true });
    const today = '&today=2026-01-15';
    expect(await names(`?filter=all${today}`)).toEqual([
      'late but done',
      'undated',
      'later',
      'due today',
      'late',
    ]);
    expect(await names('?filter=active')).toEqual(['undated', 'later', 'due today', 'late']);
    expect(await names('?filter=done')).toEqual(['late but done']);
    expect(await names(`?filter=overdue${today}`)).toEqual(['late']);
    expect(await names('?filter=overdue&today=2026-01-16')).toEqual(['due today', 'late']);
    // Without today, UTC's today: every date above is long past.
    expect(await names('?filter=overdue')).toEqual(['later', 'due today', 'late']);
    const summary = await api.inject({ method: 'GET', url: '/goals/summary?today=2026-01-15' });
    expect(summary.json<GoalSummary>()).toEqual({ total: 5, done: 1, active: 4, overdue: 1 });
    expect(late.targetDate).toBe('2026-01-10');
  });

  it('when overdue goals are paged, then the cursor walks them in order', async () => {
    for (let i = 1; i <= 5; i += 1) await createGoal(`o${i}`, '2026-01-01');
    await createGoal('not overdue', '2099-01-01');
    const first = await list('?filter=overdue&limit=2');
    const second = await list(`?filter=overdue&limit=2&cursor=${first.cursor}`);
    const third = await list(`?filter=overdue&limit=2&cursor=${second.cursor}`);
    expect([...first.goals, ...second.goals, ...third.goals].map((goal) => goal.name)).toEqual([
      'o5',
      'o4',
      'o3',
      'o2',
      'o1',
    ]);
    expect(third.cursor).toBeNull();
  });
});
