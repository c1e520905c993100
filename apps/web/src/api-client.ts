import { setTimeout as sleep } from 'node:timers/promises';
import { PROBLEM_CONTENT_TYPE } from '@goal-tracker/contract';
import { errorCode, REQUEST_ID_HEADER } from '@goal-tracker/server-kit';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';

/** Why the API could not answer: each maps to one status the web tier reports. */
export type ApiFailure = 'unavailable' | 'timeout' | 'bad-gateway';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly kind: ApiFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ApiRequest {
  method: string;
  /** Path and query on the API, e.g. `/goals?limit=50`. */
  path: string;
  requestId: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /**
   * Safe to send twice (reads, absolute updates, deletes, creates carrying an Idempotency-Key):
   * sent again when the connection or the load balancer fails (see retryDelay).
   */
  idempotent: boolean;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** An earlier attempt failed and this is a retry's answer; the earlier one may have landed. */
  retried: boolean;
}

/** A long-lived answer (Server-Sent Events), read as it arrives. */
export interface ApiStream {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

export interface ApiClient {
  request(request: ApiRequest): Promise<ApiResponse>;
  /**
   * Opens a GET whose answer goes on for as long as the API keeps sending (an event
   * stream), on connections of its own: streams held open for hours must not take the
   * pooled connections that pages and API calls share. Never retried; `signal` ends it.
   */
  openStream(
    request: Pick<ApiRequest, 'path' | 'requestId' | 'headers'>,
    signal: AbortSignal,
  ): Promise<ApiStream>;
  close(): Promise<void>;
}

export interface ApiClientOptions {
  apiUrl: string;
  connectTimeoutMs: number;
  /** Longest wait for the API's answer (headers, then each stretch of body). */
  timeoutMs: number;
  /** Longest pause before the first retry (at least half of it). 50 ms by default. */
  retryDelayMs?: number;
  /** How long a request may keep being retried while the API answers others. 2 s by default. */
  retryWindowMs?: number;
}

/** The API counts as alive behind the balancer when it answered this recently. */
const API_ALIVE_WINDOW_MS = 1_000;
/** Pauses between retries double up to this many times the first one (50 ms: 200 ms). */
const MAX_DELAY_FACTOR = 4;

/**
 * The API's event streams send a comment every 20 s; one silent for longer than this has
 * lost its API instance, and is ended so the browser reconnects (to another one).
 */
const STREAM_SILENCE_LIMIT_MS = 45_000;

/** Our API's answers are small pages of goals; anything bigger is a fault, not data. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

/** The connection never carried the request, or broke before an answer: safe to retry. */
const CONNECTION_FAILURES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

function classify(error: unknown): ApiError {
  const code = errorCode(error);
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new ApiError('unavailable', 'connecting to the API timed out', { cause: error });
  }
  if (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
  ) {
    return new ApiError('timeout', 'the API did not answer in time', { cause: error });
  }
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
    return new ApiError('bad-gateway', 'the API answer was too large', { cause: error });
  }
  if (code !== undefined && CONNECTION_FAILURES.has(code)) {
    const kind = code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' ? 'bad-gateway' : 'unavailable';
    return new ApiError(kind, `the API connection failed (${code})`, { cause: error });
  }
  return new ApiError('bad-gateway', 'the API call failed', { cause: error });
}

function isConnectionFailure(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && CONNECTION_FAILURES.has(code);
}

const GATEWAY_FAILURES: Record<number, ApiFailure> = {
  502: 'bad-gateway',
  503: 'unavailable',
  504: 'timeout',
};

/**
 * A 502, 503 or 504 that the load balancer made itself (no healthy target, a target that died
 * or timed out mid-request). Every error of our API is a problem document, so one that is not
 * comes from the balancer. The API's own 503 problem means its database is down: retrying
 * that only adds load, so it is passed on as an answer.
 */
function gatewayFailure(response: ApiResponse): ApiError | undefined {
  const kind = GATEWAY_FAILURES[response.status];
  if (kind === undefined) return undefined;
  const type = response.headers['content-type'];
  if (typeof type === 'string' && type.startsWith(PROBLEM_CONTENT_TYPE)) return undefined;
  return new ApiError(kind, `the load balancer answered ${response.status}`);
}

/**
 * One kept-alive connection pool to the API. Every call has a deadline, so a page or a proxied
 * request never waits on the API longer than connect + response timeouts, the retry included.
 */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const pool = new Pool(options.apiUrl, {
    connections: 64,
    // Below the API's own keep-alive (72 s) and the internal load balancer's idle timeout (60 s),
    // so this side always closes an idle socket first and never writes into a closing one.
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 30_000,
    connect: { timeout: options.connectTimeoutMs },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    maxResponseSize: MAX_RESPONSE_BYTES,
  });
  const streamPool = new Pool(options.apiUrl, {
    connect: { timeout: options.connectTimeoutMs },
    headersTimeout: options.timeoutMs,
    bodyTimeout: STREAM_SILENCE_LIMIT_MS,
  });
  const retryDelayMs = options.retryDelayMs ?? 50;
  const retryWindowMs = options.retryWindowMs ?? 2_000;

  async function attempt(request: ApiRequest, signal: AbortSignal): Promise<ApiResponse> {
    const response = await pool.request({
      method: request.method,
      path: request.path,
      headers: { ...request.headers, [REQUEST_ID_HEADER]: request.requestId },
      body: request.body ?? null,
      signal,
    });
    // The pool's maxResponseSize ends a bigger answer (UND_ERR_RES_EXCEEDED_MAX_SIZE).
    const body = Buffer.from(await response.body.arrayBuffer());
    return { status: response.statusCode, headers: response.headers, body, retried: false };
  }

  /** When the API itself last answered (anything but a balancer's failure). */
  let lastAnswerAt = Number.NEGATIVE_INFINITY;

  async function settle(
    request: ApiRequest,
    signal: AbortSignal,
  ): Promise<{ response: ApiResponse } | { failure: ApiError; retryable: boolean }> {
    try {
      const response = await attempt(request, signal);
      const failure = gatewayFailure(response);
      if (failure) return { failure, retryable: true };
      lastAnswerAt = performance.now();
      return { response };
    } catch (error) {
      if (error instanceof ApiError) return { failure: error, retryable: false };
      return { failure: classify(error), retryable: isConnectionFailure(error) };
    }
  }

  /**
   * The pause before sending a failed request again, or undefined to give up. Once, always:
   * a kept-alive socket the API closed, or an instance that just died and that the balancer
   * still routes to. Behind a balancer with one dead instance of two, though, each attempt
   * meets the dead one with fair odds until the health check takes it out (measured: one
   * retry in four failed again, and one request met it eight times running), so while other
   * requests show a live instance behind the balancer (the API answered within the last
   * second), retries go on for up to `retryWindowMs`. When nothing answers, the API is down,
   * and the caller hears so at once. Pauses double, half of each random, so requests that
   * failed together do not come back together.
   */
  function retryDelay(retry: number, failingSince: number): number | undefined {
    const delay = retryDelayMs * Math.min(2 ** retry, MAX_DELAY_FACTOR) * (0.5 + Math.random() / 2);
    if (retry === 0) return delay;
    const now = performance.now();
    if (now - lastAnswerAt > API_ALIVE_WINDOW_MS) return undefined;
    return now + delay - failingSince <= retryWindowMs ? delay : undefined;
  }

  async function withRetries(request: ApiRequest, signal: AbortSignal): Promise<ApiResponse> {
    let outcome = await settle(request, signal);
    const failingSince = performance.now();
    for (let retry = 0; 'failure' in outcome; retry += 1) {
      const delay =
        request.idempotent && outcome.retryable ? retryDelay(retry, failingSince) : undefined;
      if (delay === undefined) throw outcome.failure;
      await sleep(delay, undefined, { signal }).catch(() => {
        throw new ApiError('timeout', 'the API did not answer in time');
      });
      outcome = await settle(request, signal);
      if ('response' in outcome) return { ...outcome.response, retried: true };
    }
    return outcome.response;
  }

  return {
    async request(request) {
      // A waiting queue in the pool does not count towards headersTimeout; this deadline does,
      // and it bounds the retries too. (A timer cleared on the answer: AbortSignal.timeout
      // would keep a timer and a signal alive for the whole deadline after every call.)
      const deadline = new AbortController();
      const timer = setTimeout(
        () => deadline.abort(new DOMException('the API did not answer in time', 'TimeoutError')),
        options.connectTimeoutMs + options.timeoutMs,
      );
      try {
        return await withRetries(request, deadline.signal);
      } finally {
        clearTimeout(timer);
      }
    },
    async openStream(request, signal) {
      try {
        const response = await streamPool.request({
          method: 'GET',
          path: request.path,
          headers: { ...request.headers, [REQUEST_ID_HEADER]: request.requestId },
          signal,
        });
        return { status: response.statusCode, headers: response.headers, body: response.body };
      } catch (error) {
        throw classify(error);
      }
    },
    // Streams still open at close are cut: they never end by themselves.
    close: async () => {
      await Promise.all([pool.close(), streamPool.destroy()]);
    },
  };
}
