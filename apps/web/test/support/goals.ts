import { localDate } from '../../src/views/goal-dates.js';
import type { AccountCreated, Goal, GoalPage, UpdateGoalInput } from '@goal-tracker/contract';

export const TEST_PASSWORD = 'a long test password';

/** Goal names that would run script if a page wrote them out as HTML rather than as text. */
export const SCRIPT_PAYLOAD = '<script>alert(1)</script>';
export const IMG_PAYLOAD = '<img src=x onerror=alert(1)>';

/** The day `offset` days from today where the tests (and so the web tier) run: YYYY-MM-DD. */
export function dayFromToday(offset: number): string {
  const day = new Date();
  day.setDate(day.getDate() + offset);
  return localDate(day);
}

let accounts = 0;

/** A fresh email, so tests sharing a database never collide. */
export function uniqueEmail(label = 'person'): string {
  accounts += 1;
  return `${label}-${process.pid}-${accounts}@example.com`;
}

/** An account made directly on the real API, and the cookie a browser would hold for it. */
export interface TestAccount {
  email: string;
  token: string;
  /** `session=<token>`: the Cookie header of a browser signed in over plain HTTP. */
  cookie: string;
}

export async function signUpOnApi(apiUrl: string, email = uniqueEmail()): Promise<TestAccount> {
  const response = await fetch(`${apiUrl}/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: TEST_PASSWORD }),
  });
  if (response.status !== 201) {
    throw new Error(`sign-up failed: ${response.status} ${await response.text()}`);
  }
  const { token } = (await response.json()) as AccountCreated;
  return { email, token, cookie: `session=${token}` };
}

/**
 * Direct calls to the real API as one account, to arrange and check its goals behind the web
 * tier's back.
 */
export function goalsClient(apiUrl: string, token: string) {
  async function call(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${apiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  async function all(): Promise<Goal[]> {
    const goals: Goal[] = [];
    let after = 0;
    for (;;) {
      const page = (await (
        await call('GET', `/goals?limit=100&after=${after}`)
      ).json()) as GoalPage;
      goals.push(...page.goals);
      if (page.next === null) return goals;
      after = page.next;
    }
  }

  return {
    all,
    async create(name: string, done = false): Promise<Goal> {
      const goal = (await (await call('POST', '/goals', { name })).json()) as Goal;
      if (!done) return goal;
      return (await (await call('PATCH', `/goals/${goal.id}`, { done: true })).json()) as Goal;
    },
    async update(id: number, changes: UpdateGoalInput): Promise<Goal> {
      return (await (await call('PATCH', `/goals/${id}`, changes)).json()) as Goal;
    },
    async get(id: number): Promise<Goal | undefined> {
      const response = await call('GET', `/goals/${id}`);
      return response.status === 200 ? ((await response.json()) as Goal) : undefined;
    },
    async clear(): Promise<void> {
      for (const goal of await all()) await call('DELETE', `/goals/${goal.id}`);
    },
  };
}

export type GoalsClient = ReturnType<typeof goalsClient>;

/**
 * A fresh account holding `count` goals ("Goal 1"…), for a test that needs many: writing them
 * (and deleting them after) as the account other tests share would use up most of the API's
 * goal writes a minute for that account.
 */
export async function accountWithGoals(apiUrl: string, count: number, prefix = 'Goal') {
  const account = await signUpOnApi(apiUrl);
  const goals = goalsClient(apiUrl, account.token);
  const created: Goal[] = [];
  for (let index = 1; index <= count; index += 1) {
    created.push(await goals.create(`${prefix} ${index}`));
  }
  return { ...account, goals, created };
}
