import type { Goal, GoalPage } from '@goal-tracker/contract';
import { GOALS_PAGE_DEFAULT_LIMIT } from '@goal-tracker/contract';
import type { GoalChanges, GoalsRepository } from '../db/goals-repository.js';
import { AppError, NotFoundError } from '../errors.js';

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
  list(request: PageRequest): Promise<GoalPage>;
  get(id: number): Promise<Goal>;
  create(name: string, idempotencyKey?: string): Promise<CreatedGoal>;
  update(id: number, changes: GoalChanges): Promise<Goal>;
  remove(id: number): Promise<void>;
}

const notFound = (id: number) => new NotFoundError(`There is no goal ${id}.`);

/**
 * The goals use cases. Names arrive trimmed and validated by the route schemas.
 *
 * This is where a cache would go: the first page held in memory, dropped on every write
 * here and on a LISTEN/NOTIFY message from the other instances' writes.
 */
export function goalsService(repository: GoalsRepository): GoalsService {
  return {
    async list({ limit = GOALS_PAGE_DEFAULT_LIMIT, after = 0, done }) {
      // One row more than asked says whether another page follows, without a COUNT.
      const rows = await repository.findPage(after, limit + 1, done);
      if (rows.length <= limit) return { goals: rows, next: null };
      const goals = rows.slice(0, limit);
      return { goals, next: goals[goals.length - 1]?.id ?? null };
    },

    async get(id) {
      const goal = await repository.find(id);
      if (!goal) throw notFound(id);
      return goal;
    },

    async create(name, idempotencyKey) {
      if (idempotencyKey === undefined)
        return { goal: await repository.insert(name), replayed: false };
      const result = await repository.insertWithKey(name, idempotencyKey);
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
      const goal = await repository.update(id, changes);
      if (!goal) throw notFound(id);
      return goal;
    },

    async remove(id) {
      if (!(await repository.remove(id))) throw notFound(id);
    },
  };
}
