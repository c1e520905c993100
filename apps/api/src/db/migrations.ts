import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BaseLogger } from 'pino';
import { DatabaseUnavailableError } from '../errors.js';
import { MIGRATIONS_DIR } from '../paths.js';
import type { Database, SessionQuery } from './database.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
  /**
   * Whether the file runs in one transaction (the default) or, when its first line is
   * `-- migrate: no-transaction`, statement by statement: what must not run inside a
   * transaction (CREATE INDEX CONCURRENTLY, a DO block that commits in batches) goes there.
   */
  transactional: boolean;
}

const NO_TRANSACTION = /^--\s*migrate:\s*no-transaction\s*$/m;

/**
 * A file's statements, each ending with a semicolon at the end of a line, outside a
 * dollar-quoted body; comment-only pieces are left out.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  let inDollarQuote = false;
  for (const line of sql.split('\n')) {
    current.push(line);
    if ((line.match(/\$\$/g)?.length ?? 0) % 2 === 1) inDollarQuote = !inDollarQuote;
    if (!inDollarQuote && /;\s*$/.test(line)) {
      statements.push(current.join('\n'));
      current = [];
    }
  }
  statements.push(current.join('\n'));
  return statements.filter((statement) =>
    statement.split('\n').some((line) => line.trim() !== '' && !line.trim().startsWith('--')),
  );
}

/** Any constant works; it only has to be the same in every instance of the API. */
const MIGRATION_LOCK_KEY = 4_741_203_007;
const FILE_NAME = /^(\d+)_([a-z0-9_-]+)\.sql$/;

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** The numbered `NNN_name.sql` files, in order. */
export async function readMigrations(directory = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(directory)).filter((file) => file.endsWith('.sql'));
  const migrations = await Promise.all(
    files.map(async (file) => {
      const match = FILE_NAME.exec(file);
      if (!match?.[1] || !match[2]) {
        throw new MigrationError(`migration file name ${file} is not NNN_name.sql`);
      }
      const sql = await readFile(join(directory, file), 'utf8');
      return {
        version: Number(match[1]),
        name: match[2],
        sql,
        transactional: !NO_TRANSACTION.test(sql.split('\n', 1)[0] ?? ''),
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    }),
  );
  migrations.sort((a, b) => a.version - b.version);
  migrations.forEach((migration, index) => {
    if (migration.version === migrations[index - 1]?.version) {
      throw new MigrationError(`two migrations have version ${migration.version}`);
    }
  });
  return migrations;
}

export interface MigrateOptions {
  log: BaseLogger;
  directory?: string;
}

const LOCK_POLL_MS = 100;

/**
 * Takes the migration lock, asking again until it is free rather than waiting inside one
 * statement: a waiting statement holds a snapshot, and CREATE INDEX CONCURRENTLY in the
 * migration being applied would wait for that snapshot while it waits for the lock.
 */
async function waitForLock(query: SessionQuery): Promise<void> {
  for (;;) {
    const { rows } = await query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
      MIGRATION_LOCK_KEY,
    ]);
    if (rows[0]?.locked) return;
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
}

/**
 * Applies the migrations not yet applied, each in its own transaction, while holding a
 * PostgreSQL advisory lock: API instances starting together wait for one another, and each
 * migration runs exactly once. Returns the versions this call applied.
 */
export async function migrate(db: Database, options: MigrateOptions): Promise<number[]> {
  const { log } = options;
  const migrations = await readMigrations(options.directory);
  const applied = await db.session(async (query) => {
    await waitForLock(query);
    try {
      await query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        checksum TEXT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
      const { rows } = await query<{ version: number; checksum: string }>(
        'SELECT version, checksum FROM schema_migrations',
      );
      const done = new Map(rows.map((row) => [row.version, row.checksum]));
      const appliedNow: number[] = [];
      for (const migration of migrations) {
        const checksum = done.get(migration.version);
        if (checksum !== undefined) {
          if (checksum !== migration.checksum) {
            log.warn(
              { version: migration.version },
              'an applied migration file has changed since; add a new migration instead',
            );
          }
          continue;
        }
        const record = () =>
          query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
            migration.version,
            migration.name,
            migration.checksum,
          ]);
        if (migration.transactional) {
          await query('BEGIN');
          try {
            await query(migration.sql);
            await record();
            await query('COMMIT');
          } catch (error) {
            await query('ROLLBACK').catch(() => undefined);
            throw error;
          }
        } else {
          // Each statement can run again, so a run cut short is finished by the next start.
          for (const statement of splitStatements(migration.sql)) await query(statement);
          await record();
        }
        log.info({ version: migration.version, name: migration.name }, 'migration applied');
        appliedNow.push(migration.version);
      }
      return appliedNow;
    } finally {
      await query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    }
  });
  db.markMigrated(migrations.at(-1)?.version ?? 0);
  return applied;
}

/**
 * migrate(), retried while the database is out of reach (an instance may boot before the
 * database does). A migration that fails for any other reason is fatal.
 */
export async function migrateWhenReachable(
  db: Database,
  options: MigrateOptions & { signal?: AbortSignal },
): Promise<number[]> {
  let delayMs = 250;
  for (;;) {
    try {
      return await migrate(db, options);
    } catch (error) {
      if (!(error instanceof DatabaseUnavailableError) || options.signal?.aborted) throw error;
      options.log.warn(
        { retryInMs: delayMs },
        'database unreachable; will migrate once it answers',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    delayMs = Math.min(delayMs * 2, 5000);
  }
}
