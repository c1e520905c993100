import { setTimeout as sleep } from 'node:timers/promises';
import { PROBLEM_CONTENT_TYPE } from '@goal-tracker/contract';
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
   * sent once more when the connection or the load balancer fails.
   */
  idempotent: boolean;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The first attempt failed and this is the retry's answer; the first may still have landed. */
  retried: boolean;
}

export interface ApiClient {
  request(request: ApiRequest): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiClientOptions {
  apiUrl: string;
  connectTimeoutMs: number;
  /** Longest wait for the API's answer (headers, then each stretch of body). */
  timeoutMs: number;
  /** Pause before the one retry; a little random spread is added. 50 ms by default. */
  retryDelayMs?: number;
}

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

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  // undici wraps socket errors; the code that says what happened may sit on the cause.
  for (let depth = 0; depth < 3 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR') return code;
    current = current.cause;
  }
  return undefined;
}

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
  });
  const retryDelayMs = options.retryDelayMs ?? 50;

  async function attempt(request: ApiRequest, signal: AbortSignal): Promise<ApiResponse> {
    const response = await pool.request({
      method: request.method,
      path: request.path,
      headers: { ...request.headers, 'x-request-id': request.requestId },
      body: request.body ?? null,
      signal,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        response.body.destroy();
        throw new ApiError('bad-gateway', 'the API answer was too large');
      }
      chunks.push(chunk);
    }
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    return { status: response.statusCode, headers: response.headers, body, retried: false };
  }

  /** The answer, or why there is none, and whether sending the request again may help. */
  async function settle(
    request: ApiRequest,
    signal: AbortSignal,
  ): Promise<{ response: ApiResponse } | { failure: ApiError; retryable: boolean }> {
    try {
      const response = await attempt(request, signal);
      const failure = gatewayFailure(response);
      return failure ? { failure, retryable: true } : { response };
    } catch (error) {
      if (error instanceof ApiError) return { failure: error, retryable: false };
      return { failure: classify(error), retryable: isConnectionFailure(error) };
    }
  }

  return {
    async request(request) {
      // A waiting queue in the pool does not count towards headersTimeout; this deadline does.
      const signal = AbortSignal.timeout(options.connectTimeoutMs + options.timeoutMs);
      const first = await settle(request, signal);
      if ('response' in first) return first.response;
      if (!(request.idempotent && first.retryable)) throw first.failure;
      // A kept-alive socket the API closed, or an instance that just went away and that the
      // balancer still routes to: once more, a moment later.
      await sleep(retryDelayMs * (0.5 + Math.random()), undefined, { signal }).catch(() => {
        throw new ApiError('timeout', 'the API did not answer in time');
      });
      const second = await settle(request, signal);
      if ('response' in second) return { ...second.response, retried: true };
      throw second.failure;
    },
    close: () => pool.close(),
  };
}
