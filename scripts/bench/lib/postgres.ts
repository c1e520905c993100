import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startPostgres, type PostgresServer } from '@goal-tracker/test-postgres';

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

/** Runs `work` with one connected client and always closes it. */
export async function withClient<T>(
  url: string,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Tops the goals table up to `total` rows with one INSERT ... SELECT (the API's migrations
 * must have created it), then refreshes planner statistics so plans match a real table.
 */
export async function seedGoals(url: string, total: number): Promise<number> {
  return withClient(url, async (client) => {
    const result = await client.query<{ count: string }>('SELECT count(*) AS count FROM goals');
    const existing = Number(result.rows[0]?.count ?? 0);
    if (existing < total) {
      await client.query(
        `INSERT INTO goals (goal_name, done)
         SELECT 'Seeded goal ' || n, n % 3 = 0 FROM generate_series($1::int, $2::int) AS n`,
        [existing + 1, total],
      );
    }
    await client.query('VACUUM ANALYZE goals');
    return Math.max(existing, total);
  });
}

/** Highest goal id, so loads can pick ids that exist. */
export async function maxGoalId(url: string): Promise<number> {
  return withClient(url, async (client) => {
    const result = await client.query<{ max: number | null }>('SELECT max(id) AS max FROM goals');
    return result.rows[0]?.max ?? 0;
  });
}
