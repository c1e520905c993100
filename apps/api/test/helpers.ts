import { pino, type Logger } from 'pino';
import { buildApp, type App, type AppTuning } from '../src/app.js';
import { urlCredentials } from '../src/db/credentials.js';
import { Database, type DatabaseOptions } from '../src/db/database.js';
import { migrate } from '../src/db/migrations.js';
import { ReadCache } from '../src/services/read-cache.js';

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
  /** The app's list and summary cache. */
  cache: ReadCache;
  close(): Promise<void>;
}

/** The API over a migrated database at `url`, ready for app.inject(). */
export async function createTestApi(
  url: string,
  overrides: PoolOverrides = {},
  tuning: AppTuning = {},
): Promise<TestApi> {
  const db = testDatabase(url, overrides);
  await migrate(db, { log: silentLog });
  const cache = new ReadCache();
  const app = await buildApp({ db, tuning, cache });
  return {
    app,
    db,
    cache,
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

/** PATCH /goals/{id} with a JSON body. */
export function patchGoal(app: App, id: number | undefined, payload: Record<string, unknown>) {
  return app.inject({ method: 'PATCH', url: `/goals/${id}`, headers: json, payload });
}

/**
 * Empties the tables between tests that share one database, and restarts the ids. The rows
 * change behind the API's back (no NOTIFY), so its cache is dropped here.
 */
export async function resetData(api: TestApi): Promise<void> {
  await api.db.session((query) => query('TRUNCATE goals, idempotency_keys RESTART IDENTITY'));
  api.cache.invalidate();
}

/** How many goals the database holds, read outside the API. */
export async function countGoals(db: Database): Promise<number> {
  return db.session(async (query) => {
    const { rows } = await query<{ count: number }>('SELECT count(*)::int AS count FROM goals');
    return rows[0]?.count ?? -1;
  });
}
