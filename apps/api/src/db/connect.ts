import type { BaseLogger } from 'pino';
import type { ApiConfig } from '../config.js';
import { secretsManagerCredentials, urlCredentials } from './credentials.js';
import { Database } from './database.js';

export interface OpenedDatabase {
  db: Database;
  /** Closes the pool; a failure to close is logged, not thrown. */
  close(): Promise<void>;
}

/** The database the configuration names: DB_SECRET_ARN (Secrets Manager), else DATABASE_URL. */
export function openDatabase(config: ApiConfig['database'], log: BaseLogger): OpenedDatabase {
  const { source } = config;
  const credentials =
    source.kind === 'secret'
      ? secretsManagerCredentials(source.secretArn, source.region)
      : urlCredentials(source.url);
  const db = new Database({ ...config, credentials, log });
  return {
    db,
    async close() {
      await db
        .close()
        .catch((error: unknown) => log.warn({ err: String(error) }, 'closing the pool failed'));
    },
  };
}
