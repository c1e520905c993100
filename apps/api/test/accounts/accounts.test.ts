import type { AccountCreated, Goal, GoalPage, SessionCreated } from '@goal-tracker/contract';
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import {
  changePassword,
  createTestApi,
  deleteAccount,
  injectAs,
  json,
  postGoal,
  signUp,
  TEST_PASSWORD,
  TEST_SETTINGS,
  uniqueEmail,
  useTestApi,
} from '../helpers.js';

const api = useTestApi('accounts');

function post(app: App, url: string, payload: unknown, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url,
    headers: { ...json, ...headers },
    payload: payload as object,
  });
}

async function signIn(app: App, email: string, password = TEST_PASSWORD) {
  return post(app, '/sessions', { email, password });
}

function expectProblem(
  response: { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
}

describe('sign-up (POST /accounts)', () => {
  it('when the email and password are good, then 201 with the account, a working token and a recovery code, and nothing secret echoed', async () => {
    const email = `  Mixed.Case-${Date.now()}@Example.COM `;
    const response = await post(api.app, '/accounts', { email, password: TEST_PASSWORD });
    expect(response.statusCode).toBe(201);
    expect(response.headers['cache-control']).toBe('no-store');
    const created = response.json<AccountCreated>();
    expect(created.account.email).toBe(email.trim());
    expect(created.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.recoveryCode).toMatch(/^([0-9A-Z]{4}-){7}[0-9A-Z]{4}$/);
    expect(response.body).not.toContain(TEST_PASSWORD);
    const me = await injectAs(api.app, created.token, { method: 'GET', url: '/account' });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual(created.account);
  });

  it('when the email is taken in another case, then 409 and no second account', async () => {
    const email = uniqueEmail('taken');
    await signUp(api.app, email);
    const again = await post(api.app, '/accounts', {
      email: ` ${email.toUpperCase()} `,
      password: 'another long password',
    });
    expectProblem(again, 409);
    const { rows } = await api.db.session((query) =>
      query<{ count: number }>(
        'SELECT count(*)::int AS count FROM accounts WHERE lower(email) = lower($1)',
        [email],
      ),
    );
    expect(rows[0]?.count).toBe(1);
  });

  it.each([
    ['shorter than 12 characters', 'short pass1', /at least 12/],
    ['12 emoji are 12 characters', '🎯'.repeat(11), /at least 12/],
    ['over 128 characters', 'x'.repeat(129), /128/],
    ['a common password', 'Password1234', /common/],
    ['the email itself', 'EMAIL', /email/],
  ])('when the password is %s, then 422 naming the rule', async (_case, password, message) => {
    const email = uniqueEmail('weak');
    const response = await post(api.app, '/accounts', {
      email,
      password: password === 'EMAIL' ? email : password,
    });
    expectProblem(response, 422);
    expect(response.json<{ detail: string }>().detail).toMatch(message);
    expect(response.body).not.toContain(password);
    expect((await signIn(api.app, email, password)).statusCode).toBe(401);
  });

  it('when the password has exactly 12 characters of any kind, then it is accepted', async () => {
    expect(
      (await post(api.app, '/accounts', { email: uniqueEmail(), password: '🎯 ünï cödé 1' }))
        .statusCode,
    ).toBe(201);
  });

  it.each([
    ['no @', { email: 'not-an-email', password: TEST_PASSWORD }],
    ['a space inside', { email: 'a b@example.com', password: TEST_PASSWORD }],
    ['no password', { email: 'x@example.com' }],
    ['an extra field', { email: 'x@example.com', password: TEST_PASSWORD, admin: true }],
  ])('when the body has %s, then 400', async (_case, body) => {
    expectProblem(await post(api.app, '/accounts', body), 400);
  });
});

describe('sign-in (POST /sessions)', () => {
  it('when the password is right, then 201 with a new token at every sign-in, each working', async () => {
    const person = await signUp(api.app);
    const email = ` ${person.account.email.toUpperCase()} `;
    const first = await signIn(api.app, email);
    const second = await signIn(api.app, email);
    expect(first.statusCode).toBe(201);
    const tokens = [
      person.token,
      first.json<SessionCreated>().token,
      second.json<SessionCreated>().token,
    ];
    expect(new Set(tokens).size).toBe(3);
    for (const token of tokens) {
      expect((await injectAs(api.app, token, { method: 'GET', url: '/goals' })).statusCode).toBe(
        200,
      );
    }
    expect(first.json<SessionCreated>().account).toEqual(person.account);
  });

  it('when the password is wrong or the email unknown, then the same 401 problem, saying neither which', async () => {
    const person = await signUp(api.app);
    const wrong = await signIn(api.app, person.account.email, 'not the password at all');
    const unknown = await signIn(api.app, uniqueEmail('nobody'), 'not the password at all');
    expectProblem(wrong, 401);
    expectProblem(unknown, 401);
    expect(wrong.json()).toEqual(unknown.json());
    expect(wrong.json<{ detail: string }>().detail).toBe('The email or password is incorrect.');
    expect(wrong.headers['www-authenticate']).toBeUndefined();
  });

  it('when a wrong password is tried for a real and for an unknown email, then both take the time of a hash, alike within noise', async () => {
    const person = await signUp(api.app);
    const timed = async (email: string) => {
      const started = performance.now();
      expect((await signIn(api.app, email, 'wrong password here')).statusCode).toBe(401);
      return performance.now() - started;
    };
    const real: number[] = [];
    const unknown: number[] = [];
    // Interleaved, so load from elsewhere on the machine falls on both alike.
    for (let i = 0; i < 10; i += 1) {
      real.push(await timed(person.account.email));
      unknown.push(await timed(uniqueEmail('unknown')));
    }
    const median = (values: number[]) =>
      [...values].sort((a, b) => a - b)[values.length >> 1] as number;
    // The hash itself (Argon2id, 19 MiB) takes milliseconds: an unknown email skipping it would
    // answer in a fraction of the time.
    expect(median(unknown)).toBeGreaterThan(median(real) * 0.5);
    expect(median(unknown)).toBeLessThan(median(real) * 2);
  });
});

describe('tokens on the goals routes', () => {
  const routes = [
    ['GET', '/goals'],
    ['GET', '/goals/summary'],
    ['POST', '/goals'],
    ['GET', '/goals/1'],
    ['PATCH', '/goals/1'],
    ['DELETE', '/goals/1'],
    ['GET', '/account'],
    ['DELETE', '/sessions/current'],
  ] as const;

  it.each(routes)(
    'when %s %s has no Authorization, then 401 with WWW-Authenticate: Bearer',
    async (method, url) => {
      const response = await api.app.inject({
        method,
        url,
        headers: json,
        payload: method === 'POST' || method === 'PATCH' ? { name: 'x' } : undefined,
      });
      expectProblem(response, 401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
    },
  );

  it.each([
    ['malformed', 'Bearer not-a-token'],
    ['another scheme', `Basic ${'a'.repeat(43)}`],
    ['empty', 'Bearer '],
    ['unknown', `Bearer ${'A'.repeat(43)}`],
  ])(
    'when the token is %s, then 401 with error="invalid_token" or the bare challenge, and nothing created',
    async (_case, authorization) => {
      const response = await api.app.inject({
        method: 'POST',
        url: '/goals',
        headers: { ...json, authorization },
        payload: { name: 'Sneaky' },
      });
      expectProblem(response, 401);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
      const { rows } = await api.db.session((query) =>
        query("SELECT 1 FROM goals WHERE goal_name = 'Sneaky'"),
      );
      expect(rows).toHaveLength(0);
    },
  );

  it('when a session is past its absolute expiry in the database, then its token is refused', async () => {
    const person = await signUp(api.app);
    const fresh = (await signIn(api.app, person.account.email)).json<SessionCreated>().token;
    await api.db.session((query) =>
      query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE account_id = $1", [
        person.account.id,
      ]),
    );
    expect((await injectAs(api.app, fresh, { method: 'GET', url: '/goals' })).statusCode).toBe(401);
  });

  it('when a session has been idle past the idle timeout, then its token is refused', async () => {
    const person = await signUp(api.app);
    const fresh = (await signIn(api.app, person.account.email)).json<SessionCreated>().token;
    await api.db.session((query) =>
      query("UPDATE sessions SET last_used_at = now() - interval '8 days' WHERE account_id = $1", [
        person.account.id,
      ]),
    );
    expect((await injectAs(api.app, fresh, { method: 'GET', url: '/goals' })).statusCode).toBe(401);
  });

  it('when a remembered session reaches its expiry, then it is refused without asking the database', async () => {
    const shortLived = await createTestApi(
      await api.createDatabase('short_sessions'),
      {},
      {},
      {
        ...TEST_SETTINGS,
        sessions: { absoluteSeconds: 1, idleSeconds: 60 },
      },
    );
    try {
      await shortLived.inject({ method: 'GET', url: '/goals' });
      expect((await shortLived.inject({ method: 'GET', url: '/goals' })).statusCode).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect((await shortLived.inject({ method: 'GET', url: '/goals' })).statusCode).toBe(401);
    } finally {
      await shortLived.close();
    }
  });

  it("when signed out, then that token is refused at once and the account's other sessions still work", async () => {
    const person = await signUp(api.app);
    const other = (await signIn(api.app, person.account.email)).json<SessionCreated>().token;
    expect((await person.inject({ method: 'GET', url: '/goals' })).statusCode).toBe(200);
    expect((await person.inject({ method: 'DELETE', url: '/sessions/current' })).statusCode).toBe(
      204,
    );
    const after = await person.inject({ method: 'GET', url: '/goals' });
    expectProblem(after, 401);
    expect(after.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect((await injectAs(api.app, other, { method: 'GET', url: '/goals' })).statusCode).toBe(200);
    const { rows } = await api.db.session((query) =>
      query('SELECT 1 FROM sessions WHERE account_id = $1', [person.account.id]),
    );
    expect(rows).toHaveLength(1);
  });
});

describe("one account never reaches another's goals", () => {
  it("when a second account lists, counts, pages, reads, renames, ticks or deletes, then it sees none of the first's goals and changes nothing", async () => {
    const first = await signUp(api.app);
    const second = await signUp(api.app);
    const goals: Goal[] = [];
    for (const name of ['One', 'Two', 'Three'])
      goals.push((await postGoal(first, name)).json<Goal>());
    const target = goals[0] as Goal;

    const list = await second.inject({ method: 'GET', url: '/goals' });
    expect(list.json<GoalPage>()).toEqual({ goals: [], next: null, cursor: null });
    const paged = await second.inject({ method: 'GET', url: `/goals?after=0&limit=1&done=false` });
    expect(paged.json<GoalPage>().goals).toEqual([]);
    const summary = await second.inject({ method: 'GET', url: '/goals/summary' });
    expect(summary.json()).toEqual({ total: 0, done: 0, active: 0, overdue: 0 });

    const get = await second.inject({ method: 'GET', url: `/goals/${target.id}` });
    const missing = await second.inject({ method: 'GET', url: '/goals/999999999' });
    expectProblem(get, 404);
    expect(get.json<{ title: string }>().title).toBe(missing.json<{ title: string }>().title);
    expectProblem(
      await second.inject({
        method: 'PATCH',
        url: `/goals/${target.id}`,
        headers: json,
        payload: { name: 'Hijacked', done: true },
      }),
      404,
    );
    expectProblem(await second.inject({ method: 'DELETE', url: `/goals/${target.id}` }), 404);

    const still = await first.inject({ method: 'GET', url: `/goals/${target.id}` });
    expect(still.json()).toEqual(target);
    expect((await first.inject({ method: 'GET', url: '/goals/summary' })).json()).toEqual({
      total: 3,
      done: 0,
      active: 3,
      overdue: 0,
    });
  });

  it('when two accounts use the same Idempotency-Key, then each gets its own goal', async () => {
    const first = await signUp(api.app);
    const second = await signUp(api.app);
    const a = await postGoal(first, 'Mine', { 'idempotency-key': 'shared-key-1' });
    const b = await postGoal(second, 'Mine', { 'idempotency-key': 'shared-key-1' });
    expect(a.statusCode).toBe(201);
    expect(b.statusCode).toBe(201);
    expect(b.headers['idempotent-replayed']).toBeUndefined();
    expect(a.json<Goal>().id).not.toBe(b.json<Goal>().id);
  });

  it('when each account pages through its goals, then the pages hold only its own, in order', async () => {
    const first = await signUp(api.app);
    const second = await signUp(api.app);
    for (let i = 0; i < 5; i += 1) {
      await postGoal(first, `first ${i}`);
      await postGoal(second, `second ${i}`);
    }
    const names: string[] = [];
    let after = 0;
    for (;;) {
      const page = (
        await second.inject({ method: 'GET', url: `/goals?limit=2&after=${after}` })
      ).json<GoalPage>();
      names.push(...page.goals.map((goal) => goal.name));
      if (page.next === null) break;
      after = page.next;
    }
    expect(names).toEqual(['second 4', 'second 3', 'second 2', 'second 1', 'second 0']);
  });
});

describe('changing the password (POST /account/password)', () => {
  it('when the current password is right, then every session ends, a new token works, and only the new password signs in', async () => {
    const person = await signUp(api.app);
    const other = (await signIn(api.app, person.account.email)).json<SessionCreated>().token;
    const changed = await changePassword(person, 'a brand new passphrase');
    expect(changed.statusCode).toBe(201);
    const token = changed.json<SessionCreated>().token;
    expect((await person.inject({ method: 'GET', url: '/goals' })).statusCode).toBe(401);
    expect((await injectAs(api.app, other, { method: 'GET', url: '/goals' })).statusCode).toBe(401);
    expect((await injectAs(api.app, token, { method: 'GET', url: '/goals' })).statusCode).toBe(200);
    expect((await signIn(api.app, person.account.email)).statusCode).toBe(401);
    expect((await signIn(api.app, person.account.email, 'a brand new passphrase')).statusCode).toBe(
      201,
    );
  });

  it('when the current password is wrong, then 401 and nothing changes', async () => {
    const person = await signUp(api.app);
    const refused = await changePassword(person, 'a brand new passphrase', 'wrong wrong wrong');
    expectProblem(refused, 401);
    expect((await person.inject({ method: 'GET', url: '/goals' })).statusCode).toBe(200);
    expect((await signIn(api.app, person.account.email)).statusCode).toBe(201);
  });
});

describe('recovery (POST /account/recovery)', () => {
  it('when the code is right, then the password is reset, every session ends, and a new code replaces the used one', async () => {
    const person = await signUp(api.app);
    const recover = (code: string, newPassword: string) =>
      post(api.app, '/account/recovery', {
        email: person.account.email,
        recoveryCode: code,
        newPassword,
      });
    // Typed back loosely: lower case, spaces instead of dashes.
    const loose = person.recoveryCode.toLowerCase().replaceAll('-', ' ');
    const recovered = await recover(loose, 'recovered passphrase one');
    expect(recovered.statusCode).toBe(201);
    const body = recovered.json<AccountCreated>();
    expect(body.recoveryCode).not.toBe(person.recoveryCode);
    expect((await person.inject({ method: 'GET', url: '/goals' })).statusCode).toBe(401);
    expect((await injectAs(api.app, body.token, { method: 'GET', url: '/goals' })).statusCode).toBe(
      200,
    );
    expect(
      (await signIn(api.app, person.account.email, 'recovered passphrase one')).statusCode,
    ).toBe(201);

    expectProblem(await recover(person.recoveryCode, 'recovered passphrase two'), 401);
    expect((await recover(body.recoveryCode, 'recovered passphrase two')).statusCode).toBe(201);
  });

  it('when the code is wrong, then 401 and the password still works', async () => {
    const person = await signUp(api.app);
    const refused = await post(api.app, '/account/recovery', {
      email: person.account.email,
      recoveryCode: 'AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH',
      newPassword: 'recovered passphrase one',
    });
    expectProblem(refused, 401);
    expect((await signIn(api.app, person.account.email)).statusCode).toBe(201);
  });

  it('when only the hash of the code is stored, then the database never holds the code or the password', async () => {
    const person = await signUp(api.app);
    const { rows } = await api.db.session((query) =>
      query<Record<string, unknown>>('SELECT * FROM accounts WHERE id = $1', [person.account.id]),
    );
    const stored = JSON.stringify(rows[0]);
    expect(stored).not.toContain(person.recoveryCode);
    expect(stored).not.toContain(TEST_PASSWORD);
    expect(String(rows[0]?.password_hash)).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const sessions = await api.db.session((query) =>
      query<{ token_hash: Buffer }>('SELECT token_hash FROM sessions WHERE account_id = $1', [
        person.account.id,
      ]),
    );
    expect(sessions.rows[0]?.token_hash).toHaveLength(32);
    expect(sessions.rows[0]?.token_hash.toString('base64url')).not.toBe(person.token);
  });
});

describe('deleting the account (DELETE /account)', () => {
  it('when the password is right, then the account, its goals, keys and sessions are gone and its token is refused', async () => {
    const person = await signUp(api.app);
    await postGoal(person, 'Going away', { 'idempotency-key': 'delete-me-key' });
    const refused = await deleteAccount(person, 'wrong wrong wrong');
    expectProblem(refused, 401);
    const deleted = await deleteAccount(person);
    expect(deleted.statusCode).toBe(204);
    expect((await person.inject({ method: 'GET', url: '/goals' })).statusCode).toBe(401);
    expect((await signIn(api.app, person.account.email)).statusCode).toBe(401);
    const left = await api.db.session((query) =>
      query<{ n: number }>(
        `SELECT (SELECT count(*) FROM goals WHERE account_id = $1)
          + (SELECT count(*) FROM sessions WHERE account_id = $1)
          + (SELECT count(*) FROM idempotency_keys WHERE account_id = $1)
          + (SELECT count(*) FROM accounts WHERE id = $1) AS n`,
        [person.account.id],
      ),
    );
    expect(Number(left.rows[0]?.n)).toBe(0);
  });
});
