import type { Goal, GoalPage } from '@goal-tracker/contract';

/** Direct calls to the real API, to arrange and check state behind the web tier's back. */
export function goalsClient(apiUrl: string) {
  async function call(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${apiUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
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
    async update(id: number, changes: { name?: string; done?: boolean }): Promise<Goal> {
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
