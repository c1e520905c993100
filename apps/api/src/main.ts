import { pino } from 'pino';
import { buildApp, type App } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { openDatabase, type OpenedDatabase } from './db/connect.js';
import { migrateWhenReachable } from './db/migrations.js';
import { loggerOptions } from './logger.js';

/** SIGTERM to exit, all in-flight requests included, stays under the 10 s promised. */
const SHUTDOWN_DEADLINE_MS = 9000;

function readConfig() {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    pino().fatal(`invalid configuration: ${error.message}`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const log = pino(loggerOptions(config.logLevel));
  let database: OpenedDatabase | undefined;
  let app: App | undefined;
  let stopping = false;
  const migrations = new AbortController();

  const shutdown = async (reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down');
    setTimeout(() => {
      log.error('shutdown overran its deadline; exiting now');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    migrations.abort();
    // A connection whose request was in flight when the signal came turns idle once its
    // response is out, and a keep-alive client would hold it open: close such connections
    // as they turn idle, or the server would wait for the keep-alive timeout.
    const reaper = setInterval(() => app?.server.closeIdleConnections(), 100);
    try {
      // Stops accepting, closes idle keep-alive connections, waits for in-flight requests.
      await app?.close();
      clearInterval(reaper);
      await database?.close();
    } catch (error) {
      log.error({ err: error }, 'shutdown failed');
      exitCode = 1;
    }
    log.info('stopped');
    process.exit(exitCode);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void shutdown(signal, 0));
  }
  process.on('uncaughtException', (error) => {
    log.fatal({ err: error }, 'uncaught exception');
    void shutdown('uncaught exception', 1);
  });
  process.on('unhandledRejection', (error) => {
    log.fatal({ err: error }, 'unhandled rejection');
    void shutdown('unhandled rejection', 1);
  });

  try {
    database = await openDatabase(config.database, log);
    app = await buildApp({ db: database.db, logger: log, settings: config });
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    // A configuration problem found only now (DATA_DIR unwritable, say) needs no stack.
    if (error instanceof ConfigError) log.fatal(`cannot start: ${error.message}`);
    else log.fatal({ err: error }, 'cannot start');
    await shutdown('start failed', 1);
    return;
  }

  // Listening first: /health answers while the database is still coming up, and /ready
  // and the data routes say 503 until the schema is migrated.
  const { db } = database;
  try {
    const applied = await migrateWhenReachable(db, { log, signal: migrations.signal });
    log.info({ applied, schemaVersion: db.migratedVersion }, 'ready');
  } catch (error) {
    if (stopping) return;
    log.fatal({ err: error }, 'migration failed');
    await shutdown('migration failed', 1);
  }
}

await main();
