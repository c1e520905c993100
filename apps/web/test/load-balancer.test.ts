import type { IncomingMessage } from 'node:http';
import type { Goal, GoalPage } from '@goal-tracker/contract';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, test } from 'vitest';
import { balancerFailure, forward, json, relay, startFakeApi } from './support/fake-api.js';
import { useRealApi } from './support/real-api.js';
import { buildWeb, postForm, sendJson, SIGNED_IN, withCookie } from './support/web.js';

// The web tier talks to the API through the internal load balancer. When an API instance dies,
// the balancer keeps routing to it until its health check notices, answering 502 or 503 itself
// (or the connection breaks). These tests put a stand-in balancer between the web tier and the
// real API that fails chosen requests that way and forwards the rest.

/**
 * What the balancer does with the n-th request: pass it on; answer a failure of its own without
 * passing it on; pass it on and then lose the API's answer (the instance died after doing the
 * work); or break the connection.
 */
type Move = 'forward' | 502 | 503 | 504 | 'lose-answer' | 'reset';

const api = useRealApi('web_balancer');
const opened: { close(): Promise<void> }[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((server) => server.close()));
});

/** The web tier behind a stand-in balancer whose n-th request (from 1) gets `plan(n)`. */
async function behindBalancer(plan: (attempt: number, request: IncomingMessage) => Move) {
  const balancer = await startFakeApi((request, response, attempt, body) => {
    const move = plan(attempt, request);
    if (move === 'reset') {
      request.socket.destroy();
    } else if (typeof move === 'number') {
      balancerFailure(response, move);
    } else {
      forward(api.url, request, body).then(
        (answer) =>
          move === 'lose-answer' ? balancerFailure(response, 502) : relay(response, answer),
        () => balancerFailure(response, 502),
      );
    }
  });
  opened.push(balancer);
  const app: FastifyInstance = await buildWeb(balancer.url);
  opened.push(app);
  // The test account's browser, or the page's script in it.
  return { web: withCookie(app, api.account.cookie), seen: balancer.seen };
}

/** Fails the first request with `move`, forwards every other one. */
const firstOnly = (move: Move) => (attempt: number) => (attempt === 1 ? move : 'forward');

describe('when the load balancer fails a request once', () => {
  test('when it answers 503 to a list, then the web tier asks again and the caller gets the goals', async () => {
    await api.goals.create('Still here');
    const { web, seen } = await behindBalancer(firstOnly(503));
    const response = await web.inject({ method: 'GET', url: '/api/goals' });
    expect(response.statusCode).toBe(200);
    expect(response.json<GoalPage>().goals.map((goal) => goal.name)).toEqual(['Still here']);
    expect(seen.map((request) => `${request.method} ${request.url}`)).toEqual([
      'GET /goals',
      'GET /goals',
    ]);
  });

  test('when the page is loaded and the list gets a 502, then the page still shows the goals', async () => {
    await api.goals.create('Shown anyway');
    let listFailed = false;
    const { web } = await behindBalancer((_attempt, request) => {
      if (listFailed || !request.url?.startsWith('/goals?')) return 'forward';
      listFailed = true;
      return 502;
    });
    const response = await web.inject({ method: 'GET', url: '/' });
    expect(listFailed).toBe(true);
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('Shown anyway');
    expect(response.body).toContain('1 goal left');
    expect(response.body).not.toContain('id="unavailable"');
  });

  test('when a create without a key meets a 503, then it is retried with a key the web tier made, and one goal exists', async () => {
    const { web, seen } = await behindBalancer(firstOnly(503));
    const response = await sendJson(web, 'POST', '/api/goals', { name: 'Made once' });
    expect(response.statusCode).toBe(201);
    const keys = seen.map((request) => request.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect((await api.goals.all()).map((goal) => goal.name)).toEqual(['Made once']);
  });

  test('when a create landed but its answer was lost, then the retry gets the same goal and no second one is made', async () => {
    const { web, seen } = await behindBalancer(firstOnly('lose-answer'));
    const response = await sendJson(web, 'POST', '/api/goals', { name: 'Landed once' });
    expect(response.statusCode).toBe(201);
    expect(seen).toHaveLength(2);
    const stored = await api.goals.all();
    expect(stored.map((goal) => goal.name)).toEqual(['Landed once']);
    expect(response.json<Goal>().id).toBe(stored[0]?.id);
  });

  test('when the caller sent its own key, then the retry carries that key', async () => {
    const { web, seen } = await behindBalancer(firstOnly(502));
    const response = await sendJson(
      web,
      'POST',
      '/api/goals',
      { name: 'Keyed' },
      { 'idempotency-key': 'caller-key-1' },
    );
    expect(response.statusCode).toBe(201);
    expect(seen.map((request) => request.headers['idempotency-key'])).toEqual([
      'caller-key-1',
      'caller-key-1',
    ]);
  });

  test('when an update landed but its answer was lost, then it is sent again and the caller gets the goal', async () => {
    const goal = await api.goals.create('Patch me');
    const { web, seen } = await behindBalancer(firstOnly('lose-answer'));
    const response = await sendJson(web, 'PATCH', `/api/goals/${goal.id}`, { done: true });
    expect(response.statusCode).toBe(200);
    expect(response.json<Goal>()).toMatchObject({ id: goal.id, done: true });
    expect(seen.map((request) => request.body.toString())).toEqual([
      '{"done":true}',
      '{"done":true}',
    ]);
  });

  test("when a delete landed but its answer was lost, then the retry's 404 counts as deleted", async () => {
    const goal = await api.goals.create('Delete me');
    const { web, seen } = await behindBalancer(firstOnly('lose-answer'));
    const response = await web.inject({ method: 'DELETE', url: `/api/goals/${goal.id}` });
    expect(response.statusCode).toBe(204);
    expect(seen).toHaveLength(2);
    expect(await api.goals.get(goal.id)).toBeUndefined();
  });

  test('when a delete of a goal that never existed goes through cleanly, then it is still 404', async () => {
    const { web } = await behindBalancer(() => 'forward');
    const response = await web.inject({ method: 'DELETE', url: '/api/goals/999999' });
    expect(response.statusCode).toBe(404);
  });

  test('when the connection breaks under an update, then it is sent again', async () => {
    const goal = await api.goals.create('Rename me');
    const { web, seen } = await behindBalancer(firstOnly('reset'));
    const response = await sendJson(web, 'PATCH', `/api/goals/${goal.id}`, { name: 'Renamed' });
    expect(response.statusCode).toBe(200);
    expect(seen).toHaveLength(2);
    expect((await api.goals.get(goal.id))?.name).toBe('Renamed');
  });

  test('when plain-form actions meet a 503 each, then each still works and redirects', async () => {
    const goal = await api.goals.create('Form goal');
    // Every write's first attempt fails; the lists the redirect would load are not involved.
    let failNext = true;
    const { web } = await behindBalancer((_attempt, request) => {
      if (request.method === 'GET') return 'forward';
      const move = failNext ? 503 : 'forward';
      failNext = !failNext;
      return move;
    });
    const added = await postForm(web, '/goals', { name: 'Added through a failure' });
    expect(added.statusCode).toBe(303);
    const toggled = await postForm(web, `/goals/${goal.id}/toggle`, { done: 'true' });
    expect(toggled.headers.location).toBe(`/?status=done#goal-${goal.id}`);
    const renamed = await postForm(web, `/goals/${goal.id}/rename`, { name: 'Renamed form goal' });
    expect(renamed.headers.location).toBe(`/?status=renamed#goal-${goal.id}`);
    const deleted = await postForm(web, `/goals/${goal.id}/delete`, {});
    expect(deleted.headers.location).toBe(`/?status=deleted&deleted=${goal.id}`);
    expect((await api.goals.all()).map((stored) => stored.name)).toEqual([
      'Added through a failure',
    ]);
  });

  test('when the retry is sent, then it waits a moment first rather than at once', async () => {
    const times: number[] = [];
    const { web } = await behindBalancer((attempt) => {
      times.push(performance.now());
      return attempt === 1 ? 503 : 'forward';
    });
    expect((await web.inject({ method: 'GET', url: '/api/goals' })).statusCode).toBe(200);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(20);
  });
});

describe('when one API instance of two is dead', () => {
  test('when a request meets the dead one again and again while others get through, then it is retried until it gets through', async () => {
    await api.goals.create('Eventually');
    // The first request gets through (the API is alive); the next four attempts meet the dead
    // instance, as a run of bad luck on a round-robin balancer does.
    const { web, seen } = await behindBalancer((attempt) =>
      attempt >= 2 && attempt <= 5 ? 503 : 'forward',
    );
    expect((await web.inject({ method: 'GET', url: '/api/goals' })).statusCode).toBe(200);
    const response = await web.inject({ method: 'GET', url: '/api/goals?limit=5' });
    expect(response.statusCode).toBe(200);
    expect(response.json<GoalPage>().goals.map((goal) => goal.name)).toEqual(['Eventually']);
    expect(seen).toHaveLength(6);
  });

  test('when a request keeps failing while others get through, then it is given up within about 2 s', async () => {
    const { web, seen } = await behindBalancer((_attempt, request) =>
      request.url === '/goals?limit=7' ? 503 : 'forward',
    );
    let running = true;
    const others = (async () => {
      while (running) {
        await web.inject({ method: 'GET', url: '/api/goals?limit=5' });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const started = performance.now();
    const response = await web.inject({ method: 'GET', url: '/api/goals?limit=7' });
    const elapsed = performance.now() - started;
    running = false;
    await others;
    expect(response.statusCode).toBe(503);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(seen.filter((request) => request.url === '/goals?limit=7').length).toBeGreaterThan(5);
    expect(elapsed).toBeLessThan(3_000);
  });
});

describe('when the load balancer keeps failing', () => {
  test("when every attempt gets a 503 and nothing answers, then after one retry the caller gets the web tier's own 503 problem", async () => {
    const { web, seen } = await behindBalancer(() => 503);
    const response = await web.inject({ method: 'GET', url: '/api/goals' });
    expect(response.statusCode).toBe(503);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ title: 'Goals are unavailable right now' });
    expect(seen).toHaveLength(2);
  });

  test("when every attempt gets a 504, then the caller gets a 504 problem, not the balancer's page", async () => {
    const { web, seen } = await behindBalancer(() => 504);
    const response = await sendJson(web, 'PATCH', '/api/goals/1', { done: true });
    expect(response.statusCode).toBe(504);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(seen).toHaveLength(2);
  });

  test('when every attempt fails, then the page says goals are unavailable', async () => {
    const { web } = await behindBalancer(() => 502);
    const response = await web.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('id="unavailable"');
  });
});

describe("when the API's own answer is a failure", () => {
  const DATABASE_DOWN = {
    type: 'about:blank',
    title: 'Service unavailable',
    status: 503,
    detail: 'The database is unavailable.',
  };

  test('when the API says 503 (its database is down), then that answer is passed on and not retried', async () => {
    const upstream = await startFakeApi((_request, response) => {
      response.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '1' });
      response.end(JSON.stringify(DATABASE_DOWN));
    });
    opened.push(upstream);
    const web = await buildWeb(upstream.url);
    opened.push(web);
    const response = await web.inject({ method: 'GET', url: '/api/goals' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual(DATABASE_DOWN);
    expect(response.headers['retry-after']).toBe('1');
    expect(upstream.seen).toHaveLength(1);
    // The page asks for the list, the count and the account once each, then says what it can.
    const page = await web.inject({ method: 'GET', url: '/', headers: SIGNED_IN });
    expect(page.body).toContain('id="unavailable"');
    expect(upstream.seen).toHaveLength(4);
  });

  test('when the API answers a plain 500, then it is passed on and not retried', async () => {
    const upstream = await startFakeApi((_request, response) => json(response, 500, {}));
    opened.push(upstream);
    const web = await buildWeb(upstream.url);
    opened.push(web);
    expect((await web.inject({ method: 'DELETE', url: '/api/goals/4' })).statusCode).toBe(500);
    expect(upstream.seen).toHaveLength(1);
  });
});
