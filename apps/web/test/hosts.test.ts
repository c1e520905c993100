import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, test } from 'vitest';
import { json, startFakeApi } from './support/fake-api.js';
import { buildWeb, postForm, SIGNED_IN } from './support/web.js';

// A stand-in API that accepts anything: what matters is whether a request reaches it.
const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((server) => server.close()));
});

async function setUp(
  options: { trustedProxies?: string[]; allowedHosts?: string[] } = {},
): Promise<{ app: FastifyInstance; seen: unknown[] }> {
  const upstream = await startFakeApi((_request, response) =>
    json(response, 201, { id: 1, name: 'Posted', done: false }),
  );
  opened.push(upstream);
  const app = await buildWeb(upstream.url, {}, options.trustedProxies, {}, options.allowedHosts);
  opened.push(app);
  return { app, seen: upstream.seen };
}

/** A signed-in browser's form post with these headers (no Sec-Fetch-Site unless given). */
const post = (app: FastifyInstance, headers: Record<string, string>) =>
  postForm(app, '/goals', { name: 'Posted' }, { ...SIGNED_IN, ...headers });

describe('the Host a request names', () => {
  test('when a page on a rebound DNS name posts a form (same origin to the browser), then 421 and the API is never called', async () => {
    const { app, seen } = await setUp();
    const response = await post(app, {
      host: 'attacker.example:3000',
      origin: 'http://attacker.example:3000',
      'sec-fetch-site': 'same-origin',
    });
    expect(response.statusCode).toBe(421);
    expect(response.headers['content-type']).toContain('text/html');
    expect(seen).toEqual([]);
  });

  test('when a rebound page calls the JSON API or reads a page, then 421 (a problem document for /api)', async () => {
    const { app, seen } = await setUp();
    const api = await app.inject({
      method: 'POST',
      url: '/api/goals',
      headers: { host: 'attacker.example:3000', 'content-type': 'application/json', ...SIGNED_IN },
      payload: JSON.stringify({ name: 'Posted' }),
    });
    expect(api.statusCode).toBe(421);
    expect(api.headers['content-type']).toContain('application/problem+json');
    expect(api.json()).toMatchObject({ status: 421 });
    const page = await app.inject({
      method: 'GET',
      url: '/signin',
      headers: { host: 'attacker.example' },
    });
    expect(page.statusCode).toBe(421);
    expect(seen).toEqual([]);
  });

  test('when the Host is localhost or 127.0.0.1 on any port, then it is served by default', async () => {
    const { app, seen } = await setUp();
    for (const host of ['localhost:3000', '127.0.0.1:8123', 'LOCALHOST']) {
      const origin = `http://${host.toLowerCase()}`;
      expect((await post(app, { host, origin })).statusCode, host).toBe(303);
    }
    expect(seen).toHaveLength(3);
  });

  test('when ALLOWED_HOSTS names the site, then it is served and localhost no longer is', async () => {
    const { app } = await setUp({ allowedHosts: ['goals.example.com'] });
    const own = { host: 'goals.example.com', origin: 'http://goals.example.com' };
    expect((await post(app, own)).statusCode).toBe(303);
    const local = { host: 'localhost:3000', origin: 'http://localhost:3000' };
    expect((await post(app, local)).statusCode).toBe(421);
  });

  test("when the load balancer's health checks name the instance's address as Host, then they are answered", async () => {
    const { app } = await setUp({ allowedHosts: ['goals.example.com'] });
    const health = await app.inject({
      method: 'GET',
      url: '/health',
      headers: { host: '10.0.3.17:3000' },
    });
    expect(health.statusCode).toBe(200);
    const home = await app.inject({ method: 'GET', url: '/', headers: { host: '10.0.3.17:3000' } });
    expect(home.statusCode).not.toBe(421);
    // Only the checks: anything else by address is refused like any other unknown Host.
    const signIn = await app.inject({
      method: 'GET',
      url: '/signin',
      headers: { host: '10.0.3.17:3000' },
    });
    expect(signIn.statusCode).toBe(421);
  });
});

describe('the scheme of the Origin', () => {
  test('when a post over http says Origin https://<same host>, then 403 and the API is never called', async () => {
    const { app, seen } = await setUp();
    const response = await post(app, { host: 'localhost:3000', origin: 'https://localhost:3000' });
    expect(response.statusCode).toBe(403);
    expect(seen).toEqual([]);
  });

  test('when a post reached the load balancer over https but says Origin http://<same host>, then 403', async () => {
    const { app, seen } = await setUp({ trustedProxies: ['127.0.0.1'] });
    const response = await post(app, {
      host: 'localhost',
      origin: 'http://localhost',
      'x-forwarded-proto': 'https',
    });
    expect(response.statusCode).toBe(403);
    expect(seen).toEqual([]);
  });

  test('when the load balancer says https and the Origin is https://<same host>, then the post is accepted', async () => {
    const { app } = await setUp({ trustedProxies: ['127.0.0.1'] });
    const response = await post(app, {
      host: 'localhost',
      origin: 'https://localhost',
      'x-forwarded-proto': 'https',
    });
    expect(response.statusCode).toBe(303);
  });

  test('when a client that is not a trusted proxy sends X-Forwarded-Proto: https, then it is ignored', async () => {
    const { app, seen } = await setUp();
    const response = await post(app, {
      host: 'localhost',
      origin: 'https://localhost',
      'x-forwarded-proto': 'https',
    });
    expect(response.statusCode).toBe(403);
    expect(seen).toEqual([]);
  });

  test('when the Origin names another port of the same host, then 403', async () => {
    const { app } = await setUp();
    const response = await post(app, { host: 'localhost:3000', origin: 'http://localhost:4000' });
    expect(response.statusCode).toBe(403);
  });
});
