import {
  announceReady,
  ConfigError,
  configOrExit,
  handleShutdown,
  isWorker,
  serveWithWorkers,
} from '@goal-tracker/server-kit';
import { pino, type Logger } from 'pino';
import { GOAL_WRITE_QUESTION, PrimaryWriteLimiter, WriteLimiter } from './accounts/limits.js';
import type { App } from './app.js';
import { loadConfig, type ApiConfig } from './config.js';
import { instanceMetrics, METRICS_QUESTION } from './http/metrics.js';
import type { OpenedDatabase } from './db/connect.js';
import { loggerOptions } from './logger.js';

/** The API as one process runs it: with WORKERS=1 the only one, otherwise each worker. */
async function serve(config: ApiConfig, log: Logger): Promise<void> {
  let database: OpenedDatabase | undefined;
  let app: App | undefined;
  const migrations = new AbortController();

  const shutdown = handleShutdown({
    log,
    async close() {
      migrations.abort();
      // Stops accepting, closes idle keep-alive connections, waits for in-flight requests.
      await app?.close();
      await database?.close();
    },
  });

  // Loaded here, not above: a primary only supervises, and need not carry the app.
  const [{ buildApp }, { openDatabase }, { migrateWhenReachable }] = await Promise.all([
    import('./app.js'),
    import('./db/connect.js'),
    import('./db/migrations.js'),
  ]);
  try {
    database = openDatabase(config.database, log);
    app = await buildApp({
      db: database.db,
      logger: log,
      settings: config,
      ...(isWorker()
        ? { goalWrites: new PrimaryWriteLimiter(config.limits.goalWritesPerMinute) }
        : {}),
    });
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    // A configuration problem found only now (an unreadable secret, say) needs no stack.
    if (error instanceof ConfigError) log.fatal(`cannot start: ${error.message}`);
    else log.fatal({ err: error }, 'cannot start');
    shutdown.fail('start failed');
    return;
  }

  // Listening first: /health answers while the database is still coming up, /ready says 503
  // until the schema is migrated, and the data routes wait for it (as long as for a pooled
  // connection), since a worker gets requests as soon as it listens. Workers migrate alike:
  // the migration lock lets one apply each migration and the others find it applied.
  const { db } = database;
  try {
    const applied = await migrateWhenReachable(db, { log, signal: migrations.signal });
    log.info({ applied, schemaVersion: db.migratedVersion }, 'ready');
    announceReady();
  } catch (error) {
    if (shutdown.stopping) return;
    log.fatal({ err: error }, 'migration failed');
    shutdown.fail('migration failed');
  }
}

const config = configOrExit(() => loadConfig());
const log = pino(loggerOptions(config.logLevel));
const writes = new WriteLimiter(config.limits.goalWritesPerMinute);

await serveWithWorkers({
  workers: config.workers,
  log,
  serve: () => serve(config, log),
  primary: {
    answers: {
      [GOAL_WRITE_QUESTION]: (accountId) => writes.secondsToWait(Number(accountId)),
      [METRICS_QUESTION]: instanceMetrics,
    },
  },
});
