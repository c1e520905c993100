import type { AddressInfo } from 'node:net';
import type { Goal, GoalEvent } from '@goal-tracker/contract';
import {
  openEventStream,
  until,
  type EventStream as GoalEventStream,
} from '@goal-tracker/test-support/event-stream';
import { createTestServer } from '@goal-tracker/test-support/postgres';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppTuning } from '../../src/app.js';
import { json, patchGoal, postGoal, signUp, useTestApis, type TestApi } from '../helpers.js';

const apis = useTestApis(createTestServer);
const open: EventStream[] = [];

// Registered after useTestApis, so it runs before the APIs close.
afterEach(() => {
  for (const stream of open.splice(0)) stream.close();
});

const TUNING: AppTuning = { events: { heartbeatMs: 100, maxStreamsPerAccount: 3 } };

/** Two instances of the API on one database, listening on ports, one person signed in on both. */
async function twoInstances(): Promise<{ first: TestApi; second: TestApi }> {
  const url = await apis.server.createDatabase('events');
  const first = await apis.create(url, {}, TUNING);
  const second = await apis.create(url, {}, TUNING, undefined, first.account.token);
  await until(() => first.cache.live && second.cache.live, 5000);
  for (const api of [first, second]) await api.app.listen({ port: 0, host: '127.0.0.1' });
  return { first, second };
}

type EventStream = GoalEventStream<GoalEvent>;

/** Opens GET /goals/events on an instance as a client would, parsing events as they come. */
async function listen(api: TestApi, token: string, lastEventId?: string): Promise<EventStream> {
  const { port } = api.app.server.address() as AddressInfo;
  const stream = await openEventStream<GoalEvent>(`http://127.0.0.1:${port}/goals/events`, {
    authorization: `Bearer ${token}`,
    ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
  });
  open.push(stream);
  return stream;
}

const kinds = (stream: EventStream) =>
  stream.events.map((event) => `${event.event} ${event.data.id}`);

describe('GET /goals/events', () => {
  it('when one person has a stream on each of two instances, then a change made through either reaches both, and another account hears nothing', async () => {
    const { first, second } = await twoInstances();
    const token = first.account.token;
    const stranger = await signUp(first.app);
    const onFirst = await listen(first, token);
    const onSecond = await listen(second, token);
    const strangers = await listen(first, stranger.token);
    expect([onFirst.status, onSecond.status, strangers.status]).toEqual([200, 200, 200]);

    const goal = (await postGoal(first, 'shared')).json<Goal>();
    await until(() => onFirst.events.length === 1 && onSecond.events.length === 1);
    expect(onSecond.events[0]).toMatchObject({
      event: 'created',
      data: { type: 'created', id: goal.id },
    });

    await patchGoal(second, goal.id, { done: true });
    await second.inject({
      method: 'POST',
      url: `/goals/${goal.id}/move`,
      headers: json,
      payload: { after: null },
    });
    await second.inject({ method: 'DELETE', url: `/goals/${goal.id}` });
    await first.inject({ method: 'POST', url: `/goals/${goal.id}/restore` });
    const expected = [
      `created ${goal.id}`,
      `updated ${goal.id}`,
      `moved ${goal.id}`,
      `deleted ${goal.id}`,
      `restored ${goal.id}`,
    ];
    await until(() => onFirst.events.length === 5 && onSecond.events.length === 5);
    expect(kinds(onFirst)).toEqual(expected);
    expect(kinds(onSecond)).toEqual(expected);
    // The same ids on both instances, rising.
    const ids = onFirst.events.map((event) => Number(event.id));
    expect(onSecond.events.map((event) => Number(event.id))).toEqual(ids);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);

    await postGoal(stranger, 'theirs');
    await until(() => strangers.events.length === 1);
    expect(strangers.events[0]?.event).toBe('created');
    expect(onFirst.events).toHaveLength(5);
    expect(onSecond.events).toHaveLength(5);
  });

  it('when a client reconnects with Last-Event-ID, on the other instance even, then it gets the events it missed and no others', async () => {
    const { first, second } = await twoInstances();
    const token = first.account.token;
    const before = await listen(first, token);
    await postGoal(first, 'one');
    await until(() => before.events.length === 1);
    before.close();
    const two = (await postGoal(first, 'two')).json<Goal>();
    const three = (await postGoal(second, 'three')).json<Goal>();
    // Both instances have heard both by the time the writes were acknowledged.
    const resumed = await listen(second, token, before.events[0]?.id);
    await until(() => resumed.events.length === 2);
    expect(kinds(resumed)).toEqual([`created ${two.id}`, `created ${three.id}`]);
  });

  it('when Last-Event-ID is older than this instance has heard, or not an id, then reset says to reload', async () => {
    const { first } = await twoInstances();
    await postGoal(first, 'heard');
    for (const lastEventId of ['1', 'garbage']) {
      const stream = await listen(first, first.account.token, lastEventId);
      await until(() => stream.events.length === 1);
      expect(stream.events[0]).toMatchObject({ event: 'reset', data: { type: 'reset', id: null } });
    }
  });

  it('when nothing happens, then a heartbeat comment comes at the configured interval', async () => {
    const { first } = await twoInstances();
    const stream = await listen(first, first.account.token);
    await until(() => (stream.raw.match(/: heartbeat\n\n/g) ?? []).length >= 2, 1000);
    expect(stream.raw).toMatch(/^retry: 1000\n\n/);
    expect(stream.events).toEqual([]);
  });

  it('when the account already holds the most streams, then 429; without a token, 401', async () => {
    const { first } = await twoInstances();
    for (let i = 0; i < 3; i += 1) await listen(first, first.account.token);
    expect((await listen(first, first.account.token)).status).toBe(429);
    expect((await listen(first, 'not-a-token')).status).toBe(401);
  });

  it('when the instance shuts down, then its streams end at once, and the close does not wait for them', async () => {
    const { first } = await twoInstances();
    const stream = await listen(first, first.account.token);
    // Closed here, not by afterEach, which would ask the closed app for its document.
    apis.closedByTest(first);
    const started = Date.now();
    await first.app.close();
    await first.db.close();
    await until(() => stream.ended, 1000);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('when the person signs out, then the streams of the account end', async () => {
    const { first, second } = await twoInstances();
    const stream = await listen(second, first.account.token);
    await first.inject({ method: 'DELETE', url: '/sessions/current' });
    await until(() => stream.ended);
  });
});
