import { Type, type Static } from '@sinclair/typebox';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** RFC 9457 problem details: every error either tier sends has this shape. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
  },
  { $id: 'Problem' },
);
export type Problem = Static<typeof Problem>;
