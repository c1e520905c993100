/**
 * How long a request may take to arrive, how many connections at once, and the problem
 * document for what Node refuses before any route runs.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { PROBLEM_CONTENT_TYPE } from '@goal-tracker/contract';
import type { FastifyInstance } from 'fastify';
import { requestId } from './request-id.js';
import { closeConnectionsWhenClosing } from './shutdown.js';

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

/** Above the AWS load balancer's 60 s idle timeout, so the balancer always closes first. */
export const KEEP_ALIVE_TIMEOUT_MS = 72_000;

/**
 * The Fastify options both servers are made with: request ids by the one rule, keep-alive,
 * request timeouts checked every second, and the problem answer for what Node refuses
 * (carrying `headers`, the tier's security headers).
 */
export function serverOptions(
  overrides: Partial<ConnectionLimits>,
  headers: Readonly<Record<string, string>> = {},
) {
  const limits = { ...CONNECTION_LIMITS, ...overrides };
  return {
    genReqId: requestId,
    requestIdHeader: false as const,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout: limits.requestTimeoutMs,
    http: { connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
    clientErrorHandler: clientErrorHandler(headers),
  };
}

/**
 * What only the made server takes: the header timeout and connection cap (Node reads
 * them from the server, not from Fastify's options), and draining on close.
 */
export function applyConnectionLimits(
  app: FastifyInstance,
  overrides: Partial<ConnectionLimits>,
): void {
  const limits = { ...CONNECTION_LIMITS, ...overrides };
  app.server.headersTimeout = limits.headersTimeoutMs;
  app.server.maxConnections = limits.maxConnections;
  closeConnectionsWhenClosing(app);
}
