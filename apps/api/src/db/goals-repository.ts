import type { Goal } from '@goal-tracker/contract';
import type { Database, Query, Statement } from './database.js';

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
  insert(name: string): Promise<Goal>;
  insertWithKey(name: string, key: string): Promise<KeyedCreate>;
  update(id: number, changes: GoalChanges): Promise<Goal | undefined>;
  remove(id: number): Promise<boolean>;
}

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

export function goalsRepository(db: Database): GoalsRepository {
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

    async insert(name) {
      // Not idempotent: if the connection drops mid-insert the row may exist, so no retry.
      const { rows } = await db.query<Goal>(statements.insert, [name]);
      return rows[0] as Goal;
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
  };
}
