import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type PostgresServer } from '@goal-tracker/test-support/postgres';
import { withClient } from '@goal-tracker/test-support/with-client';

export interface BenchDatabaseOptions {
  /** PostgreSQL's synchronous_commit: `on` (durable, the default) or `off`. */
  synchronousCommit?: string;
  settings?: Record<string, string>;
}

export interface BenchDatabase {
  readonly server: PostgresServer;
  /** URL of the database the API under test uses. */
  readonly url: string;
  readonly settings: Record<string, string>;
  dispose(): Promise<void>;
}

/** A throwaway PostgreSQL 15 cluster with one empty database for the API under test. */
export async function startBenchDatabase(
  options: BenchDatabaseOptions = {},
): Promise<BenchDatabase> {
  const settings = {
    synchronous_commit: options.synchronousCommit ?? 'on',
    // pgbench's 32 clients and two API pools at once stay well inside this.
    max_connections: '200',
    ...options.settings,
  };
  const server = await startPostgres({ settings });
  try {
    const url = await server.createDatabase('goals');
    return { server, url, settings, dispose: () => server.dispose() };
  } catch (error) {
    await server.dispose();
    throw error;
  }
}

/** PID of the cluster's postmaster, the parent of every backend. */
export function postmasterPid(database: BenchDatabase): number {
  return Number(
    readFileSync(join(database.server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0],
  );
}

/**
 * Tops the goals of these accounts up to `total` in all (the API's migrations must have made
 * the tables), then refreshes planner statistics so plans match a real table. The ids are
 * drawn here so that a seeded goal with id i belongs to `accountIds[(i - 1) % n]`: a load can
 * pick a goal and the account that may see it without asking the database.
 */
export async function seedGoals(
  url: string,
  accountIds: readonly number[],
  total: number,
): Promise<number> {
  if (accountIds.length === 0) throw new Error('seedGoals: goals need an account to belong to');
  return withClient(url, async (client) => {
    const result = await client.query<{ count: string }>(
      'SELECT count(*) AS count FROM goals WHERE account_id = ANY($1::bigint[])',
      [accountIds],
    );
    const existing = Number(result.rows[0]?.count ?? 0);
    if (existing < total) {
      await client.query(
        `INSERT INTO goals (id, account_id, goal_name, done)
         SELECT id, ($1::bigint[])[(id - 1) % cardinality($1::bigint[]) + 1],
           'Seeded goal ' || id, id % 3 = 0
         FROM (SELECT nextval(pg_get_serial_sequence('goals', 'id')) AS id
           FROM generate_series(1, $2::int)) AS drawn`,
        [accountIds, total - existing],
      );
    }
    await client.query('VACUUM ANALYZE goals');
    return Math.max(existing, total);
  });
}

/** Highest goal id, so loads can pick ids that exist. */
export async function maxGoalId(url: string): Promise<number> {
  return withClient(url, async (client) => {
    const result = await client.query<{ max: string | null }>('SELECT max(id) AS max FROM goals');
    return Number(result.rows[0]?.max ?? 0);
  });
}

/**
 * Session lookups the API has made in the database: each is an UPDATE of a `sessions` row
 * (`useSession` in apps/api/src/accounts/accounts-repository.ts). A backend publishes its
 * counts when it has idled a while or exits, so read this once the API's connections have
 * closed, or before they touched `sessions`; it waits for the count to stop moving.
 */
export async function sessionLookups(url: string): Promise<number> {
  return withClient(url, async (client) => {
    const read = async () => {
      const result = await client.query<{ updates: string | null }>(
        `SELECT n_tup_upd AS updates FROM pg_stat_user_tables WHERE relname = 'sessions'`,
      );
      return Number(result.rows[0]?.updates ?? 0);
    };
    let count = await read();
    for (let settled = false, tries = 0; !settled && tries < 15; tries += 1) {
      await new Promise((done) => setTimeout(done, 200));
      const again = await read();
      settled = again === count;
      count = again;
    }
    return count;
  });
}
