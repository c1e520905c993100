import type {
  CreateGoalInput,
  Goal,
  GoalFilter,
  GoalPage,
  GoalSummary,
  MoveGoalInput,
  UpdateGoalInput,
} from '@goal-tracker/contract';
import { LruMap } from '@goal-tracker/server-kit';
import type { ApiClient } from './api-client.js';
import { bearer, json, JSON_HEADERS, noContent } from './api-result.js';
import type { ApiResult, Caller } from './api-result.js';

export interface GoalsApi {
  /**
   * A page of goals. While the API's ETag says the page is unchanged, the same object is
   * returned again, so what was derived from it (the rendered list) can be kept with it.
   */
  listGoals(
    query: { after?: number; filter?: GoalFilter; limit?: number; today?: string },
    caller: Caller,
  ): Promise<ApiResult<Readonly<GoalPage>>>;
  /** The counts; `today` decides which goals are overdue (the API's default: today in UTC). */
  summary(caller: Caller, today?: string): Promise<ApiResult<Readonly<GoalSummary>>>;
  createGoal(
    input: CreateGoalInput,
    idempotencyKey: string,
    caller: Caller,
  ): Promise<ApiResult<Goal>>;
  updateGoal(id: number, changes: UpdateGoalInput, caller: Caller): Promise<ApiResult<Goal>>;
  /** Places a goal directly above (`before`) or below (`after`) another. */
  moveGoal(id: number, place: MoveGoalInput, caller: Caller): Promise<ApiResult<Goal>>;
  deleteGoal(id: number, caller: Caller): Promise<ApiResult<null>>;
  /** Undoes a delete, within the API's window (then 410). */
  restoreGoal(id: number, caller: Caller): Promise<ApiResult<Goal>>;
  /** Drops what was remembered for a session that has ended. */
  forget(token: string): void;
}

/**
 * Most answers remembered for conditional requests, over all sessions. The first page of each
 * filter and the count are what nearly every request asks for (four per session); the rest
 * are later pages, whose cursors come from the query string, so the number kept must be
 * bounded.
 */
export const REMEMBERED_ANSWERS = 256;

/**
 * The last ETag and parsed body per session and API path, least recently used first. Asking
 * with If-None-Match keeps every page fresh (the API changes the ETag whenever the answer
 * changes) while a 304 saves sending, parsing and rendering the same goals again. Kept per
 * session token, never per path alone: two accounts' lists can carry the same ETag, and one
 * must never be served the other's goals.
 */
class RememberedAnswers {
  private readonly answers: LruMap<string, { etag: string; value: unknown }>;

  constructor(capacity: number) {
    this.answers = new LruMap(capacity);
  }

  private static key(token: string, path: string): string {
    // A token is base64url and a path starts with "/", so the space cannot be ambiguous.
    return `${token} ${path}`;
  }

  get(token: string, path: string): { etag: string; value: unknown } | undefined {
    return this.answers.use(RememberedAnswers.key(token, path));
  }

  set(token: string, path: string, etag: string | string[] | undefined, value: unknown): void {
    const key = RememberedAnswers.key(token, path);
    if (typeof etag === 'string') this.answers.set(key, { etag, value });
    else this.answers.delete(key);
  }

  forget(token: string): void {
    const prefix = RememberedAnswers.key(token, '');
    for (const key of this.answers.keys()) {
      if (key.startsWith(prefix)) this.answers.delete(key);
    }
  }
}

/** The calls the server-rendered pages make, typed by the shared contract. */
export function createGoalsApi(client: ApiClient): GoalsApi {
  const remembered = new RememberedAnswers(REMEMBERED_ANSWERS);

  async function getJson<T>(path: string, caller: Caller): Promise<ApiResult<T>> {
    const known = remembered.get(caller.token, path);
    const response = await client.request({
      method: 'GET',
      path,
      headers: {
        accept: 'application/json',
        ...bearer(caller.token),
        ...(known ? { 'if-none-match': known.etag } : {}),
      },
      requestId: caller.requestId,
      idempotent: true,
    });
    if (response.status === 304 && known) return { ok: true, value: known.value as T };
    const result = json<T>(response, 200);
    if (result.ok) remembered.set(caller.token, path, response.headers.etag, result.value);
    else if (response.status === 401) remembered.forget(caller.token);
    return result;
  }

  /**
   * A change to one goal, answered with the goal as it now is. Sent again when an attempt
   * fails, so only for changes that leave the goal the same when made twice.
   */
  async function changeGoal(
    method: 'PATCH' | 'POST',
    path: string,
    change: UpdateGoalInput | MoveGoalInput,
    caller: Caller,
  ): Promise<ApiResult<Goal>> {
    const response = await client.request({
      method,
      path,
      headers: { ...JSON_HEADERS, ...bearer(caller.token) },
      body: JSON.stringify(change),
      requestId: caller.requestId,
      idempotent: true,
    });
    return json<Goal>(response, 200);
  }

  return {
    listGoals(query, caller) {
      let path = `/goals?limit=${query.limit ?? 50}`;
      if (query.after !== undefined) path += `&after=${query.after}`;
      if (query.filter !== undefined && query.filter !== 'all') path += `&filter=${query.filter}`;
      // Only Overdue depends on the day; other lists keep one path (and cached answer) all year.
      if (query.today !== undefined && query.filter === 'overdue') path += `&today=${query.today}`;
      return getJson<GoalPage>(path, caller);
    },

    summary: (caller, today) =>
      getJson<GoalSummary>(`/goals/summary${today ? `?today=${today}` : ''}`, caller),

    async createGoal(input, idempotencyKey, caller) {
      const response = await client.request({
        method: 'POST',
        path: '/goals',
        headers: { ...JSON_HEADERS, ...bearer(caller.token), 'idempotency-key': idempotencyKey },
        body: JSON.stringify(input),
        requestId: caller.requestId,
        idempotent: true,
      });
      return json<Goal>(response, 201);
    },

    // The changes are absolute values (a name, done or not), so sending them twice is harmless.
    updateGoal: (id, changes, caller) => changeGoal('PATCH', `/goals/${id}`, changes, caller),

    // Placing a goal next to the same neighbour twice leaves it where once would.
    moveGoal: (id, place, caller) => changeGoal('POST', `/goals/${id}/move`, place, caller),

    async deleteGoal(id, caller) {
      const response = await client.request({
        method: 'DELETE',
        path: `/goals/${id}`,
        headers: bearer(caller.token),
        requestId: caller.requestId,
        idempotent: true,
      });
      // 404 is reported as such; the pages count it as done (already gone is what was wanted).
      return noContent(response);
    },

    async restoreGoal(id, caller) {
      const response = await client.request({
        method: 'POST',
        path: `/goals/${id}/restore`,
        headers: bearer(caller.token),
        requestId: caller.requestId,
        // Restoring twice leaves the goal as once: safe to resend after a lost connection.
        idempotent: true,
      });
      return json<Goal>(response, 200);
    },

    forget: (token) => remembered.forget(token),
  };
}
