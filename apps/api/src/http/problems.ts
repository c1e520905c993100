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

/** During an outage every request fails alike: one warning a second says enough. */
const UNAVAILABLE_LOG_INTERVAL_MS = 1000;

/**
 * The one place errors become responses: every error is a problem document. Client errors
 * explain themselves; server errors say nothing about their cause (no SQL, driver message or
 * stack), which goes to the log with the request id instead.
 */
export function createErrorHandler() {
  let lastUnavailableLog = 0;
  let unlogged = 0;
  return (error: FastifyError | AppError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof AppError) {
      if (error.status >= 500) {
        const now = Date.now();
        if (now - lastUnavailableLog >= UNAVAILABLE_LOG_INTERVAL_MS) {
          request.log.warn({ cause: causeOf(error), alike: unlogged }, error.detail);
          lastUnavailableLog = now;
          unlogged = 0;
        } else {
          unlogged += 1;
        }
      }
      if (error.retryAfterSeconds !== undefined) {
        reply.header('retry-after', String(error.retryAfterSeconds));
      }
      if (error.challenge !== undefined) reply.header('www-authenticate', error.challenge);
      return send(reply, error.status, error.detail, error.title);
    }
    if (error.validation) return send(reply, 400, error.message);
    const status = error.statusCode;
    // Fastify's own client errors: bad JSON, __proto__ keys, 413, 415 and the like.
    if (status !== undefined && status >= 400 && status < 500) {
      return send(reply, status, error.message);
    }
    request.log.error({ err: error }, 'request failed');
    return send(reply, 500, GENERIC_5XX_DETAIL);
  };
}

export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler(createErrorHandler());
  app.setNotFoundHandler((_request, reply) =>
    send(reply, 404, 'There is nothing at this address.'),
  );
}
