import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** What a caller may send as x-request-id: short and log-safe (no spaces or newlines). */
const ACCEPTABLE = /^[\w.:@/+=-]{1,128}$/;

export const REQUEST_ID_HEADER = 'x-request-id';

/** The caller's x-request-id when it is acceptable, else a new UUID. */
export function requestId(request: IncomingMessage): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && ACCEPTABLE.test(given) ? given : randomUUID();
}
