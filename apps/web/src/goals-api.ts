import type { Goal, GoalPage, Problem, UpdateGoalInput } from '@goal-tracker/contract';
import { GOALS_PAGE_MAX_LIMIT } from '@goal-tracker/contract';
import type { ApiClient, ApiResponse } from './api-client.js';

/** The API answered, but refused: its problem document says why. */
export interface Refusal {
  ok: false;
  status: number;
  problem: Problem;
}
export type ApiResult<T> = { ok: true; value: T } | Refusal;

export interface Remaining {
  count: number;
  /** More active goals exist than were counted. */
  capped: boolean;
}

export interface GoalsApi {
  listGoals(
    query: { after?: number; done?: boolean; limit?: number },
    requestId: string,
  ): Promise<ApiResult<GoalPage>>;
  countRemaining(requestId: string): Promise<ApiResult<Remaining>>;
  createGoal(name: string, idempotencyKey: string, requestId: string): Promise<ApiResult<Goal>>;
  updateGoal(id: number, changes: UpdateGoalInput, requestId: string): Promise<ApiResult<Goal>>;
  deleteGoal(id: number, requestId: string): Promise<ApiResult<null>>;
}

/** Counting pages of active goals costs a request per 100; past this many, "1,000+" is enough. */
export const REMAINING_COUNT_CAP = 1_000;

const JSON_HEADERS = { accept: 'application/json', 'content-type': 'application/json' };

function refusal(response: ApiResponse): Refusal {
  let problem: Problem = {
    type: 'about:blank',
    title: 'The goal service refused the request',
    status: response.status,
  };
  try {
    const parsed = JSON.parse(response.body.toString('utf8')) as Partial<Problem>;
    if (typeof parsed.title === 'string') {
      problem = {
        type: typeof parsed.type === 'string' ? parsed.type : 'about:blank',
        title: parsed.title,
        status: response.status,
        ...(typeof parsed.detail === 'string' ? { detail: parsed.detail } : {}),
      };
    }
  } catch {
    // Not a problem document: keep the generic one.
  }
  return { ok: false, status: response.status, problem };
}

function json<T>(response: ApiResponse, expected: number): ApiResult<T> {
  if (response.status !== expected) return refusal(response);
  return { ok: true, value: JSON.parse(response.body.toString('utf8')) as T };
}

/** The calls the server-rendered pages make, typed by the shared contract. */
export function createGoalsApi(client: ApiClient): GoalsApi {
  const listGoals: GoalsApi['listGoals'] = async (query, requestId) => {
    const params = new URLSearchParams();
    params.set('limit', String(query.limit ?? 50));
    if (query.after !== undefined) params.set('after', String(query.after));
    if (query.done !== undefined) params.set('done', String(query.done));
    const response = await client.request({
      method: 'GET',
      path: `/goals?${params.toString()}`,
      headers: { accept: 'application/json' },
      requestId,
      idempotent: true,
    });
    return json<GoalPage>(response, 200);
  };

  return {
    listGoals,

    // The contract has no count, so this pages through active goals, 100 at a time, up to a cap.
    async countRemaining(requestId) {
      let count = 0;
      let after: number | undefined;
      while (count < REMAINING_COUNT_CAP) {
        const page = await listGoals(
          { done: false, limit: GOALS_PAGE_MAX_LIMIT, ...(after === undefined ? {} : { after }) },
          requestId,
        );
        if (!page.ok) return page;
        count += page.value.goals.length;
        if (page.value.next === null) return { ok: true, value: { count, capped: false } };
        after = page.value.next;
      }
      return { ok: true, value: { count, capped: true } };
    },

    async createGoal(name, idempotencyKey, requestId) {
      const response = await client.request({
        method: 'POST',
        path: '/goals',
        headers: { ...JSON_HEADERS, 'idempotency-key': idempotencyKey },
        body: JSON.stringify({ name }),
        requestId,
        idempotent: true,
      });
      return json<Goal>(response, 201);
    },

    async updateGoal(id, changes, requestId) {
      const response = await client.request({
        method: 'PATCH',
        path: `/goals/${id}`,
        headers: JSON_HEADERS,
        body: JSON.stringify(changes),
        requestId,
        idempotent: false,
      });
      return json<Goal>(response, 200);
    },

    async deleteGoal(id, requestId) {
      const response = await client.request({
        method: 'DELETE',
        path: `/goals/${id}`,
        requestId,
        idempotent: true,
      });
      return response.status === 204 ? { ok: true, value: null } : refusal(response);
    },
  };
}
