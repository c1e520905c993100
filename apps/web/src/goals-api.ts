import type { Goal, GoalPage, GoalSummary, Problem, UpdateGoalInput } from '@goal-tracker/contract';
import type { ApiClient, ApiResponse } from './api-client.js';

/** The API answered, but refused: its problem document says why. */
export interface Refusal {
  ok: false;
  status: number;
  problem: Problem;
}
export type ApiResult<T> = { ok: true; value: T } | Refusal;

export interface GoalsApi {
  /**
   * A page of goals. While the API's ETag says the page is unchanged, the same object is
   * returned again, so what was derived from it (the rendered list) can be kept with it.
   */
  listGoals(
    query: { after?: number; done?: boolean; limit?: number },
    requestId: string,
  ): Promise<ApiResult<Readonly<GoalPage>>>;
  summary(requestId: string): Promise<ApiResult<Readonly<GoalSummary>>>;
  createGoal(name: string, idempotencyKey: string, requestId: string): Promise<ApiResult<Goal>>;
  updateGoal(id: number, changes: UpdateGoalInput, requestId: string): Promise<ApiResult<Goal>>;
  deleteGoal(id: number, requestId: string): Promise<ApiResult<null>>;
}

/**
 * Most answers remembered for conditional requests. The first page of each filter is what
 * nearly every request asks for; the rest are later pages, whose cursors come from the query
 * string, so the number kept must be bounded.
 */
export const REMEMBERED_ANSWERS = 64;

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

/**
 * The last ETag and parsed body per API path, least recently used first. Asking with
 * If-None-Match keeps every page fresh (the API changes the ETag whenever the answer changes)
 * while a 304 saves sending, parsing and rendering the same goals again.
 */
class RememberedAnswers {
  private readonly answers = new Map<string, { etag: string; value: unknown }>();

  constructor(private readonly capacity: number) {}

  get(path: string): { etag: string; value: unknown } | undefined {
    const answer = this.answers.get(path);
    if (answer) {
      this.answers.delete(path);
      this.answers.set(path, answer);
    }
    return answer;
  }

  set(path: string, etag: string | string[] | undefined, value: unknown): void {
    this.answers.delete(path);
    if (typeof etag !== 'string') return;
    this.answers.set(path, { etag, value });
    if (this.answers.size > this.capacity) {
      this.answers.delete(this.answers.keys().next().value as string);
    }
  }
}

/** The calls the server-rendered pages make, typed by the shared contract. */
export function createGoalsApi(client: ApiClient): GoalsApi {
  const remembered = new RememberedAnswers(REMEMBERED_ANSWERS);

  async function getJson<T>(path: string, requestId: string): Promise<ApiResult<T>> {
    const known = remembered.get(path);
    const response = await client.request({
      method: 'GET',
      path,
      headers: known
        ? { accept: 'application/json', 'if-none-match': known.etag }
        : { accept: 'application/json' },
      requestId,
      idempotent: true,
    });
    if (response.status === 304 && known) return { ok: true, value: known.value as T };
    const result = json<T>(response, 200);
    if (result.ok) remembered.set(path, response.headers.etag, result.value);
    return result;
  }

  return {
    listGoals(query, requestId) {
      let path = `/goals?limit=${query.limit ?? 50}`;
      if (query.after !== undefined) path += `&after=${query.after}`;
      if (query.done !== undefined) path += `&done=${query.done}`;
      return getJson<GoalPage>(path, requestId);
    },

    summary: (requestId) => getJson<GoalSummary>('/goals/summary', requestId),

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
      // The changes are absolute values (a name, done or not), so sending them twice is harmless.
      const response = await client.request({
        method: 'PATCH',
        path: `/goals/${id}`,
        headers: JSON_HEADERS,
        body: JSON.stringify(changes),
        requestId,
        idempotent: true,
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
      // 404 is reported as such; the pages count it as done (already gone is what was wanted).
      return response.status === 204 ? { ok: true, value: null } : refusal(response);
    },
  };
}
