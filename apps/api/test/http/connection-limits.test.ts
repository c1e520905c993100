import { createTestServer, type TestDatabases } from '@goal-tracker/test-support/postgres';
import { rawConnection as connectRaw } from '@goal-tracker/test-support/raw-connection';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, TEST_SETTINGS, type TestApi } from '../helpers.js';

const REQUEST_TIMEOUT_MS = 1_000;
const MAX_CONNECTIONS = 3;

let server: TestDatabases;
let api: TestApi;
let port: number;

beforeAll(async () => {
  server = await createTestServer();
  api = await createTestApi(
    await server.createDatabase('connection_limits'),
    {},
    {
      connections: {
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        headersTimeoutMs: REQUEST_TIMEOUT_MS,
        maxConnections: MAX_CONNECTIONS,
      },
    },
    TEST_SETTINGS,
  );
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  port = (api.app.server.address() as { port: number }).port;
});
afterAll(async () => {
  await api?.close();
  await server?.dispose();
});

/** A raw connection: what it receives, and when it closed. */
const rawConnection = () => connectRaw(port);

describe('a request that arrives too slowly', () => {
  it('when a body trickles in a byte at a time, then it is cut off with 408 problem+json once the request timeout (and the 1 s check) has passed', async () => {
    const { socket, received, closed } = await rawConnection();
    socket.write(
      'POST /accounts HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
    );
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write(' ');
    }, 200);
    try {
      const ms = await closed;
      expect(received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(received()).toContain('Content-Type: application/problem+json');
      expect(received()).toContain('"status":408');
      // The timeout, plus at most one check interval, plus slack for a busy machine.
      expect(ms).toBeLessThan(REQUEST_TIMEOUT_MS + 1_000 + 3_000);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });

  it('when the headers never finish, then the connection is closed with 408 too', async () => {
    const { socket, received, closed } = await rawConnection();
    socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    await closed;
    expect(received()).toMatch(/^HTTP\/1\.1 408 /);
  });
});

describe('kept-alive connections', () => {
  it('when a connection idles between requests for longer than the request timeout, then its next request is still served', async () => {
    const { socket, received } = await rawConnection();
    try {
      socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await new Promise((resolve) => setTimeout(resolve, REQUEST_TIMEOUT_MS * 2.5));
      socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(received().match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
      // The status lines only: a random request id can hold the digits 408.
      expect(received()).not.toMatch(/HTTP\/1\.1 408 /);
    } finally {
      socket.destroy();
    }
  });
});

describe('malformed requests', () => {
  it('when the headers are larger than Node accepts, then 431 problem+json', async () => {
    const { socket, received, closed } = await rawConnection();
    socket.write(`GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    await closed;
    expect(received()).toMatch(/^HTTP\/1\.1 431 /);
    expect(received()).toContain('Content-Type: application/problem+json');
  });

  it('when the address holds a bad %-escape, then 400 problem+json with a request id', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/goals/%zz' });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.headers['x-request-id']).toBeTruthy();
    expect(response.json()).toMatchObject({ status: 400, title: 'Bad Request' });
  });
});

describe('connections at once', () => {
  it('when more connections than the cap are open, then the one past it is closed at once, and the others still work', async () => {
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => rawConnection()));
    try {
      const extra = await rawConnection();
      expect(await extra.closed).toBeLessThan(2_000);
      expect(extra.received()).toBe('');
      const first = held[0]!;
      first.socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      await first.closed;
      expect(first.received()).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      for (const connection of held) connection.socket.destroy();
    }
  });
});
