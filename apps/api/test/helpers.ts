import { pino, type Logger } from 'pino';
import { buildApp, type App } from '../src/app.js';
import { urlCredentials } from '../src/db/credentials.js';
import { Database, type DatabaseOptions } from '../src/db/database.js';
import { migrate } from '../src/db/migrations.js';

export const silentLog: Logger = pino({ level: 'silent' });

export type PoolOverrides = Partial<Omit<DatabaseOptions, 'credentials' | 'log'>>;

export function testDatabase(url: string, overrides: PoolOverrides = {}): Database {
  return new Database({
    credentials: urlCredentials(url),
    poolMax: 10,
    connectTimeoutMs: 1000,
    statementTimeoutMs: 5000,
    log: silentLog,
    ...overrides,
  });
}

export interface TestApi {
  app: App;
  db: Database;
  close(): Promise<void>;
}

/** The API over a migrated database at `url`, ready for app.inject(). */
export async function createTestApi(url: string, overrides: PoolOverrides = {}): Promise<TestApi> {
  const db = testDatabase(url, overrides);
  await migrate(db, { log: silentLog });
  const app = await buildApp({ db });
  return {
    app,
    db,
    async close() {
      await app.close();
      await db.close();
    },
  };
}

export const json = { 'content-type': 'application/json' };

/** POST /goals with a JSON body `{ name }`. */
export function postGoal(app: App, name: unknown, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/goals',
    headers: { ...json, ...headers },
    payload: { name },
  });
}

/** Empties the tables between tests that share one database, and restarts the ids. */
export async function resetData(db: Database): Promise<void> {
  await db.session((query) => query('TRUNCATE goals, idempotency_keys RESTART IDENTITY'));
}

/** How many goals the database holds, read outside the API. */
export async function countGoals(db: Database): Promise<number> {
  return db.session(async (query) => {
    const { rows } = await query<{ count: number }>('SELECT count(*)::int AS count FROM goals');
    return rows[0]?.count ?? -1;
  });
}
