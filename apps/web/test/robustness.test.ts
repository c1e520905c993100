import { createServer, type Server } from 'node:http';
import { rawConnection as connectRaw } from '@goal-tracker/test-support/raw-connection';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildWeb, SAME_ORIGIN } from './support/web.js';

// What a black-box security test found: slow bodies held open, framework errors in another
// format, 500 for a JSON body on a form route, a proxied 304 labelled octet-stream.

const REQUEST_TIMEOUT_MS = 1_000;
const MAX_CONNECTIONS = 3;

/** A stand-in API: 304 when asked with an ETag, else a small list with one. */
let api: Server;
let apiUrl: string;
let web: FastifyInstance;
let port: number;

beforeAll(async () => {
  api = createServer((request, response) => {
    if (request.headers['if-none-match'] === '"v1"') {
      response.writeHead(304, { etag: '"v1"' }).end();
      return;
    }
    response
      .writeHead(200, { 'content-type': 'application/json', etag: '"v1"' })
      .end('{"goals":[],"next":null}');
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
  web = await buildWeb(apiUrl, {}, [], {
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    headersTimeoutMs: REQUEST_TIMEOUT_MS,
    maxConnections: MAX_CONNECTIONS,
  });
  await web.listen({ port: 0, host: '127.0.0.1' });
  port = (web.server.address() as { port: number }).port;
});
afterAll(async () => {
  await web?.close();
  await new Promise((resolve) => api?.close(resolve));
});

const rawConnection = () => connectRaw(port);

describe('slow and oversized requests', () => {
  test('when a form body trickles in a byte at a time, then it is cut off with 408 and the security headers once the timeout has passed', async () => {
    const { socket, received, closed } = await rawConnection();
    socket.write(
      'POST /signin HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\ne',
    );
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write('x');
    }, 200);
    try {
      const ms = await closed;
      expect(received()).toMatch(/^HTTP\/1\.1 408 /);
      expect(received()).toContain('Content-Type: application/problem+json');
      expect(received()).toContain('content-security-policy: ');
      expect(ms).toBeLessThan(REQUEST_TIMEOUT_MS + 1_000 + 3_000);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });

  test('when the headers are too large, then 431 with the security headers', async () => {
    const { socket, received, closed } = await rawConnection();
    socket.write(`GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    await closed;
    expect(received()).toMatch(/^HTTP\/1\.1 431 /);
    expect(received()).toContain('x-content-type-options: nosniff');
  });

  test('when more connections than the cap are open, then the one past it is closed at once', async () => {
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => rawConnection()));
    try {
      const extra = await rawConnection();
      expect(await extra.closed).toBeLessThan(2_000);
      expect(extra.received()).toBe('');
    } finally {
      for (const connection of held) connection.socket.destroy();
    }
  });
});

describe('bodies and addresses the tier cannot use', () => {
  test.each(['/goals', '/goals/1/rename', '/signin', '/signup', '/recover'])(
    'when %s gets a JSON body, then 415 with the error page, not 500',
    async (url) => {
      const response = await web.inject({
        method: 'POST',
        url,
        headers: { ...SAME_ORIGIN, 'content-type': 'application/json' },
        payload: JSON.stringify({ name: 5, email: 7, password: ['x'] }),
      });
      expect(response.statusCode).toBe(415);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.headers['content-security-policy']).toBeTruthy();
    },
  );

  test('when the address holds a bad %-escape, then 400 with the error page, security headers and a request id', async () => {
    const response = await web.inject({ method: 'GET', url: '/goals/%zz' });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.headers['content-security-policy']).toBeTruthy();
    expect(response.headers['x-request-id']).toBeTruthy();
  });
});

describe('the /api proxy', () => {
  test('when the API answers 304, then the proxied 304 carries no content type', async () => {
    const headers = { authorization: `Bearer ${'t'.repeat(43)}` };
    const first = await web.inject({ method: 'GET', url: '/api/goals', headers });
    expect(first.statusCode).toBe(200);
    const again = await web.inject({
      method: 'GET',
      url: '/api/goals',
      headers: { ...headers, 'if-none-match': '"v1"' },
    });
    expect(again.statusCode).toBe(304);
    expect(again.headers['content-type']).toBeUndefined();
    expect(again.body).toBe('');
  });
});
