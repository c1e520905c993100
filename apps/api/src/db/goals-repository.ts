import type { Goal, GoalSummary } from '@goal-tracker/contract';
import { Batcher, type Outcome } from './batcher.js';
import type { Database, Query, Statement } from './database.js';
import { isoTimestamp } from './iso-timestamp.js';
import { AppError, DatabaseUnavailableError } from '../errors.js';

/** Columns shaped as the contract's Goal, so rows go to the client as they come. */
const goalColumns = (table = '') => `${table}id, ${table}goal_name AS name, ${table}done,
  ${isoTimestamp(`${table}created_at`)} AS "createdAt",
  ${isoTimestamp(`${table}updated_at`)} AS "updatedAt",
  to_char(${table}target_date, 'YYYY-MM-DD') AS "targetDate",
  ${isoTimestamp(`${table}done_at`)} AS "doneAt",
  ${table}version`;
const GOAL = goalColumns();

/**
 * A page in the account's order, top first, after the goal at ($2 position, $3 id): ascending
 * position, and on a tie (two creates at once) the newer goal first. Positions go out as text:
 * they are bigints, and may pass 2^53.
 */
const pageAfter = (condition: string) => `SELECT ${GOAL}, position::text AS "cursorPosition"
  FROM goals
  WHERE account_id = $1 AND deleted_at IS NULL ${condition}
    AND position >= $2::bigint AND (position > $2::bigint OR id < $3)
  ORDER BY position, id DESC LIMIT $4`;

/** Neighbours of a move, as text: the goal that ends up above the moved one, and below it. */
const neighbour = (where: string, order: string) => `(SELECT g.position::text FROM goals g
  WHERE g.account_id = $1 AND g.deleted_at IS NULL AND g.id <> $2 AND ${where}
  ORDER BY ${order} LIMIT 1)`;

/**
 * The room a new goal leaves above the top one, and renumbering leaves between neighbours:
 * 2^16, so a spot can be split 16 times before its neighbours are renumbered, and -id × gap
 * (migration 008) stays far inside a bigint.
 */
export const POSITION_GAP = 65536n;

const statements = {
  page: { name: 'goals-page', text: pageAfter('') },
  pageByDone: { name: 'goals-page-by-done', text: pageAfter('AND done = $5') },
  pageOverdue: {
    name: 'goals-page-overdue',
    text: pageAfter('AND NOT done AND target_date < $5::date'),
  },
  placeOf: {
    name: 'goals-place-of',
    // Deleted goals keep their place, so a page can still follow one deleted meanwhile.
    text: 'SELECT position::text AS position, id FROM goals WHERE id = $2 AND account_id = $1',
  },
  find: {
    name: 'goals-find',
    text: `SELECT ${GOAL} FROM goals WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL`,
  },
  insert: {
    name: 'goals-insert',
    // The position comes from the goals_top_position trigger: on top of the account's list.
    text: `INSERT INTO goals (account_id, goal_name, target_date) VALUES ($1, $2, $3::date)
      RETURNING ${GOAL}`,
  },
  insertMany: {
    name: 'goals-insert-many',
    // In the order given, so ids follow the order the requests arrived in, and the trigger
    // puts each goal above the one before it.
    text: `INSERT INTO goals (account_id, goal_name, target_date)
      SELECT account_id, name, target_date
      FROM unnest($1::bigint[], $2::text[], $3::date[])
        WITH ORDINALITY AS input (account_id, name, target_date, n)
      ORDER BY n
      RETURNING ${GOAL}`,
  },
  lockAccount: {
    name: 'goals-lock-account',
    // Creates for one account wait for each other here, so each counts what the last stored;
    // moves too, so each reads the neighbours the last one left. NO KEY: sign-ins and other
    // rows referring to the account are not held up.
    text: 'SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE',
  },
  count: {
    name: 'goals-count',
    text: 'SELECT count(*)::int AS count FROM goals WHERE account_id = $1 AND deleted_at IS NULL',
  },
  summary: {
    name: 'goals-summary',
    text: `SELECT count(*)::int AS total, count(*) FILTER (WHERE done)::int AS done,
      count(*) FILTER (WHERE NOT done)::int AS active,
      count(*) FILTER (WHERE NOT done AND target_date < $2::date)::int AS overdue
      FROM goals WHERE account_id = $1 AND deleted_at IS NULL`,
  },
  update: {
    name: 'goals-update',
    // $3 name, $4 done, $5 whether targetDate was given, $6 targetDate, $7 doneAt, $8 the
    // version If-Match names. A change that is already in place is answered as done, even
    // against an old version (RFC 9110 13.1.1), and counts as no change: a PATCH sent twice
    // (a retry after a lost answer) neither fails nor moves the version on.
    text: `WITH current AS (
        SELECT id, goal_name, done, target_date, done_at FROM goals
        WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL FOR NO KEY UPDATE
      ), wanted AS (
        SELECT id AS goal_id,
          COALESCE($3::varchar, goal_name) AS new_name,
          COALESCE($4::boolean, done) AS new_done,
          CASE WHEN $5::boolean THEN $6::date ELSE target_date END AS new_target_date,
          CASE WHEN $4::boolean IS FALSE THEN NULL
            WHEN $7::timestamptz IS NOT NULL THEN $7::timestamptz
            WHEN $4::boolean AND NOT done THEN now()
            ELSE done_at END AS new_done_at,
          goal_name, done, target_date, done_at
        FROM current
      ), decided AS (
        SELECT *, (new_name, new_done, new_target_date, new_done_at)
          IS DISTINCT FROM (goal_name, done, target_date, done_at) AS changes
        FROM wanted
      )
      UPDATE goals SET goal_name = d.new_name, done = d.new_done,
        target_date = d.new_target_date, done_at = d.new_done_at,
        version = version + CASE WHEN d.changes THEN 1 ELSE 0 END,
        updated_at = CASE WHEN d.changes THEN now() ELSE updated_at END
      FROM decided d
      WHERE goals.id = d.goal_id AND ($8::int IS NULL OR version = $8::int OR NOT d.changes)
      RETURNING ${goalColumns('goals.')}`,
  },
  remove: {
    name: 'goals-delete',
    // Kept for the undo window: gone from every list, count and read meanwhile.
    text: `UPDATE goals SET deleted_at = now()
      WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL`,
  },
  restore: {
    name: 'goals-restore',
    text: `UPDATE goals SET deleted_at = NULL
      WHERE id = $1 AND account_id = $2 AND deleted_at > now() - make_interval(secs => $3)
      RETURNING ${GOAL}`,
  },
  state: {
    name: 'goals-state',
    text: `SELECT deleted_at IS NOT NULL AS deleted FROM goals WHERE id = $1 AND account_id = $2`,
  },
  purgeDeleted: {
    name: 'goals-purge-deleted',
    text: `DELETE FROM goals WHERE id IN (
      SELECT id FROM goals WHERE deleted_at < now() - make_interval(secs => $1)
      ORDER BY deleted_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
  },
  neighboursBefore: {
    name: 'goals-neighbours-before',
    text: `SELECT ${neighbour(
      '(g.position < a.position OR (g.position = a.position AND g.id > a.id))',
      'g.position DESC, g.id',
    )} AS above, a.position::text AS below
      FROM goals a WHERE a.id = $3 AND a.account_id = $1 AND a.deleted_at IS NULL`,
  },
  neighboursAfter: {
    name: 'goals-neighbours-after',
    text: `SELECT a.position::text AS above, ${neighbour(
      '(g.position > a.position OR (g.position = a.position AND g.id < a.id))',
      'g.position, g.id DESC',
    )} AS below
      FROM goals a WHERE a.id = $3 AND a.account_id = $1 AND a.deleted_at IS NULL`,
  },
  neighboursTop: {
    name: 'goals-neighbours-top',
    text: `SELECT NULL AS above, ${neighbour('true', 'g.position, g.id DESC')} AS below`,
  },
  neighboursBottom: {
    name: 'goals-neighbours-bottom',
    text: `SELECT ${neighbour('true', 'g.position DESC, g.id')} AS above, NULL AS below`,
  },
  place: {
    name: 'goals-place',
    text: `UPDATE goals SET position = $3::bigint
      WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL RETURNING ${GOAL}`,
  },
  renumber: {
    name: 'goals-renumber',
    // Deleted goals too, so that a restored one comes back where it was.
    text: `UPDATE goals SET position = numbered.n * ${POSITION_GAP}
      FROM (SELECT id, row_number() OVER (ORDER BY position, id DESC) AS n
        FROM goals WHERE account_id = $1) AS numbered
      WHERE goals.id = numbered.id`,
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
    // A goal deleted since (even one still restorable) is gone for a replay.
    text: `SELECT k.request_name AS "requestName", ${goalColumns('g.')}
      FROM idempotency_keys k LEFT JOIN goals g ON g.id = k.goal_id AND g.deleted_at IS NULL
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
  /** null clears it; undefined leaves it. */
  targetDate?: string | null | undefined;
  doneAt?: string | undefined;
}

/** Which goals a page holds. */
export type PageFilter =
  { kind: 'all' } | { kind: 'done'; done: boolean } | { kind: 'overdue'; today: string };

/** Where a page starts: below the goal at this place (position as decimal text, id). */
export interface Place {
  position: string;
  id: number;
}

/** The top of the list: every position is above this one. */
export const TOP: Place = { position: '-9223372036854775808', id: 0 };

export type PageRow = Goal & { cursorPosition: string };

/** Where a goal goes: directly above `before` (null: last) or below `after` (null: first). */
export type Destination = { before: number | null } | { after: number | null };

export type MoveOutcome =
  { outcome: 'moved'; goal: Goal } | { outcome: 'missing' } | { outcome: 'no-anchor' };

export type UpdateOutcome =
  { outcome: 'updated'; goal: Goal } | { outcome: 'missing' } | { outcome: 'version-mismatch' };

export type RestoreOutcome =
  | { outcome: 'restored'; goal: Goal }
  | { outcome: 'missing' }
  | { outcome: 'expired' }
  | { outcome: 'not-deleted'; goal: Goal };

/** What an Idempotency-Key create found: a new goal, or what the key already points at. */
export type KeyedCreate =
  | { outcome: 'created'; goal: Goal }
  | { outcome: 'replayed'; goal: Goal; requestName: string }
  /** The key was used, but the goal it made has since been deleted. */
  | { outcome: 'gone'; requestName: string };

type KeyRow = { requestName: string } & (({ id: number } & Goal) | { id: null });

/** Every call acts within one account's goals: another account's goal is as if missing. */
export interface GoalsRepository {
  /** Up to `limit` goals below `from`, in the account's order (top first). */
  findPage(accountId: number, from: Place, limit: number, filter: PageFilter): Promise<PageRow[]>;
  /** Where a goal is now (deleted or not), for paging on below it. */
  placeOf(accountId: number, id: number): Promise<Place | undefined>;
  find(accountId: number, id: number): Promise<Goal | undefined>;
  summary(accountId: number, today: string): Promise<GoalSummary>;
  /** Creates a goal on top; without a cap on goals, creates arriving together share one INSERT. */
  insert(accountId: number, name: string, targetDate: string | null): Promise<Goal>;
  insertWithKey(
    accountId: number,
    name: string,
    targetDate: string | null,
    key: string,
  ): Promise<KeyedCreate>;
  /** Applies the changes; with `ifVersion`, only if the goal is at that version. */
  update(
    accountId: number,
    id: number,
    changes: GoalChanges,
    ifVersion?: number,
  ): Promise<UpdateOutcome>;
  /** Deletes a goal restorably; false when there is none (or it is deleted already). */
  remove(accountId: number, id: number): Promise<boolean>;
  /** Brings back a goal deleted less than `windowSeconds` ago, in its old place. */
  restore(accountId: number, id: number, windowSeconds: number): Promise<RestoreOutcome>;
  move(accountId: number, id: number, destination: Destination): Promise<MoveOutcome>;
  /** Deletes for good the goals deleted more than `maxAgeSeconds` ago; says how many. */
  purgeDeleted(maxAgeSeconds: number): Promise<number>;
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
  targetDate: string | null;
}

/** Inserts one goal; with a cap, only after counting the account's goals under its lock. */
async function insertCapped(query: Query, { accountId, name, targetDate }: NewGoal, cap: number) {
  if (cap > 0) {
    await query(statements.lockAccount, [accountId]);
    const { rows } = await query<{ count: number }>(statements.count, [accountId]);
    if ((rows[0]?.count ?? 0) >= cap) throw new GoalLimitError(cap);
  }
  const { rows } = await query<Goal>(statements.insert, [accountId, name, targetDate]);
  return rows[0] as Goal;
}

async function claimOrFind(
  query: Query,
  goal: NewGoal,
  key: string,
  cap: number,
): Promise<KeyedCreate> {
  const { accountId, name } = goal;
  const claimed = await query(statements.claimKey, [accountId, key, name]);
  if (claimed.rowCount === 1) {
    const created = await insertCapped(query, goal, cap);
    await query(statements.bindKey, [accountId, key, created.id]);
    return { outcome: 'created', goal: created };
  }
  const { rows } = await query<KeyRow>(statements.findByKey, [accountId, key]);
  const row = rows[0] as KeyRow;
  if (row.id === null) return { outcome: 'gone', requestName: row.requestName };
  const { requestName, ...found } = row;
  return { outcome: 'replayed', goal: found, requestName };
}

/**
 * The position that puts goal `id` at `destination`: halfway between its new neighbours, or a
 * gap beyond the one neighbour at the top or bottom. 'no-room' when the neighbours are
 * adjacent (the gap is used up), 'no-anchor' when the goal to place it next to is not there.
 */
async function newPosition(
  query: Query,
  accountId: number,
  id: number,
  destination: Destination,
): Promise<bigint | 'no-room' | 'no-anchor'> {
  const [statement, anchor] =
    'before' in destination
      ? destination.before === null
        ? [statements.neighboursBottom, null]
        : [statements.neighboursBefore, destination.before]
      : destination.after === null
        ? [statements.neighboursTop, null]
        : [statements.neighboursAfter, destination.after];
  if (anchor === id) return 'no-anchor';
  const values = anchor === null ? [accountId, id] : [accountId, id, anchor];
  const { rows } = await query<{ above: string | null; below: string | null }>(statement, values);
  const row = rows[0];
  if (!row) return 'no-anchor';
  const above = row.above === null ? undefined : BigInt(row.above);
  const below = row.below === null ? undefined : BigInt(row.below);
  if (above === undefined) return below === undefined ? 0n : below - POSITION_GAP;
  if (below === undefined) return above + POSITION_GAP;
  if (below - above < 2n) return 'no-room';
  return above + (below - above) / 2n;
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
  const insertOne = async ({ accountId, name, targetDate }: NewGoal) =>
    (await db.query<Goal>(statements.insert, [accountId, name, targetDate])).rows[0] as Goal;
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
            goals.map((goal) => goal.targetDate),
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
  /** Safe to send again after a lost connection: a read, or a write whose repeat is harmless. */
  const retryable = { idempotent: true };
  /** Deletes what is older than `maxAgeSeconds`, a bounded batch per statement. */
  const deleteInBatches = async (statement: Statement, maxAgeSeconds: number) => {
    let deleted = 0;
    for (;;) {
      const { rowCount } = await db.query(statement, [maxAgeSeconds, PRUNE_BATCH], retryable);
      deleted += rowCount;
      if (rowCount < PRUNE_BATCH) return deleted;
    }
  };
  const find = async (accountId: number, id: number) =>
    (await db.query<Goal>(statements.find, [id, accountId], retryable)).rows[0];
  return {
    async findPage(accountId, from, limit, filter) {
      const start = [accountId, from.position, from.id, limit];
      const { rows } =
        filter.kind === 'all'
          ? await db.query<PageRow>(statements.page, start, retryable)
          : filter.kind === 'done'
            ? await db.query<PageRow>(statements.pageByDone, [...start, filter.done], retryable)
            : await db.query<PageRow>(statements.pageOverdue, [...start, filter.today], retryable);
      return rows;
    },

    async placeOf(accountId, id) {
      return (await db.query<Place>(statements.placeOf, [accountId, id], retryable)).rows[0];
    },

    find,

    async summary(accountId, today) {
      const { rows } = await db.query<GoalSummary>(
        statements.summary,
        [accountId, today],
        retryable,
      );
      return rows[0] as GoalSummary;
    },

    insert(accountId, name, targetDate) {
      // Not idempotent: if the connection drops mid-insert the rows may exist, so no retry.
      if (cap === 0) return inserts.submit({ accountId, name, targetDate });
      return db.transaction((query) => insertCapped(query, { accountId, name, targetDate }, cap));
    },

    insertWithKey(accountId, name, targetDate, key) {
      // The key makes a repeat harmless, so a lost connection is retried here.
      return db.transaction(
        (query) => claimOrFind(query, { accountId, name, targetDate }, key, cap),
        retryable,
      );
    },

    async update(accountId, id, changes, ifVersion) {
      const given = changes.targetDate !== undefined;
      const { rows } = await db.query<Goal>(
        statements.update,
        [
          id,
          accountId,
          changes.name ?? null,
          changes.done ?? null,
          given,
          changes.targetDate ?? null,
          changes.doneAt ?? null,
          ifVersion ?? null,
        ],
        // Sent again after a lost connection, a change already made is answered as made.
        retryable,
      );
      if (rows[0]) return { outcome: 'updated', goal: rows[0] };
      if (ifVersion === undefined) return { outcome: 'missing' };
      return (await find(accountId, id)) ? { outcome: 'version-mismatch' } : { outcome: 'missing' };
    },

    async remove(accountId, id) {
      const { rowCount } = await db.query(statements.remove, [id, accountId], retryable);
      return rowCount > 0;
    },

    async restore(accountId, id, windowSeconds) {
      const { rows } = await db.query<Goal>(
        statements.restore,
        [id, accountId, windowSeconds],
        retryable,
      );
      if (rows[0]) return { outcome: 'restored', goal: rows[0] };
      const state = (
        await db.query<{ deleted: boolean }>(statements.state, [id, accountId], retryable)
      ).rows[0];
      if (!state) return { outcome: 'missing' };
      if (state.deleted) return { outcome: 'expired' };
      // Restored already (a retry whose first answer was lost): answered as restored.
      const goal = await find(accountId, id);
      return goal ? { outcome: 'not-deleted', goal } : { outcome: 'missing' };
    },

    move(accountId, id, destination) {
      return db.transaction(async (query) => {
        await query(statements.lockAccount, [accountId]);
        let position = await newPosition(query, accountId, id, destination);
        if (position === 'no-anchor') return { outcome: 'no-anchor' } as const;
        if (position === 'no-room') {
          await query(statements.renumber, [accountId]);
          position = await newPosition(query, accountId, id, destination);
        }
        if (typeof position !== 'bigint') return { outcome: 'no-anchor' } as const;
        const { rows } = await query<Goal>(statements.place, [id, accountId, String(position)]);
        return rows[0] ? { outcome: 'moved', goal: rows[0] } : { outcome: 'missing' };
      }, retryable);
    },

    purgeDeleted: (maxAgeSeconds) => deleteInBatches(statements.purgeDeleted, maxAgeSeconds),
    pruneIdempotencyKeys: (maxAgeSeconds) => deleteInBatches(statements.pruneKeys, maxAgeSeconds),
  };
}
