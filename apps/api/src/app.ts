import { PROBLEM_CONTENT_TYPE } from '@goal-tracker/contract';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ConnectionLimits } from '@goal-tracker/server-kit';
import { applyConnectionLimits, REQUEST_ID_HEADER, serverOptions } from '@goal-tracker/server-kit';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { accountsRepository } from './accounts/accounts-repository.js';
import { accountsRoutes } from './accounts/accounts-routes.js';
import { accountsService } from './accounts/accounts-service.js';
import { authenticate } from './accounts/authenticate.js';
import { DEFAULT_LIMITS, WriteLimiter, type GoalWriteLimiter } from './accounts/limits.js';
import { passkeysRepository } from './accounts/passkeys-repository.js';
import { passkeysRoutes } from './accounts/passkeys-routes.js';
import { passkeysService } from './accounts/passkeys-service.js';
import type { ApiConfig } from './config.js';
import type { ChangeListenerOptions, NotifierOptions } from './caching/change-feed.js';
import { instanceCaches } from './caching/instance-caches.js';
import type { ReadCache } from './caching/read-cache.js';
import type { Database } from './db/database.js';
import { goalsRepository, type GoalsRepositoryOptions } from './db/goals-repository.js';
import { registerMetrics } from './http/metrics.js';
import { registerOpenApi } from './http/openapi.js';
import { registerProblemHandlers } from './http/problems.js';
import { createValidatorCompiler } from './http/validation.js';
import { GoalEventStreams, type GoalEventStreamsOptions } from './live/goal-event-streams.js';
import { goalEventsRoutes } from './routes/goal-events.js';
import { goalsRoutes } from './routes/goals.js';
import { healthRoutes } from './routes/health.js';
import { goalsService, RESTORE_WINDOW_SECONDS } from './services/goals-service.js';
import { pruneRegularly, type PruningOptions } from './services/maintenance.js';
import { readinessService } from './services/readiness-service.js';

export const BODY_LIMIT_BYTES = 1024 * 1024;
/** Longer than the longest abuse-limit window (an hour). */
const ATTEMPTS_KEPT_SECONDS = 2 * 60 * 60;

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
  connections?: Partial<ConnectionLimits>;
  events?: GoalEventStreamsOptions;
}

/** What the environment decides about accounts and abuse (see config.ts). */
export type AppSettings = Pick<ApiConfig, 'trustedProxies' | 'sessions' | 'limits' | 'webAuthn'>;

export const DEFAULT_SETTINGS: AppSettings = {
  trustedProxies: [],
  sessions: { absoluteSeconds: 30 * 24 * 60 * 60, idleSeconds: 7 * 24 * 60 * 60 },
  limits: DEFAULT_LIMITS,
  webAuthn: { rpId: 'localhost', rpName: 'Goal Tracker', origins: ['http://localhost:3000'] },
};

export interface AppOptions {
  db: Database;
  settings?: AppSettings;
  /** pino logger; the app is silent without one. */
  logger?: FastifyBaseLogger;
  tuning?: AppTuning;
  /** The list and summary cache; tests pass their own to drop it after changing rows in SQL. */
  cache?: ReadCache;
  /** Goal writes per account; a cluster worker's asks the primary. This process's own when absent. */
  goalWrites?: GoalWriteLimiter;
}

/** Builds the API (routes, validation, errors, metrics, docs) without listening. */
export async function buildApp({
  db,
  logger,
  settings = DEFAULT_SETTINGS,
  tuning = {},
  cache,
  goalWrites,
}: AppOptions) {
  const app = Fastify({
    // The client's address (for the abuse limits) is the nearest one outside the proxies.
    trustProxy: settings.trustedProxies.length > 0 ? settings.trustedProxies : false,
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    ...serverOptions(tuning.connections ?? {}),
    logController: new AccessLog({ requestIdLogLabel: 'requestId' }),
    // An address Fastify cannot decode (a bad %-escape) never reaches a route: answer it in
    // the same problem format, with the request id.
    frameworkErrors: (error, request, reply: FastifyReply) => {
      void reply
        .code(400)
        .header(REQUEST_ID_HEADER, request.id)
        .type(PROBLEM_CONTENT_TYPE)
        .send({ type: 'about:blank', title: 'Bad Request', status: 400, detail: error.message });
    },
    bodyLimit: BODY_LIMIT_BYTES,
    // While draining on SIGTERM, requests still arriving on open connections are served
    // (with Connection: close), not refused with a non-problem 503.
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();
  applyConnectionLimits(app, tuning.connections ?? {});

  // JSON only: Fastify's built-in text/plain parser would let a text body through to
  // validation (400) instead of refusing its media type (415).
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(createValidatorCompiler());
  registerProblemHandlers(app);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  const accounts = accountsRepository(db);
  const eventStreams = new GoalEventStreams(tuning.events);
  const caches = instanceCaches({
    subscriber: eventStreams,
    db,
    accounts,
    sessionTimeouts: settings.sessions,
    log: app.log,
    ...(cache ? { cache } : {}),
    ...(tuning.listener ? { listener: tuning.listener } : {}),
    ...(tuning.notifier ? { notifier: tuning.notifier } : {}),
  });

  const metrics = registerMetrics(app, {
    poolStats: () => db.stats(),
    cacheStats: () => caches.stats(),
  });
  await registerOpenApi(app);

  const repository = goalsRepository(db, {
    goalsPerAccount: settings.limits.goalsPerAccount,
    onInsertBatch: metrics.observeInsertBatch,
    ...tuning.repository,
  });
  const writes = goalWrites ?? new WriteLimiter(settings.limits.goalWritesPerMinute);
  const service = goalsService(repository, {
    cache: caches.cache,
    announceChange: (accountId, change) => caches.goalsChanged(accountId, change),
    admitWrite: (accountId) => writes.take(accountId),
  });
  const signedIn = authenticate(caches.sessions);
  const accountService = accountsService(accounts, {
    limits: settings.limits,
    sessions: settings.sessions,
    announceEnded: (accountId, options) => caches.sessionsEnded(accountId, options),
  });
  await app.register(accountsRoutes(accountService, signedIn));
  const passkeys = passkeysRepository(db);
  await app.register(
    passkeysRoutes(
      passkeysService(passkeys, { webAuthn: settings.webAuthn, accounts: accountService }),
      signedIn,
    ),
  );
  await app.register(goalsRoutes(service, signedIn));
  await app.register(goalEventsRoutes(eventStreams, signedIn));
  await app.register(healthRoutes(readinessService(db)));

  caches.start();
  const stopPruning = pruneRegularly(
    [
      ['idempotency keys', (maxAge) => repository.pruneIdempotencyKeys(maxAge)],
      ['deleted goals past restoring', () => repository.purgeDeleted(RESTORE_WINDOW_SECONDS)],
      ['ended sessions', () => accounts.pruneSessions(settings.sessions.idleSeconds)],
      ['old sign-in attempts', () => accounts.pruneAttempts(ATTEMPTS_KEPT_SECONDS)],
      ['expired passkey challenges', () => passkeys.pruneChallenges()],
    ],
    app.log,
    tuning.pruning,
  );
  // Before the server waits for open connections to finish: a stream never would.
  app.addHook('preClose', (done) => {
    eventStreams.closeAll();
    done();
  });
  app.addHook('onClose', async () => {
    stopPruning();
    await caches.close();
  });
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
