import { randomUUID } from 'node:crypto';
import type { Problem } from '@goal-tracker/contract';
import { PROBLEM_CONTENT_TYPE } from '@goal-tracker/contract';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, type ApiClient, type ApiFailure } from './api-client.js';
import { sendCompressible } from './responses.js';
import { forwardedFor, isCrossSite } from './security.js';
import { sessionToken } from './session.js';

/**
 * Request headers the API needs as they are; everything else (cookies, hop-by-hop) stays here.
 * Authorization and X-Forwarded-For are set by `apiRequestHeaders`.
 */
const FORWARDED_REQUEST_HEADERS = [
  'accept',
  'content-type',
  'idempotency-key',
  'if-match',
  'if-none-match',
];
const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'location',
  'cache-control',
  'etag',
  'retry-after',
  'www-authenticate',
];
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Writes to goals that are safe to send twice: PATCH too, since updates set absolute values. */
const IDEMPOTENT_GOAL_WRITES = new Set(['PUT', 'PATCH', 'DELETE']);
const BODY_LIMIT = 16 * 1024;

/** What a client of /api hears when the API could not answer. */
export const API_FAILURES: Record<ApiFailure, Problem> = {
  unavailable: {
    type: 'about:blank',
    title: 'Goals are unavailable right now',
    status: 503,
    detail: 'The goal service cannot be reached. Try again in a moment.',
  },
  timeout: {
    type: 'about:blank',
    title: 'The goal service is taking too long',
    status: 504,
    detail: 'The goal service did not answer in time. Try again in a moment.',
  },
  'bad-gateway': {
    type: 'about:blank',
    title: 'The goal service answered badly',
    status: 502,
    detail: 'The goal service failed to answer properly. Try again in a moment.',
  },
};

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply
    .code(problem.status)
    .type(PROBLEM_CONTENT_TYPE)
    .header('cache-control', 'no-store')
    .send(JSON.stringify(problem));
}

/** The status an error thrown while handling a request answers with. */
export function errorStatus(error: Error & { statusCode?: number }): number {
  return error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
}

/**
 * An error of this tier's own (a malformed or oversized body, a fault) as the problem document
 * a script reads; a 5xx's details stay in the log.
 */
export function sendErrorProblem(
  error: Error & { statusCode?: number },
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const status = errorStatus(error);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  return sendProblem(reply, {
    type: 'about:blank',
    title: status >= 500 ? 'Internal server error' : error.message,
    status,
  });
}

/**
 * An onRequest hook that refuses a state-changing request another site sent (see isCrossSite),
 * with a problem document.
 */
export function refuseCrossSite(request: FastifyRequest, reply: FastifyReply, done: () => void) {
  if (SAFE_METHODS.has(request.method) || !isCrossSite(request)) return done();
  sendProblem(reply, {
    type: 'about:blank',
    title: 'Cross-site request refused',
    status: 403,
    detail: 'Changes are only accepted from this site.',
  });
}

/**
 * The public resources of the API; its operational endpoints (metrics, readiness) are not.
 * Nor is the passkey sign-in, `/sessions/passkey`: its answer holds a session token, which
 * must not reach the page's script. The page sends the passkey to the web tier's own
 * `/signin/passkey`, which keeps the token in the cookie.
 */
const FORWARDED_ROUTES = [
  '/api/goals',
  '/api/goals/*',
  '/api/accounts',
  '/api/sessions',
  '/api/sessions/current',
  '/api/sessions/passkey/options',
  '/api/account',
  '/api/account/*',
  '/api/passkeys',
  '/api/passkeys/*',
];

function isGoalsPath(url: string): boolean {
  return /^\/api\/goals(?:[/?]|$)/.test(url);
}

/**
 * Whether a request may be sent again when the connection or the balancer fails it. Reads
 * always; writes to goals too (a create carries an Idempotency-Key). An account write is not:
 * a sign-up, a recovery, a deletion or a new passkey (its challenge is spent by the first
 * attempt) that landed would be refused the second time, and the caller would hear the
 * refusal instead of the success.
 */
function isRetryable(method: string, url: string): boolean {
  if (SAFE_METHODS.has(method)) return true;
  return isGoalsPath(url) && (method === 'POST' || IDEMPOTENT_GOAL_WRITES.has(method));
}

/**
 * Credentials for the API: the caller's own Authorization header, unchanged (a script with a
 * token from POST /api/sessions), or else the session cookie's token (the page's script). The
 * cookie itself never leaves this tier.
 */
function apiCredentials(request: FastifyRequest): string | undefined {
  const own = request.headers.authorization;
  if (own !== undefined) return own;
  const token = sessionToken(request);
  return token === undefined ? undefined : `Bearer ${token}`;
}

/**
 * The headers a request to the API carries for `request`: the named ones as they came, the
 * caller's credentials (see apiCredentials) and the visitor's address.
 */
export function apiRequestHeaders(
  request: FastifyRequest,
  names: readonly string[],
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of names) {
    const value = request.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const credentials = apiCredentials(request);
  if (credentials !== undefined) headers.authorization = credentials;
  headers['x-forwarded-for'] = forwardedFor(request);
  return headers;
}

/**
 * `/api/goals…` and the account routes reach the API unchanged, so the page's script and other
 * clients speak the API contract directly. Only the public resources are forwarded: the API's
 * operational endpoints (metrics, readiness, docs) stay on the private network.
 */
export function registerApiProxy(app: FastifyInstance, client: ApiClient): void {
  void app.register((api, _options, done) => {
    // Bodies pass through as bytes: the API parses and validates them, against the contract.
    api.removeAllContentTypeParsers();
    api.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: BODY_LIMIT },
      (_req, body, next) => next(null, body),
    );

    api.addHook('onRequest', refuseCrossSite);

    const forward = async (request: FastifyRequest, reply: FastifyReply) => {
      const headers = apiRequestHeaders(request, FORWARDED_REQUEST_HEADERS);
      // A create the caller sent without a key gets one here, so that it too can be retried
      // when the load balancer fails it: the API makes at most one goal per key.
      if (request.method === 'POST' && isGoalsPath(request.url)) {
        headers['idempotency-key'] ??= randomUUID();
      }
      try {
        const response = await client.request({
          method: request.method,
          path: request.url.slice('/api'.length),
          headers,
          requestId: request.id,
          idempotent: isRetryable(request.method, request.url),
          ...(Buffer.isBuffer(request.body) ? { body: request.body } : {}),
        });
        // The first attempt's answer was lost, so it may have been the one that deleted it.
        if (request.method === 'DELETE' && response.retried && response.status === 404) {
          return reply.code(204).send();
        }
        reply.code(response.status);
        for (const name of FORWARDED_RESPONSE_HEADERS) {
          const value = response.headers[name];
          if (value === undefined) continue;
          // The API says /goals/1; through this tier that resource is /api/goals/1.
          reply.header(
            name,
            name === 'location' && typeof value === 'string' && value.startsWith('/')
              ? `/api${value}`
              : value,
          );
        }
        // No body, so no content type: Fastify would otherwise label the empty answer
        // application/octet-stream.
        if (response.status === 304 || response.status === 204) return reply.send();
        return sendCompressible(request, reply, response.body);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        request.log.warn({ err: error }, 'the API call failed');
        if (error.kind === 'unavailable') reply.header('retry-after', '5');
        return sendProblem(reply, API_FAILURES[error.kind]);
      }
    };

    for (const route of FORWARDED_ROUTES) api.all(route, forward);
    api.get('/api/openapi.json', forward);
    done();
  });
}
