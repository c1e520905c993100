import { PROBLEM_CONTENT_TYPE, Problem } from '@goal-tracker/contract';
import { Type } from '@sinclair/typebox';

/** A documented error response: a problem document under its own media type. */
export function problemResponse(description: string) {
  return { description, content: { [PROBLEM_CONTENT_TYPE]: { schema: Problem } } };
}

/** A documented answer with no body (204, 304). */
export function noBody(description: string) {
  return { type: 'null', description } as const;
}

export const badRequest = problemResponse('The request is malformed or fails validation');
export const unauthorized = problemResponse(
  'No valid session token: sign in (POST /sessions) and send Authorization: Bearer <token>',
);
export const notFound = problemResponse('There is no such goal');
export const unavailable = problemResponse(
  'The database is unavailable; Retry-After says when to try again',
);

/** Visible ASCII, as HTTP header values should be; 255 fits the key column. */
export const IdempotencyKeyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x21-\\x7e]+$',
      description: 'Makes a retried create safe: the same key returns the same goal',
    }),
  ),
});

export const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(
    Type.String({
      description:
        'The ETag of the goal as last seen ("<version>"): the change is made only if it is still current',
    }),
  ),
});

export const HealthStatus = Type.Object(
  { status: Type.String() },
  { $id: 'HealthStatus', description: 'The status: ok, or ready' },
);
