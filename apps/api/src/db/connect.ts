import type { BaseLogger } from 'pino';
import type { ApiConfig } from '../config.js';
import { secretsManagerCredentials, urlCredentials } from './credentials.js';
import { Database, type CredentialsSource } from './database.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js';

export interface OpenedDatabase {
  db: Database;
  /** The embedded server, when this process started (or adopted) one. */
  embedded: EmbeddedPostgres | undefined;
  /** Closes the pool, then stops the embedded server if there is one. */
  close(): Promise<void>;
}

/**
 * The database the configuration names: DB_SECRET_ARN (Secrets Manager), else
 * DATABASE_URL, else the embedded PostgreSQL in DATA_DIR, started here.
 */
export async function openDatabase(
  config: ApiConfig['database'],
  log: BaseLogger,
): Promise<OpenedDatabase> {
  const { source } = config;
  let embedded: EmbeddedPostgres | undefined;
  let credentials: CredentialsSource;
  switch (source.kind) {
    case 'secret':
      credentials = secretsManagerCredentials(source.secretArn, source.region);
      break;
    case 'url':
      credentials = urlCredentials(source.url);
      break;
    case 'embedded':
      embedded = await startEmbeddedPostgres({ dataDir: source.dataDir, log });
      credentials = urlCredentials(embedded.url);
      break;
  }
  const db = new Database({ ...config, credentials, log });
  return {
    db,
    embedded,
    async close() {
      await db
        .close()
        .catch((error: unknown) => log.warn({ err: String(error) }, 'closing the pool failed'));
      await embedded?.stop();
    },
  };
}
