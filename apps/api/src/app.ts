import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import {
  ChangeListener,
  ChangeNotifier,
  GOALS_CHANNEL,
  type ChangeListenerOptions,
  type NotifierOptions,
} from './db/change-feed.js';
import type { Database } from './db/database.js';
import { goalsRepository, type GoalsRepositoryOptions } from './db/goals-repository.js';
import { registerMetrics } from './http/metrics.js';
import { registerOpenApi } from './http/openapi.js';
import { registerProblemHandlers } from './http/problems.js';
import { REQUEST_ID_HEADER, requestId } from './http/request-id.js';
import { createValidatorCompiler } from './http/validation.js';
import { goalsRoutes } from './routes/goals.js';
import { healthRoutes } from './routes/health.js';
import { goalsService } from './services/goals-service.js';
import { pruneIdempotencyKeys, type PruningOptions } from './services/maintenance.js';
import { ReadCache } from './services/read-cache.js';
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

/** Knobs with production defaults; tests turn them to see behaviour sooner. */
export interface AppTuning {
  listener?: ChangeListenerOptions;
  notifier?: NotifierOptions;
  repository?: GoalsRepositoryOptions;
  pruning?: PruningOptions;
}

export interface AppOptions {
  db: Database;
  /** pino logger; the app is silent without one. */
  logger?: FastifyBaseLogger;
  tuning?: AppTuning;
  /** The list and summary cache; tests pass their own to drop it after changing rows in SQL. */
  cache?: ReadCache;
}

/** Builds the API (routes, validation, errors, metrics, docs) without listening. */
export async function buildApp({ db, logger, tuning = {}, cache = new ReadCache() }: AppOptions) {
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
  // Lists and the summary are cached while this instance hears every change: its own
  // writes drop the cache directly, other instances' writes through a NOTIFY (whose payload,
  // this instance's id, lets it skip its own).
  const instanceId = randomUUID();
  const listener = new ChangeListener(
    db,
    GOALS_CHANNEL,
    {
      onChange: (sender) => {
        if (sender !== instanceId) cache.invalidate();
      },
      onListening: (listening) => cache.setLive(listening),
    },
    app.log,
    tuning.listener,
  );
  const notifier = new ChangeNotifier(
    listener,
    db,
    GOALS_CHANNEL,
    instanceId,
    app.log,
    tuning.notifier,
  );

  const metrics = registerMetrics(app, {
    poolStats: () => db.stats(),
    cacheStats: () => ({ ...cache.stats(), listening: listener.listening }),
  });
  await registerOpenApi(app);

  const repository = goalsRepository(db, {
    onInsertBatch: metrics.observeInsertBatch,
    ...tuning.repository,
  });
  const service = goalsService(repository, {
    cache,
    announceChange: () => notifier.announce(),
  });
  await app.register(goalsRoutes(service));
  await app.register(healthRoutes(readinessService(db)));

  listener.start();
  const stopPruning = pruneIdempotencyKeys(repository, app.log, tuning.pruning);
  app.addHook('onClose', async () => {
    stopPruning();
    notifier.close();
    await listener.close();
  });
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
