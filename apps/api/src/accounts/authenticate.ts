import type { Account } from '@goal-tracker/contract';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../errors.js';
import type { SessionCache } from '../caching/session-cache.js';
import { unauthorized, unavailable } from '../routes/schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in account's id; set on routes behind `authenticate`. */
    accountId: number;
    /** The signed-in account; set on routes behind `authenticate`. */
    account: Account;
    /** The session token the request came with; set on routes behind `authenticate`. */
    sessionToken: string;
  }
}

const BEARER = /^Bearer +(\S+) *$/i;

/** The token of an `Authorization: Bearer` header, if the request has one. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return header === undefined ? undefined : (BEARER.exec(header)?.[1] ?? '');
}

/** What route plugins put before their signed-in routes, as made by `authenticate`. */
export type Authenticate = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * The schema of a route behind `authenticate`: the bearer scheme, and the answers every such
 * route can give besides its own, 401 (`refused`, no valid token) and 503.
 */
export function needsSession<Schema extends { response: object }>(
  schema: Schema,
  refused = unauthorized,
) {
  return {
    security: [{ bearer: [] }],
    ...schema,
    response: { 401: refused, 503: unavailable, ...schema.response },
  };
}

/** An onRequest hook: a request without a live session token ends here with 401. */
export function authenticate(sessions: SessionCache): Authenticate {
  return async (request, _reply) => {
    const token = bearerToken(request);
    if (token === undefined) throw new UnauthorizedError(false);
    const account = await sessions.accountFor(token);
    if (account === undefined) throw new UnauthorizedError(true);
    request.accountId = account.id;
    request.account = account;
    request.sessionToken = token;
  };
}
