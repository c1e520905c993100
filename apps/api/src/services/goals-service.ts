import type { Goal, GoalChangeType, GoalFilter, GoalPage } from '@goal-tracker/contract';
import { GOALS_PAGE_DEFAULT_LIMIT, isCalendarDate } from '@goal-tracker/contract';
import {
  TOP,
  type Destination,
  type GoalChanges,
  type GoalsRepository,
  type PageFilter,
  type Place,
} from '../db/goals-repository.js';
import { AppError, NotFoundError } from '../errors.js';
import type { ReadCache, Representation } from '../caching/read-cache.js';

export interface PageRequest {
  limit?: number | undefined;
  /** The previous page's cursor. */
  cursor?: string | undefined;
  /** The id of the previous page's last goal: the page below where it is now. */
  after?: number | undefined;
  filter?: GoalFilter | undefined;
  /** The older form of filter=done (true) and filter=active (false). */
  done?: boolean | undefined;
  /** YYYY-MM-DD in the person's time zone; today in UTC when absent. */
  today?: string | undefined;
}

export interface CreatedGoal {
  goal: Goal;
  /** True when an earlier request with the same Idempotency-Key created it. */
  replayed: boolean;
}

/** One change to a goal, for the other tabs and devices of its account. */
export interface GoalChange {
  type: GoalChangeType;
  goalId: number;
}

/** The goals use cases, each within one account's goals. */
export interface GoalsService {
  /** The page as JSON with its ETag, from the cache when it holds it. */
  listRepresentation(accountId: number, request: PageRequest): Promise<Representation>;
  /** GoalSummary as JSON with its ETag, from the cache when it holds it. */
  summaryRepresentation(accountId: number, today?: string): Promise<Representation>;
  get(accountId: number, id: number): Promise<Goal>;
  create(
    accountId: number,
    input: { name: string; targetDate?: string | null | undefined },
    idempotencyKey?: string,
  ): Promise<CreatedGoal>;
  /** With `ifVersion` (If-Match), only if the goal is still at that version, else 412. */
  update(accountId: number, id: number, changes: GoalChanges, ifVersion?: number): Promise<Goal>;
  remove(accountId: number, id: number): Promise<void>;
  restore(accountId: number, id: number): Promise<Goal>;
  move(accountId: number, id: number, destination: Destination): Promise<Goal>;
}

const notFound = (id: number) => new NotFoundError(`There is no goal ${id}.`);

/** How long a deleted goal can be restored: the toast's 8 s, a reload, and a slow network. */
export const RESTORE_WINDOW_SECONDS = 10 * 60;

export interface GoalsServiceOptions {
  /** Lists and the summary, kept between writes. */
  cache: ReadCache;
  /**
   * Tells the other instances (and the account's event streams) that an account's goals
   * changed, so they drop what they cached of them; resolves once they have been told (never
   * rejects: the write is committed whatever happens). No change: what changed is unknown.
   */
  announceChange: (accountId: number, change?: GoalChange) => Promise<void>;
  /** Takes one write from the account's allowance, or throws 429. */
  admitWrite: (accountId: number) => void | Promise<void>;
  /** How long a deleted goal can be restored. */
  restoreWindowSeconds?: number;
  /** Today's date in UTC; tests pass a fixed one. */
  todayUtc?: () => string;
}

function badRequest(detail: string): AppError {
  return new AppError(400, 'Bad Request', detail);
}

function checkDate(date: string | null | undefined, what: string): void {
  if (typeof date === 'string' && !isCalendarDate(date)) {
    throw badRequest(`${what} ${date} is not a day of the calendar.`);
  }
}

function pageFilter({ filter, done, today }: PageRequest, todayUtc: () => string): PageFilter {
  if (filter !== undefined && done !== undefined) {
    throw badRequest('Give filter or done, not both.');
  }
  switch (filter ?? (done === undefined ? 'all' : done ? 'done' : 'active')) {
    case 'all':
      return { kind: 'all' };
    case 'active':
      return { kind: 'done', done: false };
    case 'done':
      return { kind: 'done', done: true };
    case 'overdue':
      return { kind: 'overdue', today: today ?? todayUtc() };
  }
}

/** A cursor is the place of the last goal of a page: its position and id, "position.id". */
function encodeCursor(place: Place): string {
  return `${place.position}.${place.id}`;
}

function decodeCursor(cursor: string): Place {
  const [position = '', id = ''] = cursor.split('.');
  const place = { position, id: Number(id) };
  // The pattern has checked the digits; a position must also fit a bigint.
  if (BigInt(position) < BigInt(TOP.position) || BigInt(position) > 2n ** 63n - 1n) {
    throw badRequest('The cursor is not one this API gave.');
  }
  return place;
}

/**
 * The goals use cases. Names arrive trimmed and validated by the route schemas.
 *
 * Lists and the summary are served from the cache while it is live. Every write drops this
 * instance's cache once it has committed, and is acknowledged only after the other instances
 * have been told to drop theirs.
 */
export function goalsService(
  repository: GoalsRepository,
  {
    cache,
    announceChange,
    admitWrite,
    restoreWindowSeconds = RESTORE_WINDOW_SECONDS,
    todayUtc = () => new Date().toISOString().slice(0, 10),
  }: GoalsServiceOptions,
): GoalsService {
  /**
   * Every write statement sent is followed by an invalidation, whatever came of it: one that
   * failed (a lost connection, say) may still have committed. `changeOf` names what changed,
   * when something did.
   */
  const write = async <T>(
    accountId: number,
    send: () => Promise<T>,
    changeOf: (result: T) => GoalChange | undefined,
  ): Promise<T> => {
    await admitWrite(accountId);
    let result: T;
    try {
      result = await send();
    } catch (error) {
      cache.invalidate(accountId);
      // Not awaited: an error response acknowledges nothing, and must not wait for this.
      void announceChange(accountId);
      throw error;
    }
    cache.invalidate(accountId);
    const change = changeOf(result);
    if (change) await announceChange(accountId, change);
    return result;
  };

  const startOf = async (accountId: number, { cursor, after }: PageRequest): Promise<Place> => {
    if (cursor !== undefined) {
      if (after !== undefined) throw badRequest('Give cursor or after, not both.');
      return decodeCursor(cursor);
    }
    if (after === undefined || after === 0) return TOP;
    const place = await repository.placeOf(accountId, after);
    if (!place) {
      throw badRequest(`There is no goal ${after} to page after; start again from the top.`);
    }
    return place;
  };

  const list = async (
    accountId: number,
    request: PageRequest,
    filter: PageFilter,
  ): Promise<GoalPage> => {
    const limit = request.limit ?? GOALS_PAGE_DEFAULT_LIMIT;
    const start = await startOf(accountId, request);
    // One row more than asked says whether another page follows, without a COUNT.
    const rows = await repository.findPage(accountId, start, limit + 1, filter);
    const goals = rows.slice(0, limit).map(({ cursorPosition: _, ...goal }) => goal);
    const last = rows[limit - 1];
    if (rows.length <= limit || !last) return { goals, next: null, cursor: null };
    return {
      goals,
      next: last.id,
      cursor: encodeCursor({ position: last.cursorPosition, id: last.id }),
    };
  };

  return {
    listRepresentation(accountId, request) {
      checkDate(request.today, 'today,');
      const filter = pageFilter(request, todayUtc);
      const { limit = GOALS_PAGE_DEFAULT_LIMIT, cursor, after } = request;
      const key = `list:${limit}:${cursor ?? ''}:${after ?? 0}:${JSON.stringify(filter)}`;
      return cache.get(accountId, key, () => list(accountId, request, filter));
    },

    summaryRepresentation(accountId, today = todayUtc()) {
      checkDate(today, 'today,');
      return cache.get(accountId, `summary:${today}`, () => repository.summary(accountId, today));
    },

    async get(accountId, id) {
      const goal = await repository.find(accountId, id);
      if (!goal) throw notFound(id);
      return goal;
    },

    async create(accountId, { name, targetDate = null }, idempotencyKey) {
      checkDate(targetDate, 'The target date');
      const created = (goal: Goal): GoalChange => ({ type: 'created', goalId: goal.id });
      if (idempotencyKey === undefined) {
        const goal = await write(
          accountId,
          () => repository.insert(accountId, name, targetDate),
          created,
        );
        return { goal, replayed: false };
      }
      const result = await write(
        accountId,
        () => repository.insertWithKey(accountId, name, targetDate, idempotencyKey),
        (outcome) => (outcome.outcome === 'created' ? created(outcome.goal) : undefined),
      );
      if (result.outcome === 'created') return { goal: result.goal, replayed: false };
      if (result.requestName !== name) {
        throw new AppError(
          422,
          'Unprocessable Content',
          'This Idempotency-Key was already used for a different request.',
        );
      }
      if (result.outcome === 'gone') {
        throw new AppError(
          410,
          'Gone',
          'The goal created with this Idempotency-Key has been deleted.',
        );
      }
      return { goal: result.goal, replayed: true };
    },

    async update(accountId, id, changes, ifVersion) {
      checkDate(changes.targetDate, 'The target date');
      if (changes.doneAt !== undefined) {
        if (changes.done !== true) {
          throw badRequest('doneAt goes only with done: true (to undo an untick).');
        }
        if (
          !isCalendarDate(changes.doneAt.slice(0, 10)) ||
          Number.isNaN(Date.parse(changes.doneAt))
        ) {
          throw badRequest(`doneAt ${changes.doneAt} is not a moment of the calendar.`);
        }
      }
      const result = await write(
        accountId,
        () => repository.update(accountId, id, changes, ifVersion),
        (outcome) => (outcome.outcome === 'updated' ? { type: 'updated', goalId: id } : undefined),
      );
      if (result.outcome === 'missing') throw notFound(id);
      if (result.outcome === 'version-mismatch') {
        throw new AppError(
          412,
          'Precondition Failed',
          `Goal ${id} has changed since version ${ifVersion}: get it again, and change it only if your change still applies.`,
        );
      }
      return result.goal;
    },

    async remove(accountId, id) {
      const removed = await write(
        accountId,
        () => repository.remove(accountId, id),
        (done) => (done ? { type: 'deleted', goalId: id } : undefined),
      );
      if (!removed) throw notFound(id);
    },

    async restore(accountId, id) {
      const result = await write(
        accountId,
        () => repository.restore(accountId, id, restoreWindowSeconds),
        (outcome) =>
          outcome.outcome === 'restored' ? { type: 'restored', goalId: id } : undefined,
      );
      switch (result.outcome) {
        case 'missing':
          throw notFound(id);
        case 'expired':
          throw new AppError(
            410,
            'Gone',
            `Goal ${id} was deleted more than ${restoreWindowSeconds / 60} minutes ago and can no longer be restored.`,
          );
        default:
          return result.goal;
      }
    },

    async move(accountId, id, destination) {
      const result = await write(
        accountId,
        () => repository.move(accountId, id, destination),
        (outcome) => (outcome.outcome === 'moved' ? { type: 'moved', goalId: id } : undefined),
      );
      if (result.outcome === 'missing') throw notFound(id);
      if (result.outcome === 'no-anchor') {
        const anchor = 'before' in destination ? destination.before : destination.after;
        throw new AppError(
          409,
          'Conflict',
          anchor === id
            ? 'A goal cannot be placed next to itself.'
            : `Goal ${anchor}, to place this one next to, is not in the list (deleted meanwhile?): get the list again.`,
        );
      }
      return result.goal;
    },
  };
}
