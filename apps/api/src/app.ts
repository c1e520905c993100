import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Database } from './db/database.js';
import { goalsRepository } from './db/goals-repository.js';
import { registerMetrics } from './http/metrics.js';
import { registerOpenApi } from './http/openapi.js';
import { registerProblemHandlers } from './http/problems.js';
import { REQUEST_ID_HEADER, requestId } from './http/request-id.js';
import { createValidatorCompiler } from './http/validation.js';
import { goalsRoutes } from './routes/goals.js';
import { healthRoutes } from './routes/health.js';
import { goalsService } from './services/goals-service.js';
import { readinessService } from './services/readiness-service.js';

/** Above the AWS load balancer's 60 s idle timeout, so the balancer always closes first. */
export const KEEP_ALIVE_TIMEOUT_MS = 72_000;
export const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * One access line per request, at debug: at info, two lines per request (Fastify's default)
 * would cost more than serving it. Failures are logged by the error handler at any level.
 * Bodies are never logged.
 */
class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(_error: unknown, request: FastifyRequest, reply: FastifyReply): void {
    request.log.debug(
      { method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime },
      'request completed',
    );
  }
}

export interface AppOptions {
  db: Database;
  /** pino logger; the app is silent without one. */
  logger?: FastifyBaseLogger;
}

/** Builds the API (routes, validation, errors, metrics, docs) without listening. */
export async function buildApp({ db, logger }: AppOptions) {
  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    genReqId: requestId,
    requestIdHeader: false,
    logController: new AccessLog({ requestIdLogLabel: 'requestId' }),
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    bodyLimit: BODY_LIMIT_BYTES,
    // While draining on SIGTERM, requests still arriving on open connections are served
    // (with Connection: close), not refused with a non-problem 503.
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1000;

  // JSON only: Fastify's built-in text/plain parser would let a text body through to
  // validation (400) instead of refusing its media type (415).
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(createValidatorCompiler());
  registerProblemHandlers(app);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  registerMetrics(app, { poolStats: () => db.stats() });
  await registerOpenApi(app);

  await app.register(goalsRoutes(goalsService(goalsRepository(db))));
  await app.register(healthRoutes(readinessService(db)));
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
