import { ConfigError, configOrExit, handleShutdown } from '@goal-tracker/server-kit';
import { pino } from 'pino';
import { buildApp, type App } from './app.js';
import { loadConfig } from './config.js';
import { openDatabase, type OpenedDatabase } from './db/connect.js';
import { migrateWhenReachable } from './db/migrations.js';
import { loggerOptions } from './logger.js';

async function main(): Promise<void> {
  const config = configOrExit(() => loadConfig());
  const log = pino(loggerOptions(config.logLevel));
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

  try {
    database = openDatabase(config.database, log);
    app = await buildApp({ db: database.db, logger: log, settings: config });
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    // A configuration problem found only now (an unreadable secret, say) needs no stack.
    if (error instanceof ConfigError) log.fatal(`cannot start: ${error.message}`);
    else log.fatal({ err: error }, 'cannot start');
    shutdown.fail('start failed');
    return;
  }

  // Listening first: /health answers while the database is still coming up, and /ready
  // and the data routes say 503 until the schema is migrated.
  const { db } = database;
  try {
    const applied = await migrateWhenReachable(db, { log, signal: migrations.signal });
    log.info({ applied, schemaVersion: db.migratedVersion }, 'ready');
  } catch (error) {
    if (shutdown.stopping) return;
    log.fatal({ err: error }, 'migration failed');
    shutdown.fail('migration failed');
  }
}

await main();
