import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Both tiers read and send the id under this name; the web tier passes it on to the API. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** What a caller may choose as its id: short and log-safe (no spaces, quotes or newlines). */
const ACCEPTABLE = /^[\w.:@/+=-]{1,128}$/;

/** The caller's x-request-id when it is acceptable, else a new UUID (Fastify's genReqId). */
export function requestId(request: Pick<IncomingMessage, 'headers'>): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && ACCEPTABLE.test(given) ? given : randomUUID();
}
