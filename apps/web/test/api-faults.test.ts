import { freePort } from '@goal-tracker/test-support/free-port';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { EMPTY_PAGE, json, startFakeApi } from './support/fake-api.js';
import {
  buildWeb,
  followFlash,
  postForm,
  SAME_ORIGIN_SIGNED_IN,
  sendJson,
  SIGNED_IN,
} from './support/web.js';

// The fake upstream stands in for our own API process, to produce faults on demand.
type Fake = Awaited<ReturnType<typeof startFakeApi>>;
const opened: { close(): Promise<void> }[] = [];
const SUMMARY = { total: 0, done: 0, active: 0 };

async function fake(handler: Parameters<typeof startFakeApi>[0]): Promise<Fake> {
  const server = await startFakeApi(handler);
  opened.push(server);
  return server;
}

async function web(apiUrl: string, timeouts?: { connect?: number; response?: number }) {
  const app: FastifyInstance = await buildWeb(apiUrl, timeouts);
  opened.push(app);
  return app;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((server) => server.close()));
});

async function timed<T>(run: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const start = performance.now();
  const result = await run();
  return { result, ms: performance.now() - start };
}

describe('when the API is down', () => {
  let deadApiUrl: string;
  beforeAll(async () => {
    // A port nobody listens on: connections are refused at once.
    deadApiUrl = `http://127.0.0.1:${await freePort()}`;
  });

  test('then /api answers a 503 problem quickly, with Retry-After', async () => {
    const app = await web(deadApiUrl);
    const { result, ms } = await timed(() => app.inject({ method: 'GET', url: '/api/goals' }));
    expect(result.statusCode).toBe(503);
    expect(result.headers['content-type']).toContain('application/problem+json');
    expect(result.headers['retry-after']).toBe('5');
    expect(result.json()).toMatchObject({ status: 503, title: 'Goals are unavailable right now' });
    expect(ms).toBeLessThan(2_000);
  });

  test('then the page still answers 200 and says goals are unavailable', async () => {
    const app = await web(deadApiUrl);
    const response = await app.inject({ method: 'GET', url: '/?filter=done', headers: SIGNED_IN });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('Goals are unavailable right now');
    expect(response.body).toContain('data-state="unavailable"');
    // The add form is still there, so a person can keep typing.
    expect(response.body).toContain('id="new-goal"');
  });

  test('then a goal added through the form comes back with its text kept and an error', async () => {
    const app = await web(deadApiUrl);
    const posted = await postForm(
      app,
      '/goals?filter=active',
      { name: 'Learn <b>Rust</b>', idempotencyKey: 'kept-key-1234' },
      SAME_ORIGIN_SIGNED_IN,
    );
    // A redirect, so reloading the page never sends the form again; the words are not in it.
    expect(posted.headers.location).toBe('/?filter=active');
    const response = await followFlash(app, posted, SIGNED_IN);
    expect(response.body).toContain('value="Learn &lt;b&gt;Rust&lt;/b&gt;"');
    expect(response.body).toContain('Goals are unavailable right now, so your goal was not saved.');
    // The same key goes back into the form, so the retry cannot create a second goal.
    expect(response.body).toContain('value="kept-key-1234"');
    expect(response.body).toContain('action="/goals?filter=active"');
  });

  test("then resending the same name reuses the form's key, and an edited name gets a fresh one", async () => {
    // Every create fails after the API may have stored it; the page around it loads.
    const upstream = await fake((request, response) =>
      request.method === 'POST'
        ? json(response, 500, { title: 'Internal Server Error', status: 500 })
        : json(response, 200, request.url?.startsWith('/goals/summary') ? SUMMARY : EMPTY_PAGE),
    );
    const app = await web(upstream.url);
    const hidden = (body: string) =>
      Object.fromEntries(
        [...body.matchAll(/type="hidden" name="(idempotencyKey\w*)" value="([^"]*)"/g)].map(
          ([, name, value]) => [name!, value!],
        ),
      );
    const keysSent = () =>
      upstream.seen
        .filter((seen) => seen.method === 'POST')
        .map((seen) => seen.headers['idempotency-key']);

    const send = async (fields: Record<string, string>) =>
      followFlash(app, await postForm(app, '/goals', fields, SAME_ORIGIN_SIGNED_IN), SIGNED_IN);
    const first = await send({ name: 'Run 5 km', idempotencyKey: 'form-key-0001' });
    const afterFirst = hidden(first.body);
    expect(afterFirst).toEqual({ idempotencyKey: 'form-key-0001', idempotencyKeyFor: '|Run 5 km' });

    await send({ name: 'Run 5 km', ...afterFirst });
    const edited = await send({ name: 'Run 10 km', ...afterFirst });
    const dated = await send({
      name: 'Run 10 km',
      targetDate: '2031-05-01',
      ...hidden(edited.body),
    });
    const [sentFirst, sentAgain, sentEdited, sentDated] = keysSent();
    expect(sentFirst).toBe('form-key-0001');
    expect(sentAgain).toBe('form-key-0001');
    expect(sentEdited).toMatch(/^[0-9a-f-]{36}$/);
    // The form now carries the fresh key, bound to the edited name.
    expect(hidden(edited.body)).toEqual({
      idempotencyKey: sentEdited,
      idempotencyKeyFor: '|Run 10 km',
    });
    // A date added to the same name is another body too: another key.
    expect(sentDated).toMatch(/^[0-9a-f-]{36}$/);
    expect(sentDated).not.toBe(sentEdited);
    expect(hidden(dated.body)).toEqual({
      idempotencyKey: sentDated,
      idempotencyKeyFor: '2031-05-01|Run 10 km',
    });
  });

  test('then a rename sent through the form comes back with its text kept and an error', async () => {
    const app = await web(deadApiUrl);
    const posted = await postForm(
      app,
      '/goals/7/rename',
      { name: 'A better name' },
      SAME_ORIGIN_SIGNED_IN,
    );
    expect(posted.headers.location).toBe('/?edit=7');
    const response = await followFlash(app, posted, SIGNED_IN);
    expect(response.body).toContain('Your rename is not saved yet');
    expect(response.body).toContain('value="A better name"');
    expect(response.body).toContain('the new name was not saved');
  });

  test('then ticking a goal off through the form shows why it did not work', async () => {
    const app = await web(deadApiUrl);
    const response = await followFlash(
      app,
      await postForm(app, '/goals/7/toggle', { done: 'true' }, SAME_ORIGIN_SIGNED_IN),
      SIGNED_IN,
    );
    expect(response.body).toContain('so the change was not saved');
  });

  test('then /health still answers 200 without calling the API', async () => {
    const upstream = await fake((_request, response) => json(response, 500, {}));
    const app = await web(upstream.url);
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
    expect(upstream.seen).toHaveLength(0);
  });
});

describe('when the API is slow', () => {
  test('then /api answers 504 after the response timeout instead of hanging', async () => {
    const upstream = await fake(() => undefined); // never answers
    const app = await web(upstream.url, { response: 500 });
    const { result, ms } = await timed(() => app.inject({ method: 'GET', url: '/api/goals' }));
    expect(result.statusCode).toBe(504);
    expect(result.json()).toMatchObject({ status: 504 });
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(2_500);
    // A timeout is not a connection failure: the request is not sent twice.
    expect(upstream.seen).toHaveLength(1);
  });

  test('then the page answers 200 with the unavailable message after the timeout', async () => {
    const upstream = await fake(() => undefined);
    const app = await web(upstream.url, { response: 500 });
    const { result, ms } = await timed(() =>
      app.inject({ method: 'GET', url: '/', headers: SIGNED_IN }),
    );
    expect(result.statusCode).toBe(200);
    expect(result.body).toContain('Goals are unavailable right now');
    expect(ms).toBeLessThan(2_500);
  });

  test('then an answer that stalls halfway through its body also ends in 504', async () => {
    const upstream = await fake((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"goals":');
    });
    const app = await web(upstream.url, { response: 500 });
    const { result, ms } = await timed(() => app.inject({ method: 'GET', url: '/api/goals' }));
    expect(result.statusCode).toBe(504);
    expect(ms).toBeLessThan(2_500);
  });
});

describe('when the API answers far more than a page of goals', () => {
  test('then the answer is cut off and the caller gets a 502 problem', async () => {
    const upstream = await fake((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(`{"goals":[],"junk":"${'x'.repeat(2 * 1024 * 1024)}"}`);
    });
    const app = await web(upstream.url);
    const response = await app.inject({ method: 'GET', url: '/api/goals' });
    expect(response.statusCode).toBe(502);
    expect(response.headers['content-type']).toContain('application/problem+json');
  });
});

describe('when a connection fails', () => {
  const resetFirst = (
    request: Parameters<Parameters<typeof startFakeApi>[0]>[0],
    response: Parameters<Parameters<typeof startFakeApi>[0]>[1],
    attempt: number,
  ) => {
    if (attempt === 1) request.socket.destroy();
    else
      json(
        response,
        request.method === 'POST' ? 201 : 200,
        request.method === 'POST' ? { id: 1 } : EMPTY_PAGE,
      );
  };

  test('then an idempotent request is retried once and succeeds', async () => {
    const upstream = await fake(resetFirst);
    const app = await web(upstream.url);
    const response = await app.inject({ method: 'GET', url: '/api/goals?limit=5' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(EMPTY_PAGE);
    expect(upstream.seen.map((seen) => `${seen.method} ${seen.url}`)).toEqual([
      'GET /goals?limit=5',
      'GET /goals?limit=5',
    ]);
  });

  test('then a create carrying an Idempotency-Key is retried with the same key', async () => {
    const upstream = await fake(resetFirst);
    const app = await web(upstream.url);
    const response = await sendJson(
      app,
      'POST',
      '/api/goals',
      { name: 'Once' },
      { 'idempotency-key': 'retry-key-1' },
    );
    expect(response.statusCode).toBe(201);
    expect(upstream.seen.map((seen) => seen.headers['idempotency-key'])).toEqual([
      'retry-key-1',
      'retry-key-1',
    ]);
  });

  test('then a create sent without an Idempotency-Key gets one, and the retry carries it', async () => {
    const upstream = await fake(resetFirst);
    const app = await web(upstream.url);
    const response = await sendJson(app, 'POST', '/api/goals', { name: 'Once only' });
    expect(response.statusCode).toBe(201);
    const [first, second] = upstream.seen.map((seen) => seen.headers['idempotency-key']);
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).toBe(first);
  });

  test('then a request that fails twice is given up after exactly one retry', async () => {
    const upstream = await fake((request) => request.socket.destroy());
    const app = await web(upstream.url);
    const response = await app.inject({ method: 'DELETE', url: '/api/goals/3' });
    expect(response.statusCode).toBe(502);
    expect(upstream.seen).toHaveLength(2);
  });
});

describe('what reaches the API', () => {
  test('when the caller sends an x-request-id, then the API gets the same one', async () => {
    const upstream = await fake((_request, response) => json(response, 200, EMPTY_PAGE));
    const app = await web(upstream.url);
    const response = await app.inject({
      method: 'GET',
      url: '/api/goals',
      headers: { 'x-request-id': 'trace-42', cookie: 'secret=1', authorization: 'Bearer x' },
    });
    expect(response.headers['x-request-id']).toBe('trace-42');
    const [seen] = upstream.seen;
    expect(seen?.headers['x-request-id']).toBe('trace-42');
    // Nothing the API does not need leaves this tier: the caller's own credentials do, as
    // they are; its cookies never.
    expect(seen?.headers.cookie).toBeUndefined();
    expect(seen?.headers.authorization).toBe('Bearer x');
  });

  test('when the x-request-id is one the API would keep, then this tier keeps it too (one rule for both)', async () => {
    const upstream = await fake((_request, response) => json(response, 200, EMPTY_PAGE));
    const app = await web(upstream.url);
    const response = await app.inject({
      method: 'GET',
      url: '/api/goals',
      headers: { 'x-request-id': 'svc@host/trace+1=a_b' },
    });
    expect(response.headers['x-request-id']).toBe('svc@host/trace+1=a_b');
    expect(upstream.seen[0]?.headers['x-request-id']).toBe('svc@host/trace+1=a_b');
  });

  test('when the x-request-id is missing or unsafe, then a fresh one is made and passed on', async () => {
    const upstream = await fake((_request, response) => json(response, 200, EMPTY_PAGE));
    const app = await web(upstream.url);
    const response = await app.inject({
      method: 'GET',
      url: '/api/goals',
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    const made = response.headers['x-request-id'];
    expect(made).toMatch(/^[0-9a-f-]{36}$/);
    expect(upstream.seen[0]?.headers['x-request-id']).toBe(made);
  });

  test('when the page is rendered, then its API calls carry the page request id', async () => {
    const upstream = await fake((_request, response) => json(response, 200, EMPTY_PAGE));
    const app = await web(upstream.url);
    await app.inject({
      method: 'GET',
      url: '/',
      headers: { 'x-request-id': 'page-7', ...SIGNED_IN },
    });
    expect(upstream.seen.length).toBeGreaterThanOrEqual(2);
    expect(upstream.seen.every((seen) => seen.headers['x-request-id'] === 'page-7')).toBe(true);
  });

  test('when many requests are proxied in turn, then they share kept-alive connections', async () => {
    const ports = new Set<number>();
    const upstream = await fake((request, response) => {
      ports.add(request.socket.remotePort ?? 0);
      json(response, 200, EMPTY_PAGE);
    });
    const app = await web(upstream.url);
    for (let index = 0; index < 10; index += 1) {
      await app.inject({ method: 'GET', url: '/api/goals' });
    }
    expect(upstream.seen).toHaveLength(10);
    // Ten requests, one or two sockets (the pool may open a second before the first is free).
    expect(ports.size).toBeLessThanOrEqual(2);
  });
});
