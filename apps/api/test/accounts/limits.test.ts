import type { Goal } from '@goal-tracker/contract';
import { createTestServer } from '@goal-tracker/test-support/postgres';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, type App, type AppSettings } from '../../src/app.js';
import type { AbuseLimits } from '../../src/accounts/limits.js';
import {
  countGoals,
  json,
  postGoal,
  signUp,
  TEST_PASSWORD,
  TEST_SETTINGS,
  uniqueEmail,
  useTestApis,
  type TestApi,
} from '../helpers.js';

const apis = useTestApis(createTestServer);

/** A fresh database and API with these limits (the rest off), behind `trustedProxies`. */
async function apiWith(limits: Partial<AbuseLimits>, trustedProxies: string[] = []) {
  const settings: AppSettings = {
    ...TEST_SETTINGS,
    trustedProxies,
    limits: { ...TEST_SETTINGS.limits, ...limits },
  };
  return apis.create(await apis.server.createDatabase('limits'), {}, {}, settings);
}

function signIn(app: App, email: string, password: string, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/sessions',
    headers: { ...json, ...headers },
    payload: { email, password },
  });
}

function expectTooMany(response: { statusCode: number; headers: Record<string, unknown> }) {
  expect(response.statusCode).toBe(429);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
}

/** Moves every counted attempt back in time, as if the window had passed. */
async function age(api: TestApi, minutes: number) {
  await api.db.session((query) =>
    query(`UPDATE auth_attempts SET at = at - make_interval(mins => $1)`, [minutes]),
  );
}

describe('the defaults', () => {
  it('when nothing is configured, then the limits are those the documentation gives', () => {
    expect(DEFAULT_SETTINGS.limits).toEqual({
      signinFailuresPerEmail: 5,
      signinFailuresPerAddress: 20,
      signupsPerAddressPerHour: 10,
      goalWritesPerMinute: 120,
      goalsPerAccount: 10_000,
    });
  });
});

describe('failed sign-ins for one email', () => {
  it('when 5 have failed, then the 6th is 429 even with the right password, until the window passes', async () => {
    const api = await apiWith({ signinFailuresPerEmail: 5 });
    const email = api.account.account.email;
    for (let i = 0; i < 5; i += 1) {
      expect((await signIn(api.app, email, 'wrong password guess')).statusCode).toBe(401);
    }
    const refused = await signIn(api.app, email, TEST_PASSWORD);
    expectTooMany(refused);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(15 * 60);
    // Another email is not affected.
    const other = await signUp(api.app);
    expect((await signIn(api.app, other.account.email, TEST_PASSWORD)).statusCode).toBe(201);

    await age(api, 16);
    expect((await signIn(api.app, email, TEST_PASSWORD)).statusCode).toBe(201);
  });

  it('when 30 guesses arrive at once, then no more than 5 are checked and the rest are 429', async () => {
    const api = await apiWith({ signinFailuresPerEmail: 5 });
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        signIn(api.app, api.account.account.email, `guess number ${i}!`),
      ),
    );
    const statuses = responses.map((response) => response.statusCode);
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(25);
  });

  it('when the limit is 0, then failures are never refused', async () => {
    const api = await apiWith({ signinFailuresPerEmail: 0 });
    for (let i = 0; i < 7; i += 1) {
      expect(
        (await signIn(api.app, api.account.account.email, 'wrong password guess')).statusCode,
      ).toBe(401);
    }
    expect((await signIn(api.app, api.account.account.email, TEST_PASSWORD)).statusCode).toBe(201);
  });
});

describe('failed sign-ins from one address', () => {
  it('when 20 have failed across emails from one client, then that client is refused, another client is not, and a correct password elsewhere resets nothing', async () => {
    // Behind the web tier and the load balancers: the client is the first untrusted address.
    const api = await apiWith({ signinFailuresPerAddress: 20 }, ['127.0.0.1']);
    const from = (address: string) => ({ 'x-forwarded-for': address });
    for (let i = 0; i < 20; i += 1) {
      const response = await signIn(
        api.app,
        uniqueEmail('spray'),
        'wrong password guess',
        from('203.0.113.7'),
      );
      expect(response.statusCode).toBe(401);
    }
    // A correct sign-in from another address does not reset the first one's counter.
    expect(
      (await signIn(api.app, api.account.account.email, TEST_PASSWORD, from('198.51.100.1')))
        .statusCode,
    ).toBe(201);
    expectTooMany(
      await signIn(api.app, api.account.account.email, TEST_PASSWORD, from('203.0.113.7')),
    );
    expect(
      (await signIn(api.app, api.account.account.email, TEST_PASSWORD, from('198.51.100.2')))
        .statusCode,
    ).toBe(201);
    await age(api, 16);
    expect(
      (await signIn(api.app, api.account.account.email, TEST_PASSWORD, from('203.0.113.7')))
        .statusCode,
    ).toBe(201);
  });

  it('when no proxy is trusted, then X-Forwarded-For is ignored, so changing it evades nothing', async () => {
    const api = await apiWith({ signinFailuresPerAddress: 3 });
    for (let i = 0; i < 3; i += 1) {
      const response = await signIn(api.app, uniqueEmail('spray'), 'wrong password guess', {
        'x-forwarded-for': `203.0.113.${i}`,
      });
      expect(response.statusCode).toBe(401);
    }
    expectTooMany(
      await signIn(api.app, uniqueEmail('spray'), 'wrong password guess', {
        'x-forwarded-for': '203.0.113.99',
      }),
    );
  });
});

describe('sign-ups from one address', () => {
  it('when 10 accounts were made from one address in an hour, then the 11th is 429, and allowed again an hour later', async () => {
    const api = await apiWith({ signupsPerAddressPerHour: 10 });
    // The test API's own account was the first of the 10: 9 more fit.
    let made = 0;
    for (;;) {
      const response = await api.app.inject({
        method: 'POST',
        url: '/accounts',
        headers: json,
        payload: { email: uniqueEmail('burst'), password: TEST_PASSWORD },
      });
      if (response.statusCode === 429) {
        expectTooMany(response);
        break;
      }
      expect(response.statusCode).toBe(201);
      made += 1;
      expect(made).toBeLessThanOrEqual(10);
    }
    expect(made).toBe(9);
    await age(api, 61);
    expect((await signUp(api.app)).token).toBeTruthy();
  });
});

describe('goal writes per account', () => {
  it('when an account has made its writes for the minute, then the next is 429 with Retry-After, and another account is not affected', async () => {
    const api = await apiWith({ goalWritesPerMinute: 3 });
    const goal = (await postGoal(api, 'one')).json<Goal>();
    expect(
      (
        await api.inject({
          method: 'PATCH',
          url: `/goals/${goal.id}`,
          headers: json,
          payload: { done: true },
        })
      ).statusCode,
    ).toBe(200);
    expect((await postGoal(api, 'two')).statusCode).toBe(201);
    const refused = await postGoal(api, 'three');
    expectTooMany(refused);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(20);
    expect((await api.inject({ method: 'DELETE', url: `/goals/${goal.id}` })).statusCode).toBe(429);
    expect(await countGoals(api.db)).toBe(2);
    // Reads are not writes.
    expect((await api.inject({ method: 'GET', url: '/goals' })).statusCode).toBe(200);
    const other = await signUp(api.app);
    expect((await postGoal(other, 'theirs')).statusCode).toBe(201);
  });
});

describe('goals per account', () => {
  it('when an account holds as many goals as allowed, then a create is 409 saying so, and deleting one makes room', async () => {
    const api = await apiWith({ goalsPerAccount: 3 });
    const goals: Goal[] = [];
    for (const name of ['a', 'b', 'c']) goals.push((await postGoal(api, name)).json<Goal>());
    const refused = await postGoal(api, 'd');
    expect(refused.statusCode).toBe(409);
    expect(refused.json<{ detail: string }>().detail).toMatch(/at most 3 goals/);
    const keyed = await postGoal(api, 'd', { 'idempotency-key': 'over-the-cap' });
    expect(keyed.statusCode).toBe(409);
    expect(await countGoals(api.db)).toBe(3);
    await api.inject({ method: 'DELETE', url: `/goals/${goals[0]?.id}` });
    expect((await postGoal(api, 'd', { 'idempotency-key': 'over-the-cap' })).statusCode).toBe(201);
  });

  it('when 20 creates race for the last 5 places, then exactly 5 are stored', async () => {
    const api = await apiWith({ goalsPerAccount: 5 });
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        postGoal(api, `racer ${i}`, i % 2 === 0 ? { 'idempotency-key': `race-${i}` } : {}),
      ),
    );
    const statuses = responses.map((response) => response.statusCode);
    expect(statuses.filter((status) => status === 201)).toHaveLength(5);
    expect(statuses.filter((status) => status === 409)).toHaveLength(15);
    expect(await countGoals(api.db)).toBe(5);
  });
});
