import type { Goal, GoalSummary } from '@goal-tracker/contract';
import { Batcher, type Outcome } from './batcher.js';
import type { Database, Query, Statement } from './database.js';
import { DatabaseUnavailableError } from '../errors.js';

/**
 * Columns shaped as the contract's Goal, so rows go to the client as they come: PostgreSQL
 * formats the timestamps (ISO-8601, UTC, milliseconds) and no Date is built per row.
 */
const GOAL = `id, goal_name AS name, done,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "updatedAt"`;

const statements = {
  page: {
    name: 'goals-page',
    text: `SELECT ${GOAL} FROM goals WHERE id > $1 ORDER BY id LIMIT $2`,
  },
  pageByDone: {
    name: 'goals-page-by-done',
    text: `SELECT ${GOAL} FROM goals WHERE done = $3 AND id > $1 ORDER BY id LIMIT $2`,
  },
  find: { name: 'goals-find', text: `SELECT ${GOAL} FROM goals WHERE id = $1` },
  insert: {
    name: 'goals-insert',
    text: `INSERT INTO goals (goal_name) VALUES ($1) RETURNING ${GOAL}`,
  },
  insertMany: {
    name: 'goals-insert-many',
    // In the order given, so ids follow the order the requests arrived in.
    text: `INSERT INTO goals (goal_name)
      SELECT name FROM unnest($1::text[]) WITH ORDINALITY AS input (name, n) ORDER BY n
      RETURNING ${GOAL}`,
  },
  summary: {
    name: 'goals-summary',
    text: `SELECT count(*)::int AS total, count(*) FILTER (WHERE done)::int AS done,
      count(*) FILTER (WHERE NOT done)::int AS active FROM goals`,
  },
  update: {
    name: 'goals-update',
    text: `UPDATE goals
      SET goal_name = COALESCE($2, goal_name), done = COALESCE($3, done), updated_at = now()
      WHERE id = $1 RETURNING ${GOAL}`,
  },
  remove: { name: 'goals-delete', text: 'DELETE FROM goals WHERE id = $1' },
  claimKey: {
    name: 'idempotency-claim',
    // Waits for a concurrent request holding the same key to finish, then yields no row.
    text: `INSERT INTO idempotency_keys (key, request_name) VALUES ($1, $2)
      ON CONFLICT (key) DO NOTHING RETURNING key`,
  },
  bindKey: {
    name: 'idempotency-bind',
    text: 'UPDATE idempotency_keys SET goal_id = $2 WHERE key = $1',
  },
  findByKey: {
    name: 'idempotency-find',
    text: `SELECT k.request_name AS "requestName", g.id, g.goal_name AS name, g.done,
      to_char(g.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
      to_char(g.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "updatedAt"
      FROM idempotency_keys k LEFT JOIN goals g ON g.id = k.goal_id WHERE k.key = $1`,
  },
  pruneKeys: {
    name: 'idempotency-prune',
    // A bounded batch per statement (walking the created_at index), skipping rows a
    // concurrent request or another instance's pruning holds, so it never waits on them.
    text: `DELETE FROM idempotency_keys WHERE key IN (
      SELECT key FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)
      ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
  },
} satisfies Record<string, Statement>;

export interface GoalChanges {
  name?: string | undefined;
  done?: boolean | undefined;
}

/** What an Idempotency-Key create found: a new goal, or what the key already points at. */
export type KeyedCreate =
  | { outcome: 'created'; goal: Goal }
  | { outcome: 'replayed'; goal: Goal; requestName: string }
  /** The key was used, but the goal it made has since been deleted. */
  | { outcome: 'gone'; requestName: string };

type KeyRow = { requestName: string } & (({ id: number } & Goal) | { id: null });

export interface GoalsRepository {
  /** Up to `limit` goals with id > `after`, in id order, optionally only done or not done. */
  findPage(after: number, limit: number, done: boolean | undefined): Promise<Goal[]>;
  find(id: number): Promise<Goal | undefined>;
  summary(): Promise<GoalSummary>;
  /** Creates a goal; creates arriving together share one INSERT. */
  insert(name: string): Promise<Goal>;
  insertWithKey(name: string, key: string): Promise<KeyedCreate>;
  update(id: number, changes: GoalChanges): Promise<Goal | undefined>;
  remove(id: number): Promise<boolean>;
  /** Deletes Idempotency-Keys older than `maxAgeSeconds`; says how many. */
  pruneIdempotencyKeys(maxAgeSeconds: number): Promise<number>;
}

export interface GoalsRepositoryOptions {
  /** Most creates in one INSERT. */
  maxInsertBatch?: number;
  /** Most INSERTs of creates running at once; creates arriving meanwhile wait for the next. */
  maxInsertsInFlight?: number;
  /** Told the size of each INSERT of creates (for metrics). */
  onInsertBatch?: (size: number) => void;
}

const PRUNE_BATCH = 5000;

async function claimOrFind(query: Query, name: string, key: string): Promise<KeyedCreate> {
  const claimed = await query(statements.claimKey, [key, name]);
  if (claimed.rowCount === 1) {
    const { rows } = await query<Goal>(statements.insert, [name]);
    const goal = rows[0] as Goal;
    await query(statements.bindKey, [key, goal.id]);
    return { outcome: 'created', goal };
  }
  const { rows } = await query<KeyRow>(statements.findByKey, [key]);
  const row = rows[0] as KeyRow;
  if (row.id === null) return { outcome: 'gone', requestName: row.requestName };
  const { requestName, ...goal } = row;
  return { outcome: 'replayed', goal, requestName };
}

async function settle<T>(work: Promise<T>): Promise<Outcome<T>> {
  return work.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/**
 * Creates that arrive together go into one multi-row INSERT: one statement and one commit
 * (one WAL flush) for many requests. Each request still gets its own row, acknowledged only
 * once that INSERT committed. If the INSERT fails for a reason other than the database being
 * out of reach, each name is inserted alone, so only a request at fault fails. Nothing is
 * ever sent again after a lost connection: the INSERT may have landed.
 */
function insertBatches(db: Database, options: GoalsRepositoryOptions): Batcher<string, Goal> {
  const insertOne = async (name: string) =>
    (await db.query<Goal>(statements.insert, [name])).rows[0] as Goal;
  return new Batcher<string, Goal>(
    async (names) => {
      options.onInsertBatch?.(names.length);
      if (names.length === 1) return [await settle(insertOne(names[0] as string))];
      let rows: Goal[];
      try {
        rows = (await db.query<Goal>(statements.insertMany, [names])).rows;
      } catch (error) {
        if (error instanceof DatabaseUnavailableError) throw error;
        return Promise.all(names.map((name) => settle(insertOne(name))));
      }
      // Rows are matched to requests by name, so the answer never depends on RETURNING's
      // order; requests with equal names get distinct rows with that name.
      const byName = new Map<string, Goal[]>();
      for (const row of rows) {
        const alike = byName.get(row.name);
        if (alike) alike.push(row);
        else byName.set(row.name, [row]);
      }
      return names.map((name): Outcome<Goal> => {
        const goal = byName.get(name)?.shift();
        return goal
          ? { ok: true, value: goal }
          : { ok: false, error: new Error('the INSERT returned no row for a name') };
      });
    },
    {
      maxBatch: options.maxInsertBatch ?? 64,
      maxInFlight: options.maxInsertsInFlight ?? 2,
      maxWaitMs: db.connectTimeoutMs,
      expired: () => new DatabaseUnavailableError(),
    },
  );
}

export function goalsRepository(
  db: Database,
  options: GoalsRepositoryOptions = {},
): GoalsRepository {
  const inserts = insertBatches(db, options);
  return {
    async findPage(after, limit, done) {
      const { rows } =
        done === undefined
          ? await db.query<Goal>(statements.page, [after, limit], { idempotent: true })
          : await db.query<Goal>(statements.pageByDone, [after, limit, done], { idempotent: true });
      return rows;
    },

    async find(id) {
      const { rows } = await db.query<Goal>(statements.find, [id], { idempotent: true });
      return rows[0];
    },

    async summary() {
      const { rows } = await db.query<GoalSummary>(statements.summary, [], { idempotent: true });
      return rows[0] as GoalSummary;
    },

    insert(name) {
      // Not idempotent: if the connection drops mid-insert the rows may exist, so no retry.
      return inserts.submit(name);
    },

    insertWithKey(name, key) {
      // The key makes a repeat harmless, so a lost connection is retried here.
      return db.transaction((query) => claimOrFind(query, name, key), { idempotent: true });
    },

    async update(id, changes) {
      const { rows } = await db.query<Goal>(
        statements.update,
        [id, changes.name ?? null, changes.done ?? null],
        { idempotent: true },
      );
      return rows[0];
    },

    async remove(id) {
      const { rowCount } = await db.query(statements.remove, [id], { idempotent: true });
      return rowCount > 0;
    },

    async pruneIdempotencyKeys(maxAgeSeconds) {
      let pruned = 0;
      for (;;) {
        const { rowCount } = await db.query(statements.pruneKeys, [maxAgeSeconds, PRUNE_BATCH], {
          idempotent: true,
        });
        pruned += rowCount;
        if (rowCount < PRUNE_BATCH) return pruned;
      }
    },
  };
}
