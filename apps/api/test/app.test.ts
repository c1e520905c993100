import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { KEEP_ALIVE_TIMEOUT_MS } from '@goal-tracker/server-kit';
import { buildApp } from '../src/app.js';
import { loggerOptions } from '../src/logger.js';
import { injectAs, json, useTestApi } from './helpers.js';

const api = useTestApi('app');

/** A pino logger at trace level whose lines the test can read. */
function capturedLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ ...loggerOptions('trace') }, stream), text: () => lines.join('') };
}

describe('request ids', () => {
  it('when the caller sends x-request-id, then the same id comes back', async () => {
    const response = await api.inject({
      method: 'GET',
      url: '/health',
      headers: { 'x-request-id': 'abc-123' },
    });
    expect(response.headers['x-request-id']).toBe('abc-123');
  });

  it('when the caller sends none, then each response gets a new one', async () => {
    const first = await api.inject({ method: 'GET', url: '/health' });
    const second = await api.inject({ method: 'GET', url: '/health' });
    expect(first.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.headers['x-request-id']).not.toBe(first.headers['x-request-id']);
  });

  it('when the caller sends one unfit for logs, then a new one replaces it', async () => {
    const response = await api.inject({
      method: 'GET',
      url: '/health',
      headers: { 'x-request-id': 'x'.repeat(300) },
    });
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('when an error response is sent, then it carries the request id too', async () => {
    const response = await api.inject({
      method: 'GET',
      url: '/goals/0',
      headers: { 'x-request-id': 'err-1' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['x-request-id']).toBe('err-1');
  });
});

describe('problem documents', () => {
  it.each(['GET /nowhere', 'POST /goals/1/children', 'PUT /goals', 'GET /goals/1/extra'])(
    'when the route is unknown (%s), then 404 problem+json',
    async (route) => {
      const [method, url] = route.split(' ') as ['GET', string];
      const response = await api.inject({ method, url });
      expect(response.statusCode).toBe(404);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json()).toEqual({
        type: 'about:blank',
        title: 'Not Found',
        status: 404,
        detail: expect.any(String) as string,
      });
    },
  );

  it('when a statement fails inside, then 500 with a generic body: no SQL, driver text or stack', async () => {
    await api.db.session((query) =>
      query('ALTER TABLE goals RENAME COLUMN goal_name TO goal_title'),
    );
    try {
      const { logger, text } = capturedLogger();
      const app = await buildApp({ db: api.db, logger });
      const response = await injectAs(app, api.account.token, {
        method: 'GET',
        url: '/goals',
        headers: { 'x-request-id': 'boom-1' },
      });
      await app.close();
      expect(response.statusCode).toBe(500);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json()).toEqual({
        type: 'about:blank',
        title: 'Internal Server Error',
        status: 500,
        detail: 'The server could not complete the request.',
      });
      expect(response.body).not.toMatch(/goal_name|column|SELECT|relation|at \w|\.ts|\.js/i);
      // The cause goes to the log instead, under the request id.
      expect(text()).toMatch(/"requestId":"boom-1".*goal_name/);
    } finally {
      await api.db.session((query) =>
        query('ALTER TABLE goals RENAME COLUMN goal_title TO goal_name'),
      );
    }
  });
});

describe('logs', () => {
  it('when a request carries a body and credentials, then neither reaches the log', async () => {
    const { logger, text } = capturedLogger();
    const app = await buildApp({ db: api.db, logger });
    await app.inject({
      method: 'POST',
      url: '/goals',
      headers: { ...json, authorization: 'Bearer hunter2-token', cookie: 'session=hunter2-cookie' },
      payload: { name: 'body-secret-text' },
    });
    await app.inject({
      method: 'POST',
      url: '/goals',
      headers: json,
      payload: { name: 'body-secret-text', x: 1 },
    });
    await app.close();
    const logged = text();
    expect(logged).toContain('request completed');
    expect(logged).not.toContain('body-secret-text');
    expect(logged).not.toContain('hunter2');
  });

  it('when a log entry holds a password, then it is redacted', () => {
    const { logger, text } = capturedLogger();
    logger.info(
      {
        password: 'pw-1',
        settings: { password: 'pw-2', connectionString: 'postgres://u:pw-3@h/d' },
      },
      'x',
    );
    expect(text()).not.toMatch(/pw-1|pw-2|pw-3/);
    expect(text()).toContain('[redacted]');
  });
});

describe('HTTP server settings', () => {
  it('when built, then keep-alive outlasts the load balancer idle timeout of 60 s', () => {
    expect(KEEP_ALIVE_TIMEOUT_MS).toBeGreaterThan(60_000);
    expect(api.app.server.keepAliveTimeout).toBe(KEEP_ALIVE_TIMEOUT_MS);
    // Idle time between requests does not count against the header and request timeouts:
    // see connection-limits.test.ts.
  });
});
