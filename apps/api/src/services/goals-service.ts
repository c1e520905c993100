import type { Goal, GoalPage } from '@goal-tracker/contract';
import { GOALS_PAGE_DEFAULT_LIMIT } from '@goal-tracker/contract';
import type { GoalChanges, GoalsRepository } from '../db/goals-repository.js';
import { AppError, NotFoundError } from '../errors.js';
import type { ReadCache, Representation } from '../caching/read-cache.js';

export interface PageRequest {
  limit?: number | undefined;
  after?: number | undefined;
  done?: boolean | undefined;
}

export interface CreatedGoal {
  goal: Goal;
  /** True when an earlier request with the same Idempotency-Key created it. */
  replayed: boolean;
}

/** The goals use cases, each within one account's goals. */
export interface GoalsService {
  /** The page as JSON with its ETag, from the cache when it holds it. */
  listRepresentation(accountId: number, request: PageRequest): Promise<Representation>;
  /** GoalSummary as JSON with its ETag, from the cache when it holds it. */
  summaryRepresentation(accountId: number): Promise<Representation>;
  get(accountId: number, id: number): Promise<Goal>;
  create(accountId: number, name: string, idempotencyKey?: string): Promise<CreatedGoal>;
  update(accountId: number, id: number, changes: GoalChanges): Promise<Goal>;
  remove(accountId: number, id: number): Promise<void>;
}

const notFound = (id: number) => new NotFoundError(`There is no goal ${id}.`);

export interface GoalsServiceOptions {
  /** Lists and the summary, kept between writes. */
  cache: ReadCache;
  /**
   * Tells the other instances that an account's goals changed, so they drop what they cached
   * of them; resolves once they have been told (never rejects: the write is committed
   * whatever happens).
   */
  announceChange: (accountId: number) => Promise<void>;
  /** Takes one write from the account's allowance, or throws 429. */
  admitWrite: (accountId: number) => void;
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
  { cache, announceChange, admitWrite }: GoalsServiceOptions,
): GoalsService {
  /**
   * Every write statement sent is followed by an invalidation, whatever came of it: one that
   * failed (a lost connection, say) may still have committed.
   */
  const write = async <T>(accountId: number, send: () => Promise<T>): Promise<T> => {
    admitWrite(accountId);
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
    await announceChange(accountId);
    return result;
  };

  const list = async (
    accountId: number,
    { limit = GOALS_PAGE_DEFAULT_LIMIT, after = 0, done }: PageRequest,
  ): Promise<GoalPage> => {
    // One row more than asked says whether another page follows, without a COUNT.
    const rows = await repository.findPage(accountId, after, limit + 1, done);
    if (rows.length <= limit) return { goals: rows, next: null };
    const goals = rows.slice(0, limit);
    return { goals, next: goals[goals.length - 1]?.id ?? null };
  };

  return {
    listRepresentation(accountId, request) {
      const { limit = GOALS_PAGE_DEFAULT_LIMIT, after = 0, done } = request;
      return cache.get(accountId, `list:${limit}:${after}:${done ?? 'all'}`, () =>
        list(accountId, request),
      );
    },

    summaryRepresentation(accountId) {
      return cache.get(accountId, 'summary', () => repository.summary(accountId));
    },

    async get(accountId, id) {
      const goal = await repository.find(accountId, id);
      if (!goal) throw notFound(id);
      return goal;
    },

    async create(accountId, name, idempotencyKey) {
      if (idempotencyKey === undefined) {
        const goal = await write(accountId, () => repository.insert(accountId, name));
        return { goal, replayed: false };
      }
      const result = await write(accountId, () =>
        repository.insertWithKey(accountId, name, idempotencyKey),
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

    async update(accountId, id, changes) {
      const goal = await write(accountId, () => repository.update(accountId, id, changes));
      if (!goal) throw notFound(id);
      return goal;
    },

    async remove(accountId, id) {
      if (!(await write(accountId, () => repository.remove(accountId, id)))) throw notFound(id);
    },
  };
}
