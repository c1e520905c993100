import { gunzipSync } from 'node:zlib';
import type { ServerResponse } from 'node:http';
import type { Account, Goal, GoalPage, GoalSummary } from '@goal-tracker/contract';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, test } from 'vitest';
import { json, startFakeApi, type FakeHandler } from './support/fake-api.js';
import { buildWeb, postForm, SIGNED_IN, TEST_TOKEN, withCookie } from './support/web.js';

// How GET / gets its data: the list and the count together, asked for conditionally. A stand-in
// API shows what the web tier sends; the real API's ETags are covered by app.test.ts.

const opened: { close(): Promise<void> }[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((server) => server.close()));
});

const ACCOUNT: Account = { id: 1, email: 'ada@example.com', createdAt: '2026-11-26T10:00:00.000Z' };

/** The web tier in front of an API that answers GET /account itself and the rest by `handler`. */
async function webWith(handler: FakeHandler) {
  const upstream = await startFakeApi((request, response, attempt, body) => {
    if (request.url === '/account') json(response, 200, ACCOUNT);
    else handler(request, response, attempt, body);
  });
  opened.push(upstream);
  const app: FastifyInstance = await buildWeb(upstream.url);
  opened.push(app);
  // Every page is a signed-in person's.
  const web = {
    inject: (options: { method: 'GET'; url: string; headers?: Record<string, string> }) =>
      app.inject({ ...options, headers: { ...options.headers, ...SIGNED_IN } }),
  };
  const goalCalls = () => upstream.seen.filter((request) => request.url.startsWith('/goals'));
  return { web, app, seen: upstream.seen, goalCalls };
}

function goal(id: number, name: string, done = false): Goal {
  const at = '2026-11-26T10:00:00.000Z';
  return {
    id,
    name,
    done,
    createdAt: at,
    updatedAt: at,
    targetDate: null,
    doneAt: null,
    version: 1,
  };
}

/** An API that tags each answer with its version, and answers 304 when asked with it. */
function versionedApi(state: {
  page: GoalPage;
  summary: GoalSummary;
  version: number;
}): FakeHandler {
  return (request, response) => {
    const summary = request.url === '/goals/summary';
    const etag = `"${summary ? 's' : 'l'}${state.version}"`;
    if (request.headers['if-none-match'] === etag) {
      response.writeHead(304, { etag });
      response.end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json', etag });
    response.end(JSON.stringify(summary ? state.summary : state.page));
  };
}

describe('the data behind the page', () => {
  test('when the page is loaded again, then it asks with the ETags it has and a 304 shows the same goals', async () => {
    const state = {
      page: {
        goals: [goal(1, 'Kept <b>as text</b>'), goal(2, 'Second')],
        next: null,
        cursor: null,
      },
      summary: { total: 2, done: 0, active: 2, overdue: 0 },
      version: 1,
    };
    const { web, goalCalls } = await webWith(versionedApi(state));
    const first = await web.inject({ method: 'GET', url: '/' });
    const again = await web.inject({ method: 'GET', url: '/' });
    const seen = goalCalls();
    expect(
      seen.slice(0, 2).every((request) => request.headers['if-none-match'] === undefined),
    ).toBe(true);
    expect(
      seen
        .slice(2)
        .map((request) => request.headers['if-none-match'])
        .sort(),
    ).toEqual(['"l1"', '"s1"']);
    for (const response of [first, again]) {
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain('Kept &lt;b&gt;as text&lt;/b&gt;');
      expect(response.body).toContain('2 goals left');
    }
    // Each page has its own form key; the rest is the same page.
    const withoutKey = (body: string) => body.replace(/name="idempotencyKey" value="[^"]+"/, '');
    expect(withoutKey(again.body)).toBe(withoutKey(first.body));
    expect(first.body).not.toBe(again.body);
  });

  test('when the API has changed since, then its new answer is shown, not the one kept', async () => {
    const state = {
      page: { goals: [goal(1, 'Old name')], next: null, cursor: null },
      summary: { total: 1, done: 0, active: 1, overdue: 0 },
      version: 1,
    };
    const { web } = await webWith(versionedApi(state));
    expect((await web.inject({ method: 'GET', url: '/' })).body).toContain('Old name');
    state.page = { goals: [goal(1, 'New name', true)], next: null, cursor: null };
    state.summary = { total: 1, done: 1, active: 0, overdue: 0 };
    state.version = 2;
    const changed = await web.inject({ method: 'GET', url: '/' });
    expect(changed.body).toContain('New name');
    expect(changed.body).not.toContain('Old name');
    expect(changed.body).toContain('No goals left');
  });

  test('when a rename form is open on a kept list, then only that goal shows the form', async () => {
    const state = {
      page: { goals: [goal(1, 'First'), goal(2, 'Second')], next: null, cursor: null },
      summary: { total: 2, done: 0, active: 2, overdue: 0 },
      version: 1,
    };
    const { web } = await webWith(versionedApi(state));
    await web.inject({ method: 'GET', url: '/' });
    const editing = await web.inject({ method: 'GET', url: '/?edit=2' });
    expect(editing.body).toContain('id="rename-2"');
    expect(editing.body).not.toContain('id="rename-1"');
    const plain = await web.inject({ method: 'GET', url: '/' });
    expect(plain.body).not.toContain('id="rename-2"');
  });

  test('when the page is loaded, then the list, the count and the account are asked for at the same time', async () => {
    // None is answered until all have arrived: asked one after the other, the page would
    // wait out the API timeout and say goals are unavailable.
    const waiting: ServerResponse[] = [];
    const upstream = await startFakeApi((_request, response) => {
      waiting.push(response);
      if (waiting.length < 3) return;
      for (const [index, held] of waiting.entries()) {
        const url = upstream.seen[index]?.url;
        json(
          held,
          200,
          url === '/account'
            ? ACCOUNT
            : url === '/goals/summary'
              ? { total: 1, done: 0, active: 1, overdue: 0 }
              : { goals: [goal(1, 'All at once')], next: null, cursor: null },
        );
      }
    });
    opened.push(upstream);
    const web = await buildWeb(upstream.url);
    opened.push(web);
    const response = await web.inject({ method: 'GET', url: '/', headers: SIGNED_IN });
    expect(response.body).toContain('All at once');
    expect(response.body).toContain('1 goal left');
    expect(response.body).toContain('Signed in as <strong class="account-email">ada@example.com');
    expect(upstream.seen.map((request) => request.url).sort()).toEqual([
      '/account',
      '/goals/summary',
      '/goals?limit=50',
    ]);
    expect(
      upstream.seen.every((request) => request.headers.authorization === `Bearer ${TEST_TOKEN}`),
    ).toBe(true);
  });

  test('when a session loads pages again, then its account is asked for once; another session, and one signed out, ask again', async () => {
    const { web, app, seen } = await webWith((request, response) => {
      if (request.method === 'DELETE') response.writeHead(204).end();
      else json(response, 200, { goals: [goal(1, 'Mine')], next: null });
    });
    const accountCalls = () => seen.filter((request) => request.url === '/account').length;
    for (let page = 0; page < 3; page += 1) {
      const response = await web.inject({ method: 'GET', url: '/' });
      expect(response.body).toContain('Signed in as <strong class="account-email">ada@example.com');
    }
    expect(accountCalls()).toBe(1);
    expect(seen.filter((request) => request.url === '/goals/summary')).toHaveLength(3);

    const other = withCookie(app, 'session=another-token-0123456789');
    await other.inject({ method: 'GET', url: '/' });
    await other.inject({ method: 'GET', url: '/' });
    expect(accountCalls()).toBe(2);

    const signedOut = await postForm(other, '/signout', {});
    expect(signedOut.statusCode).toBe(303);
    await other.inject({ method: 'GET', url: '/' });
    expect(accountCalls()).toBe(3);
  });

  test('when the count fails but the list works, then the page shows the list without a count', async () => {
    const { web } = await webWith((request, response) => {
      if (request.url === '/goals/summary') {
        response.writeHead(500, { 'content-type': 'application/problem+json' });
        response.end(JSON.stringify({ type: 'about:blank', title: 'Internal error', status: 500 }));
        return;
      }
      json(response, 200, { goals: [goal(1, 'Listed anyway')], next: null });
    });
    const response = await web.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('Listed anyway');
    expect(response.body).not.toContain('id="remaining"');
    expect(response.body).not.toContain('goals left');
    expect(response.body).not.toContain('id="unavailable"');
  });

  test('when the API has no count at all (an older API), then the page still shows the list', async () => {
    const { web } = await webWith((request, response) => {
      if (request.url === '/goals/summary') request.socket.destroy();
      else json(response, 200, { goals: [goal(1, 'Older API')], next: null });
    });
    const response = await web.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('Older API');
    expect(response.body).not.toContain('id="remaining"');
  });
});

describe('compression of the page', () => {
  const page = {
    goals: Array.from({ length: 20 }, (_, i) => goal(i + 1, `Goal ${i + 1}`)),
    next: null,
  };
  const twentyGoals: FakeHandler = (request, response) =>
    json(
      response,
      200,
      request.url === '/goals/summary' ? { total: 20, done: 0, active: 20 } : page,
    );

  test('when the client takes only gzip, then the page comes gzipped', async () => {
    const { web } = await webWith(twentyGoals);
    const response = await web.inject({
      method: 'GET',
      url: '/',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(response.headers['content-encoding']).toBe('gzip');
    expect(response.headers.vary).toBe('accept-encoding');
  });

  test('when the client takes brotli and gzip, then the page is gzipped (its list compressed once) and reads back as the plain page', async () => {
    const { web } = await webWith(twentyGoals);
    const withoutFormKey = (page: string) =>
      page.replace(/name="idempotencyKey" value="[^"]+"/, 'name="idempotencyKey" value=""');
    const plain = await web.inject({ method: 'GET', url: '/' });
    for (let round = 0; round < 2; round += 1) {
      const zipped = await web.inject({
        method: 'GET',
        url: '/',
        headers: { 'accept-encoding': 'gzip, deflate, br, zstd' },
      });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.rawPayload.length).toBeLessThan(plain.rawPayload.length / 4);
      expect(withoutFormKey(gunzipSync(zipped.rawPayload).toString())).toBe(
        withoutFormKey(plain.body),
      );
    }
  });

  test('when the client takes no encoding, then the page is sent as it is', async () => {
    const { web } = await webWith(twentyGoals);
    const response = await web.inject({ method: 'GET', url: '/' });
    expect(response.headers['content-encoding']).toBeUndefined();
    expect(response.body).toContain('Goal 20');
  });

  test('when an answer is too small for compression to pay, then it is sent as it is', async () => {
    const { web } = await webWith((_request, response) =>
      json(response, 200, { goals: [], next: null }),
    );
    const response = await web.inject({
      method: 'GET',
      url: '/api/goals',
      headers: { 'accept-encoding': 'br, gzip' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-encoding']).toBeUndefined();
    expect(response.json()).toEqual({ goals: [], next: null });
  });
});
