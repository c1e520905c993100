import { configOrExit } from '@goal-tracker/server-kit';
import { pino } from 'pino';
import { loadConfig } from './config.js';
import { openDatabase } from './db/connect.js';
import { migrate } from './db/migrations.js';
import { loggerOptions } from './logger.js';

/** `npm run db:migrate`: applies pending migrations to the configured database and exits. */
const config = configOrExit(() => loadConfig());
const log = pino(loggerOptions(config.logLevel));
const opened = openDatabase(config.database, log);
const { db } = opened;
try {
  const applied = await migrate(db, { log });
  log.info({ applied, schemaVersion: db.migratedVersion }, 'database is migrated');
} catch (error) {
  log.fatal({ err: error }, 'migration failed');
  process.exitCode = 1;
} finally {
  await opened.close();
}
