import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type FakeHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  attempt: number,
  body: Buffer,
) => void;

/**
 * A stand-in for our API process (or the load balancer in front of it) on 127.0.0.1, for
 * faults the real ones will not produce on demand: slowness, a reset connection, a balancer's
 * own 502. It records every request it sees, body included.
 */
export async function startFakeApi(handler: FakeHandler): Promise<{
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}> {
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body,
      });
      handler(request, response, seen.length, body);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    seen,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

export const EMPTY_PAGE = { goals: [], next: null };

/**
 * What HAProxy (or an ALB) sends when it has no answer of the API's to give: its own HTML
 * page, never a problem document.
 */
export function balancerFailure(response: ServerResponse, status: 502 | 503 | 504): void {
  response.writeHead(status, { 'content-type': 'text/html', 'cache-control': 'no-cache' });
  response.end(`<html><body><h1>${status} Service Unavailable</h1></body></html>\n`);
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Headers the balancer passes to the API; the hop-by-hop ones are its own business. */
const PASSED = [
  'accept',
  'authorization',
  'content-type',
  'idempotency-key',
  'if-none-match',
  'x-request-id',
];

/** Sends a request the stand-in balancer received on to the real API, and returns its answer. */
export async function forward(
  apiUrl: string,
  request: IncomingMessage,
  body: Buffer,
): Promise<Answer> {
  const headers: Record<string, string> = {};
  for (const name of PASSED) {
    const value = request.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const response = await fetch(`${apiUrl}${request.url ?? '/'}`, {
    method: request.method ?? 'GET',
    headers,
    ...(body.length > 0 ? { body: body.toString('utf8') } : {}),
  });
  const answer: Answer = {
    status: response.status,
    headers: {},
    body: Buffer.from(await response.arrayBuffer()),
  };
  for (const name of ['content-type', 'etag', 'location', 'retry-after', 'www-authenticate']) {
    const value = response.headers.get(name);
    if (value !== null) answer.headers[name] = value;
  }
  return answer;
}

export function relay(response: ServerResponse, answer: Answer): void {
  response.writeHead(answer.status, answer.headers);
  response.end(answer.body);
}
