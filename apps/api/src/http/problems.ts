import { STATUS_CODES } from 'node:http';
import { PROBLEM_CONTENT_TYPE, type Problem } from '@goal-tracker/contract';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

const GENERIC_5XX_DETAIL = 'The server could not complete the request.';

function send(reply: FastifyReply, status: number, detail: string, title?: string): FastifyReply {
  const problem: Problem = {
    type: 'about:blank',
    title: title ?? STATUS_CODES[status] ?? 'Error',
    status,
    detail,
  };
  return reply.code(status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

function causeOf(error: Error): unknown {
  return error.cause instanceof Error
    ? { message: error.cause.message, name: error.cause.name }
    : error.cause;
}

/**
 * The one place errors become responses: every error is a problem document. Client errors
 * explain themselves; server errors say nothing about their cause (no SQL, driver message or
 * stack), which goes to the log with the request id instead.
 */
export function handleError(
  error: FastifyError | AppError,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if (error instanceof AppError) {
    if (error.status >= 500) request.log.warn({ cause: causeOf(error) }, error.detail);
    if (error.retryAfterSeconds !== undefined)
      reply.header('retry-after', String(error.retryAfterSeconds));
    return send(reply, error.status, error.detail, error.title);
  }
  if (error.validation) return send(reply, 400, error.message);
  const status = error.statusCode;
  // Fastify's own client errors: bad JSON, __proto__ keys, 413, 415 and the like.
  if (status !== undefined && status >= 400 && status < 500)
    return send(reply, status, error.message);
  request.log.error({ err: error }, 'request failed');
  return send(reply, 500, GENERIC_5XX_DETAIL);
}

export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((_request, reply) =>
    send(reply, 404, 'There is nothing at this address.'),
  );
}
