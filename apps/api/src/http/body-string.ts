import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

/**
 * A preValidation hook that rewrites one string property of the body before the schema checks
 * it (trims it, say); any other body is left to the schema. `rewrite` may throw to refuse the
 * request.
 */
export function rewriteBodyString(property: string, rewrite: (value: string) => string) {
  return (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const body = request.body as Record<string, unknown> | null | undefined;
    const value = body?.[property];
    if (body && typeof value === 'string') {
      try {
        body[property] = rewrite(value);
      } catch (error) {
        done(error as Error);
        return;
      }
    }
    done();
  };
}
