import type { Goal, GoalSummary } from '@goal-tracker/contract';
import { Batcher, type Outcome } from './batcher.js';
import type { Database, Query, Statement } from './database.js';
import { AppError, DatabaseUnavailableError } from '../errors.js';

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
    text: `SELECT ${GOAL} FROM goals WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
  },
  pageByDone: {
    name: 'goals-page-by-done',
    text: `SELECT ${GOAL} FROM goals
      WHERE account_id = $1 AND done = $4 AND id > $2 ORDER BY id LIMIT $3`,
  },
  find: {
    name: 'goals-find',
    text: `SELECT ${GOAL} FROM goals WHERE id = $1 AND account_id = $2`,
  },
  insert: {
    name: 'goals-insert',
    text: `INSERT INTO goals (account_id, goal_name) VALUES ($1, $2) RETURNING ${GOAL}`,
  },
  insertMany: {
    name: 'goals-insert-many',
    // In the order given, so ids follow the order the requests arrived in.
    text: `INSERT INTO goals (account_id, goal_name)
      SELECT account_id, name
      FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS input (account_id, name, n)
      ORDER BY n
      RETURNING ${GOAL}`,
  },
  lockAccount: {
    name: 'goals-lock-account',
    // Creates for one account wait for each other here, so each counts what the last stored.
    // NO KEY: sign-ins and other rows referring to the account are not held up.
    text: 'SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE',
  },
  count: {
    name: 'goals-count',
    text: 'SELECT count(*)::int AS count FROM goals WHERE account_id = $1',
  },
  summary: {
    name: 'goals-summary',
    text: `SELECT count(*)::int AS total, count(*) FILTER (WHERE done)::int AS done,
      count(*) FILTER (WHERE NOT done)::int AS active FROM goals WHERE account_id = $1`,
  },
  update: {
    name: 'goals-update',
    text: `UPDATE goals
      SET goal_name = COALESCE($3, goal_name), done = COALESCE($4, done), updated_at = now()
      WHERE id = $1 AND account_id = $2 RETURNING ${GOAL}`,
  },
  remove: {
    name: 'goals-delete',
    text: 'DELETE FROM goals WHERE id = $1 AND account_id = $2',
  },
  claimKey: {
    name: 'idempotency-claim',
    // Waits for a concurrent request holding the same key to finish, then yields no row.
    text: `INSERT INTO idempotency_keys (account_id, key, request_name) VALUES ($1, $2, $3)
      ON CONFLICT (account_id, key) DO NOTHING RETURNING key`,
  },
  bindKey: {
    name: 'idempotency-bind',
    text: 'UPDATE idempotency_keys SET goal_id = $3 WHERE account_id = $1 AND key = $2',
  },
  findByKey: {
    name: 'idempotency-find',
    text: `SELECT k.request_name AS "requestName", g.id, g.goal_name AS name, g.done,
      to_char(g.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
      to_char(g.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "updatedAt"
      FROM idempotency_keys k LEFT JOIN goals g ON g.id = k.goal_id
      WHERE k.account_id = $1 AND k.key = $2`,
  },
  pruneKeys: {
    name: 'idempotency-prune',
    // A bounded batch per statement (walking the created_at index), skipping rows a
    // concurrent request or another instance's pruning holds, so it never waits on them.
    text: `DELETE FROM idempotency_keys WHERE (account_id, key) IN (
      SELECT account_id, key FROM idempotency_keys
      WHERE created_at < now() - make_interval(secs => $1)
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

/** Every call acts within one account's goals: another account's goal is as if missing. */
export interface GoalsRepository {
  /** Up to `limit` goals with id > `after`, in id order, optionally only done or not done. */
  findPage(
    accountId: number,
    after: number,
    limit: number,
    done: boolean | undefined,
  ): Promise<Goal[]>;
  find(accountId: number, id: number): Promise<Goal | undefined>;
  summary(accountId: number): Promise<GoalSummary>;
  /** Creates a goal; without a cap on goals, creates arriving together share one INSERT. */
  insert(accountId: number, name: string): Promise<Goal>;
  insertWithKey(accountId: number, name: string, key: string): Promise<KeyedCreate>;
  update(accountId: number, id: number, changes: GoalChanges): Promise<Goal | undefined>;
  remove(accountId: number, id: number): Promise<boolean>;
  /** Deletes Idempotency-Keys older than `maxAgeSeconds`; says how many. */
  pruneIdempotencyKeys(maxAgeSeconds: number): Promise<number>;
}

export interface GoalsRepositoryOptions {
  /** Most goals one account may hold; 0 for no cap. */
  goalsPerAccount?: number;
  /** Most creates in one INSERT. */
  maxInsertBatch?: number;
  /** Most INSERTs of creates running at once; creates arriving meanwhile wait for the next. */
  maxInsertsInFlight?: number;
  /** Told the size of each INSERT of creates (for metrics). */
  onInsertBatch?: (size: number) => void;
}

export class GoalLimitError extends AppError {
  constructor(limit: number) {
    super(
      409,
      'Conflict',
      `An account can hold at most ${limit} goals. Delete some to make room for new ones.`,
    );
  }
}

const PRUNE_BATCH = 5000;

interface NewGoal {
  accountId: number;
  name: string;
}

/** Inserts one goal; with a cap, only after counting the account's goals under its lock. */
async function insertCapped(query: Query, { accountId, name }: NewGoal, cap: number) {
  if (cap > 0) {
    await query(statements.lockAccount, [accountId]);
    const { rows } = await query<{ count: number }>(statements.count, [accountId]);
    if ((rows[0]?.count ?? 0) >= cap) throw new GoalLimitError(cap);
  }
  const { rows } = await query<Goal>(statements.insert, [accountId, name]);
  return rows[0] as Goal;
}

async function claimOrFind(
  query: Query,
  { accountId, name }: NewGoal,
  key: string,
  cap: number,
): Promise<KeyedCreate> {
  const claimed = await query(statements.claimKey, [accountId, key, name]);
  if (claimed.rowCount === 1) {
    const goal = await insertCapped(query, { accountId, name }, cap);
    await query(statements.bindKey, [accountId, key, goal.id]);
    return { outcome: 'created', goal };
  }
  const { rows } = await query<KeyRow>(statements.findByKey, [accountId, key]);
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
 * out of reach, each goal is inserted alone, so only a request at fault fails. Nothing is
 * ever sent again after a lost connection: the INSERT may have landed.
 */
function insertBatches(db: Database, options: GoalsRepositoryOptions): Batcher<NewGoal, Goal> {
  const insertOne = async ({ accountId, name }: NewGoal) =>
    (await db.query<Goal>(statements.insert, [accountId, name])).rows[0] as Goal;
  return new Batcher<NewGoal, Goal>(
    async (goals) => {
      options.onInsertBatch?.(goals.length);
      if (goals.length === 1) return [await settle(insertOne(goals[0] as NewGoal))];
      let rows: Goal[];
      try {
        rows = (
          await db.query<Goal>(statements.insertMany, [
            goals.map((goal) => goal.accountId),
            goals.map((goal) => goal.name),
          ])
        ).rows;
      } catch (error) {
        if (error instanceof DatabaseUnavailableError) throw error;
        return Promise.all(goals.map((goal) => settle(insertOne(goal))));
      }
      // The ids were drawn in input order, so in id order the rows match the requests by
      // position, whatever order RETURNING gave them in and whatever the names became.
      rows.sort((a, b) => a.id - b.id);
      return goals.map((_goal, index): Outcome<Goal> => {
        const row = rows[index];
        return row && rows.length === goals.length
          ? { ok: true, value: row }
          : { ok: false, error: new Error('the INSERT returned a row count unlike the input') };
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
  const cap = options.goalsPerAccount ?? 0;
  const inserts = insertBatches(db, options);
  return {
    async findPage(accountId, after, limit, done) {
      const { rows } =
        done === undefined
          ? await db.query<Goal>(statements.page, [accountId, after, limit], { idempotent: true })
          : await db.query<Goal>(statements.pageByDone, [accountId, after, limit, done], {
              idempotent: true,
            });
      return rows;
    },

    async find(accountId, id) {
      const { rows } = await db.query<Goal>(statements.find, [id, accountId], {
        idempotent: true,
      });
      return rows[0];
    },

    async summary(accountId) {
      const { rows } = await db.query<GoalSummary>(statements.summary, [accountId], {
        idempotent: true,
      });
      return rows[0] as GoalSummary;
    },

    insert(accountId, name) {
      // Not idempotent: if the connection drops mid-insert the rows may exist, so no retry.
      if (cap === 0) return inserts.submit({ accountId, name });
      return db.transaction((query) => insertCapped(query, { accountId, name }, cap));
    },

    insertWithKey(accountId, name, key) {
      // The key makes a repeat harmless, so a lost connection is retried here.
      return db.transaction((query) => claimOrFind(query, { accountId, name }, key, cap), {
        idempotent: true,
      });
    },

    async update(accountId, id, changes) {
      const { rows } = await db.query<Goal>(
        statements.update,
        [id, accountId, changes.name ?? null, changes.done ?? null],
        { idempotent: true },
      );
      return rows[0];
    },

    async remove(accountId, id) {
      const { rowCount } = await db.query(statements.remove, [id, accountId], {
        idempotent: true,
      });
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
