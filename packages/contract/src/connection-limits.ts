/**
 * For both servers, not the page script (hence a subpath of its own, which the index does not
 * export): how long a request may take to arrive, how many connections at once, and the
 * problem document for what Node refuses before any route runs.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { PROBLEM_CONTENT_TYPE } from './problem.js';

/** How long a request, and its headers, may take to arrive, and how many connections at once. */
export interface ConnectionLimits {
  /** The whole request, body included: a body trickling in slower is cut off. */
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  maxConnections: number;
}

export const CONNECTION_LIMITS: ConnectionLimits = {
  requestTimeoutMs: 15_000,
  headersTimeoutMs: 10_000,
  // A t3.micro's file descriptors and memory, not the load balancer, are what run out first.
  maxConnections: 2_000,
};

/**
 * Node checks the request and header timeouts on a timer, every 30 s by default, so a timeout
 * of T would cut a slow client off anywhere between T and T + 30 s; once a second keeps it
 * within T + 1 s.
 */
export const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

const CLIENT_ERRORS: Record<string, { status: number; detail: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, detail: 'The request took too long to arrive.' },
  HPE_HEADER_OVERFLOW: { status: 431, detail: 'The request headers are too large.' },
};

/**
 * Answers what Node refuses before any route sees it (a request too slow to arrive, headers
 * too large, malformed HTTP) as a problem document with the given headers, then closes.
 */
export function clientErrorHandler(headers: Readonly<Record<string, string>>) {
  return (error: Error & { code?: string }, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const { status, detail } = CLIENT_ERRORS[error.code ?? ''] ?? {
      status: 400,
      detail: 'The request is not valid HTTP.',
    };
    const title = STATUS_CODES[status] ?? 'Bad Request';
    const body = JSON.stringify({ type: 'about:blank', title, status, detail });
    if (socket.writable) {
      const lines = [
        `HTTP/1.1 ${status} ${title}`,
        `Content-Type: ${PROBLEM_CONTENT_TYPE}`,
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Connection: close',
        ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      ];
      socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
    }
    socket.destroy();
  };
}
