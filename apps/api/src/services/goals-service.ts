import type { Goal, GoalPage } from '@goal-tracker/contract';
import { GOALS_PAGE_DEFAULT_LIMIT } from '@goal-tracker/contract';
import type { GoalChanges, GoalsRepository } from '../db/goals-repository.js';
import { AppError, NotFoundError } from '../errors.js';
import type { ReadCache, Representation } from './read-cache.js';

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

export interface GoalsService {
  /** The page as JSON with its ETag, from the cache when it holds it. */
  listRepresentation(request: PageRequest): Promise<Representation>;
  /** GoalSummary as JSON with its ETag, from the cache when it holds it. */
  summaryRepresentation(): Promise<Representation>;
  get(id: number): Promise<Goal>;
  create(name: string, idempotencyKey?: string): Promise<CreatedGoal>;
  update(id: number, changes: GoalChanges): Promise<Goal>;
  remove(id: number): Promise<void>;
}

const notFound = (id: number) => new NotFoundError(`There is no goal ${id}.`);

export interface GoalsServiceOptions {
  /** Lists and the summary, kept between writes. */
  cache: ReadCache;
  /**
   * Tells the other instances that the goals changed, so they drop their caches; resolves
   * once they have been told (never rejects: the write is committed whatever happens).
   */
  announceChange: () => Promise<void>;
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
  { cache, announceChange }: GoalsServiceOptions,
): GoalsService {
  /**
   * Every write statement sent is followed by an invalidation, whatever came of it: one that
   * failed (a lost connection, say) may still have committed.
   */
  const write = async <T>(statement: Promise<T>): Promise<T> => {
    let result: T;
    try {
      result = await statement;
    } catch (error) {
      cache.invalidate();
      // Not awaited: an error response acknowledges nothing, and must not wait for this.
      void announceChange();
      throw error;
    }
    cache.invalidate();
    await announceChange();
    return result;
  };

  const list = async ({
    limit = GOALS_PAGE_DEFAULT_LIMIT,
    after = 0,
    done,
  }: PageRequest): Promise<GoalPage> => {
    // One row more than asked says whether another page follows, without a COUNT.
    const rows = await repository.findPage(after, limit + 1, done);
    if (rows.length <= limit) return { goals: rows, next: null };
    const goals = rows.slice(0, limit);
    return { goals, next: goals[goals.length - 1]?.id ?? null };
  };

  return {
    listRepresentation(request) {
      const { limit = GOALS_PAGE_DEFAULT_LIMIT, after = 0, done } = request;
      return cache.get(`list:${limit}:${after}:${done ?? 'all'}`, () => list(request));
    },

    summaryRepresentation() {
      return cache.get('summary', () => repository.summary());
    },

    async get(id) {
      const goal = await repository.find(id);
      if (!goal) throw notFound(id);
      return goal;
    },

    async create(name, idempotencyKey) {
      if (idempotencyKey === undefined) {
        return { goal: await write(repository.insert(name)), replayed: false };
      }
      const result = await write(repository.insertWithKey(name, idempotencyKey));
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

    async update(id, changes) {
      const goal = await write(repository.update(id, changes));
      if (!goal) throw notFound(id);
      return goal;
    },

    async remove(id) {
      if (!(await write(repository.remove(id)))) throw notFound(id);
    },
  };
}
