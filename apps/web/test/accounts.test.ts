import { Writable } from 'node:stream';
import { SIGN_IN_FAILED } from '@goal-tracker/contract';
import { freePort } from '@goal-tracker/test-support/free-port';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { buildApp } from '../src/app.js';
import { SESSION_MAX_AGE_SECONDS } from '../src/session.js';
import {
  COMMON_PASSWORD,
  startFakeAccountsApi,
  type FakeAccountsApi,
  UNSET_GOAL_FIELDS,
} from './support/fake-accounts-api.js';
import {
  buildWeb,
  ensureClientBuilt,
  postForm,
  SAME_ORIGIN,
  sessionCookie,
} from './support/web.js';

// Accounts in the web tier against a stand-in API that speaks the accounts contract (Bearer
// tokens, one goal list per account). The real API's side is covered in browser.test.ts.

const PASSWORD = 'correct horse battery';
const HTTPS = { 'x-forwarded-proto': 'https' };

let api: FakeAccountsApi;
let web: FastifyInstance;

beforeEach(async () => {
  api = await startFakeAccountsApi();
  web = await buildWeb(api.url);
});

afterEach(async () => {
  await web.close();
  await api.close();
});

function page(url: string, cookie?: string, headers: Record<string, string> = {}) {
  return web.inject({ method: 'GET', url, headers: { ...headers, ...(cookie ? { cookie } : {}) } });
}

function post(url: string, fields: Record<string, string>, cookie?: string, headers = {}) {
  return postForm(web, url, fields, { ...SAME_ORIGIN, ...headers, ...(cookie ? { cookie } : {}) });
}

/** Signs up through the web tier and returns the cookie the browser would send back. */
async function signUp(email: string, password = PASSWORD): Promise<string> {
  const response = await post('/signup', { email, password });
  expect(response.statusCode).toBe(201);
  return sessionCookie(response);
}

async function signIn(email: string, password = PASSWORD): Promise<string> {
  const response = await post('/signin', { email, password });
  expect(response.statusCode).toBe(303);
  return sessionCookie(response);
}

const tokenOf = (cookie: string) => cookie.slice(cookie.indexOf('=') + 1);

/** The API calls made with this token, as "METHOD /path". */
function callsWith(cookie: string): string[] {
  return api.seen
    .filter((seen) => seen.headers.authorization === `Bearer ${tokenOf(cookie)}`)
    .map((seen) => `${seen.method} ${seen.url}`);
}

describe('when nobody is signed in', () => {
  test('when the goals page is asked for without a cookie, then 303 to /signin and the API is not asked', async () => {
    const response = await page('/?filter=done');
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/signin');
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(api.seen).toEqual([]);
  });

  test('when the cookie holds a token the API no longer accepts, then 303 to /signin and the cookie is cleared', async () => {
    const response = await page('/', 'session=ended-token-0123456789abcdef');
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/signin');
    expect(response.headers['set-cookie']).toBe(
      'session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax',
    );
  });

  test('when a goal form is posted without a session, then 303 to /signin and nothing is sent', async () => {
    for (const url of ['/goals', '/goals/1/toggle', '/goals/1/rename', '/goals/1/delete']) {
      const response = await post(url, { name: 'Nobody', done: 'true' });
      expect(response.statusCode, url).toBe(303);
      expect(response.headers.location, url).toBe('/signin');
    }
    expect(api.seen).toEqual([]);
  });

  test('when the account page is asked for, then 303 to /signin', async () => {
    const response = await page('/account');
    expect(response.headers.location).toBe('/signin');
  });
});

describe('sign-up', () => {
  test('when the sign-up page is shown, then it says no email is sent, and its fields are labelled and bounded', async () => {
    const { statusCode, body } = await page('/signup');
    expect(statusCode).toBe(200);
    expect(body).toContain('No email is ever sent');
    expect(body).toContain('that code is the only way back in');
    expect(body).toMatch(/<label class="label" for="signup-email">Email<\/label>/);
    expect(body).toMatch(/id="signup-email"[^>]*type="email"[^>]*autocomplete="email"/);
    expect(body).toMatch(
      /id="signup-password"[^>]*type="password"[^>]*autocomplete="new-password"[^>]*minlength="12" maxlength="128"/,
    );
    expect(body).toMatch(/id="signup-password"[^>]*aria-describedby="signup-password-hint"/);
    expect(body.match(/<h1[\s>]/g)).toHaveLength(1);
  });

  test('when someone signs up over HTTP, then the cookie is HttpOnly, SameSite=Lax, for 30 days, without Secure', async () => {
    const response = await post('/signup', { email: 'ada@example.com', password: PASSWORD });
    expect(response.statusCode).toBe(201);
    const cookie = String(response.headers['set-cookie']);
    expect(cookie).toMatch(
      new RegExp(
        `^session=[\\w-]{43}; Path=/; Max-Age=${SESSION_MAX_AGE_SECONDS}; HttpOnly; SameSite=Lax$`,
      ),
    );
    expect(SESSION_MAX_AGE_SECONDS).toBe(30 * 24 * 60 * 60);
    expect(api.isLive(tokenOf(sessionCookie(response)))).toBe(true);
  });

  test('when someone signs up over HTTPS, then the cookie is __Host-session and Secure, and only that name is read', async () => {
    const response = await post(
      '/signup',
      { email: 'ada@example.com', password: PASSWORD },
      undefined,
      HTTPS,
    );
    expect(response.statusCode).toBe(201);
    const cookie = String(response.headers['set-cookie']);
    expect(cookie).toMatch(
      /^__Host-session=[\w-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax; Secure$/,
    );
    const secure = sessionCookie(response);
    expect((await page('/', secure, HTTPS)).statusCode).toBe(200);
    // The same token under the plain name is not read over HTTPS, nor the prefixed one over HTTP.
    expect((await page('/', `session=${tokenOf(secure)}`, HTTPS)).headers.location).toBe('/signin');
    expect((await page('/', secure)).headers.location).toBe('/signin');
  });

  test('when someone signs up, then the recovery code is shown once, in the answer itself, and never again', async () => {
    const response = await post('/signup', { email: 'ada@example.com', password: PASSWORD });
    expect(response.statusCode).toBe(201);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers.location).toBeUndefined();
    const code = /<code class="recovery-code" id="recovery-code">([^<]+)<\/code>/.exec(
      response.body,
    )?.[1];
    expect(code).toMatch(/^[\w-]{20}$/);
    expect(response.body).toContain('It is shown only this once.');
    expect(response.body).toContain('href="/"');
    expect(String(response.headers['set-cookie'])).not.toContain(code);
    const cookie = sessionCookie(response);
    for (const url of ['/', '/account', '/signup']) {
      expect((await page(url, cookie)).body, url).not.toContain(code);
    }
  });

  test('when goals from before accounts exist, then the sign-up page says they are now the person’s', async () => {
    const at = '2026-01-01T00:00:00.000Z';
    api.state.unownedGoals.push(
      { id: 900, name: 'Old one', done: false, createdAt: at, updatedAt: at, ...UNSET_GOAL_FIELDS },
      { id: 901, name: 'Old two', done: true, createdAt: at, updatedAt: at, ...UNSET_GOAL_FIELDS },
    );
    const response = await post('/signup', { email: 'first@example.com', password: PASSWORD });
    expect(response.body).toContain('The 2 goals made before accounts existed are now yours.');
    const list = await page('/', sessionCookie(response));
    expect(list.body).toContain('Old one');
    expect(list.body).not.toContain('are now yours');
  });

  test('when the email is not an address, then 400 with the reason on the field and the text kept, escaped', async () => {
    const response = await post('/signup', { email: 'ada <b>@example.com', password: PASSWORD });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('Enter an email address such as name@example.com.');
    expect(response.body).toContain('value="ada &lt;b&gt;@example.com"');
    expect(response.body).toMatch(/id="signup-email"[^>]*aria-describedby="signup-email-error"/);
    expect(api.seen).toEqual([]);
  });

  test('when the password is too short, then 422 with the reason tied to the field, the email kept and the password not', async () => {
    const weak = await post('/signup', { email: 'ada@example.com', password: 'short pass' });
    expect(weak.statusCode).toBe(422);
    expect(weak.body).toContain('Use at least 12 characters.');
    expect(weak.body).toMatch(
      /id="signup-password"[^>]*aria-invalid="true" aria-describedby="signup-password-hint signup-password-error"/,
    );
    expect(weak.body).toContain('value="ada@example.com"');
    expect(weak.body).not.toContain('short pass');
    expect(weak.headers['set-cookie']).toBeUndefined();
    expect(api.seen).toEqual([]);
  });

  test('when the API finds the password too common, then its reason is shown on the field', async () => {
    const response = await post('/signup', { email: 'ada@example.com', password: COMMON_PASSWORD });
    expect(response.statusCode).toBe(422);
    expect(response.body).toContain('one of the most common ones');
    expect(response.body).not.toContain(COMMON_PASSWORD);
  });

  test('when the email already has an account, then 409 and the field says so', async () => {
    await signUp('ada@example.com');
    const response = await post('/signup', { email: 'ADA@example.com', password: PASSWORD });
    expect(response.statusCode).toBe(409);
    expect(response.body).toContain('An account with this email already exists.');
    expect(response.body).toMatch(/id="signup-email"[^>]*aria-invalid="true"/);
  });

  test('when someone signed in opens the sign-in or sign-up page, then 303 to their goals', async () => {
    const cookie = await signUp('ada@example.com');
    for (const url of ['/signin', '/signup']) {
      const response = await page(url, cookie);
      expect(response.statusCode, url).toBe(303);
      expect(response.headers.location, url).toBe('/');
    }
  });
});

describe('sign-in', () => {
  test('when someone signs in, then each time the cookie holds a new token, and a replaced session is ended', async () => {
    const first = await signUp('ada@example.com');
    const second = await signIn('ada@example.com');
    // Signing in over an existing session (say, a fixed token planted before) replaces it.
    const thirdResponse = await post(
      '/signin',
      { email: 'ada@example.com', password: PASSWORD },
      second,
    );
    const third = sessionCookie(thirdResponse);
    expect(new Set([first, second, third]).size).toBe(3);
    expect(thirdResponse.headers.location).toBe('/');
    await expect.poll(() => api.isLive(tokenOf(second))).toBe(false);
    expect(api.isLive(tokenOf(third))).toBe(true);
  });

  test('when the password is wrong, then 401 with the generic message, the email kept and the password gone', async () => {
    await signUp('ada@example.com');
    const response = await post('/signin', {
      email: 'ada@example.com',
      password: 'wrong but long <b>',
    });
    expect(response.statusCode).toBe(401);
    expect(response.body).toContain(SIGN_IN_FAILED);
    expect(response.body).toContain('value="ada@example.com"');
    expect(response.body).not.toContain('wrong but long');
    expect(response.body).toMatch(
      /id="signin-password"[^>]*aria-invalid="true" aria-describedby="signin-password-error"[^>]*autofocus/,
    );
    expect(response.body).toContain('<title>Error: The email or password is incorrect.');
    expect(response.headers['set-cookie']).toBeUndefined();
    // An unknown email gets the very same answer.
    const unknown = await post('/signin', { email: 'nobody@example.com', password: PASSWORD });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.body).toContain(SIGN_IN_FAILED);
  });

  test('when there were too many attempts, then 429 says how long to wait, with Retry-After', async () => {
    api.state.rateLimitSeconds = 90;
    const response = await post('/signin', { email: 'ada@example.com', password: PASSWORD });
    expect(response.statusCode).toBe(429);
    expect(response.headers['retry-after']).toBe('90');
    expect(response.body).toContain('Too many attempts. Wait 2 minutes and try again.');
    expect(response.body).toContain('value="ada@example.com"');
    const signUpLimited = await post('/signup', { email: 'bo@example.com', password: PASSWORD });
    expect(signUpLimited.statusCode).toBe(429);
  });

  test('when the first sign-in takes over the goals from before accounts, then the list says so once', async () => {
    await signUp('ada@example.com');
    const at = '2026-01-01T00:00:00.000Z';
    api.state.unownedGoals.push({
      id: 900,
      name: 'Old',
      done: false,
      createdAt: at,
      updatedAt: at,
      ...UNSET_GOAL_FIELDS,
    });
    const response = await post('/signin', { email: 'ada@example.com', password: PASSWORD });
    expect(response.headers.location).toBe('/?adopted=1');
    const list = await page('/?adopted=1', sessionCookie(response));
    expect(list.body).toContain('The goal made before accounts existed is now yours.');
  });

  test('when someone signs up, in or back, then the API hears their address, and a visitor cannot choose it by sending X-Forwarded-For', async () => {
    const claimed = { 'x-forwarded-for': '203.0.113.7' };
    await post('/signup', { email: 'ada@example.com', password: PASSWORD }, undefined, claimed);
    await post('/signin', { email: 'ada@example.com', password: PASSWORD }, undefined, claimed);
    await post('/recover', { email: 'ada@example.com', recoveryCode: 'x', newPassword: PASSWORD });
    await web.inject({ method: 'POST', url: '/api/sessions', headers: claimed, payload: {} });
    // No proxy is trusted: the visitor is the peer, whatever the header claims.
    expect(api.seen.map((seen) => seen.headers['x-forwarded-for'])).toEqual([
      '127.0.0.1',
      '127.0.0.1',
      '127.0.0.1',
      '127.0.0.1',
    ]);
  });

  test('when the peer is a trusted load balancer, then the API hears the visitor it names', async () => {
    const behindBalancer = await buildWeb(api.url, {}, ['127.0.0.1']);
    try {
      const fromBalancer = { 'x-forwarded-for': '198.51.100.9, 203.0.113.7' };
      await postForm(
        behindBalancer,
        '/signin',
        { email: 'ada@example.com', password: PASSWORD },
        { ...SAME_ORIGIN, ...fromBalancer },
      );
      // The nearest address outside the trusted ones: what the balancer itself saw.
      expect(api.seen.at(-1)?.headers['x-forwarded-for']).toBe('203.0.113.7');
    } finally {
      await behindBalancer.close();
    }
  });

  test('when a sign-in form comes from another site, then 403 and the API is not asked', async () => {
    const response = await postForm(
      web,
      '/signin',
      { email: 'ada@example.com', password: PASSWORD },
      { origin: 'https://evil.example' },
    );
    expect(response.statusCode).toBe(403);
    expect(api.seen).toEqual([]);
  });

  test('when the API is down, then the sign-in form says so with 503 and keeps the email', async () => {
    const dead = await buildWeb(`http://127.0.0.1:${await freePort()}`);
    try {
      const response = await postForm(dead, '/signin', {
        email: 'ada@example.com',
        password: PASSWORD,
      });
      expect(response.statusCode).toBe(503);
      expect(response.body).toContain('Accounts are unavailable right now.');
      expect(response.body).toContain('value="ada@example.com"');
    } finally {
      await dead.close();
    }
  });
});

describe('sign-out', () => {
  test('when someone signs out, then the API ends the session and the cookie is cleared', async () => {
    const cookie = await signUp('ada@example.com');
    const response = await post('/signout', {}, cookie);
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/signin?status=signed-out');
    expect(response.headers['set-cookie']).toBe(
      'session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax',
    );
    expect(callsWith(cookie)).toContain('DELETE /sessions/current');
    expect(api.isLive(tokenOf(cookie))).toBe(false);
    expect((await page('/signin?status=signed-out')).body).toContain('You are signed out.');
  });

  test('when the API cannot be reached, then the cookie is cleared all the same', async () => {
    const dead = await buildWeb(`http://127.0.0.1:${await freePort()}`);
    try {
      const response = await postForm(
        dead,
        '/signout',
        {},
        {
          ...SAME_ORIGIN,
          cookie: 'session=some-token-0123456789abcdef',
          ...HTTPS,
        },
      );
      expect(response.statusCode).toBe(303);
      expect(response.headers['set-cookie']).toBe(
        '__Host-session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure',
      );
    } finally {
      await dead.close();
    }
  });

  test('when a sign-out form comes from another site, then 403 and the session stays', async () => {
    const cookie = await signUp('ada@example.com');
    const response = await postForm(
      web,
      '/signout',
      {},
      { 'sec-fetch-site': 'cross-site', cookie },
    );
    expect(response.statusCode).toBe(403);
    expect(api.isLive(tokenOf(cookie))).toBe(true);
  });
});

describe('the session token reaches the API as a Bearer token', () => {
  test('when the goals page is loaded, then the list, the count and the account are asked for with the token, and the header shows who is signed in', async () => {
    const cookie = await signUp('ada+<i>@example.com');
    api.seen.length = 0;
    const response = await page('/', cookie);
    expect(response.statusCode).toBe(200);
    expect(callsWith(cookie).sort()).toEqual([
      'GET /account',
      'GET /goals/summary',
      'GET /goals?limit=50',
    ]);
    expect(api.seen.every((seen) => seen.headers.cookie === undefined)).toBe(true);
    expect(response.body).toContain(
      'Signed in as <strong class="account-email">ada+&lt;i&gt;@example.com</strong>',
    );
    expect(response.body).toContain('<a class="account-link" href="/account">Account</a>');
    expect(response.body).toMatch(/<form class="sign-out-form" method="post" action="\/signout">/);
  });

  test('when goals are added, ticked, renamed and deleted through the forms, then every call carries the token', async () => {
    const cookie = await signUp('ada@example.com');
    api.seen.length = 0;
    expect((await post('/goals', { name: 'Walk' }, cookie)).headers.location).toBe(
      '/?status=added',
    );
    const [goal] = api.goalsOf('ada@example.com');
    const id = goal!.id;
    expect((await post(`/goals/${id}/toggle`, { done: 'true' }, cookie)).statusCode).toBe(303);
    expect((await post(`/goals/${id}/rename`, { name: 'Run' }, cookie)).statusCode).toBe(303);
    expect((await post(`/goals/${id}/delete`, {}, cookie)).statusCode).toBe(303);
    expect(callsWith(cookie)).toEqual([
      'POST /goals',
      `PATCH /goals/${id}`,
      `PATCH /goals/${id}`,
      `DELETE /goals/${id}`,
    ]);
    expect(api.seen).toHaveLength(4);
  });

  test('when another account’s goal is changed through a form, then it is treated as missing', async () => {
    const ada = await signUp('ada@example.com');
    await post('/goals', { name: 'Ada’s' }, ada);
    const id = api.goalsOf('ada@example.com')[0]!.id;
    const bo = await signUp('bo@example.com');
    const response = await post(`/goals/${id}/rename`, { name: 'Taken' }, bo);
    expect(response.headers.location).toBe('/?status=missing');
    expect(api.goalsOf('ada@example.com')[0]?.name).toBe('Ada’s');
  });

  test('when the session ends between page and form, then the form post leads to /signin and clears the cookie', async () => {
    const cookie = await signUp('ada@example.com');
    await post('/signout', {}, cookie);
    const response = await post('/goals', { name: 'Too late' }, cookie);
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/signin');
    expect(String(response.headers['set-cookie'])).toContain('Max-Age=0');
  });

  test('when the page script calls /api with the cookie, then the API gets the token, never the cookie', async () => {
    const cookie = await signUp('ada@example.com');
    api.seen.length = 0;
    const created = await web.inject({
      method: 'POST',
      url: '/api/goals',
      headers: {
        ...SAME_ORIGIN,
        cookie: `${cookie}; theme=dark`,
        'content-type': 'application/json',
      },
      payload: JSON.stringify({ name: 'From the script' }),
    });
    expect(created.statusCode).toBe(201);
    const listed = await web.inject({ method: 'GET', url: '/api/goals', headers: { cookie } });
    expect(listed.json<{ goals: { name: string }[] }>().goals.map((g) => g.name)).toEqual([
      'From the script',
    ]);
    expect(callsWith(cookie)).toEqual(['POST /goals', 'GET /goals']);
    expect(api.seen.every((seen) => seen.headers.cookie === undefined)).toBe(true);
  });

  test('when a caller sends its own Authorization, then the proxy passes it on unchanged, even beside a cookie', async () => {
    await signUp('ada@example.com');
    const scripted = await web.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email: 'ada@example.com', password: PASSWORD }),
    });
    expect(scripted.statusCode).toBe(201);
    // The token is in the JSON for the script; this tier sets no cookie from it.
    expect(scripted.headers['set-cookie']).toBeUndefined();
    const { token } = scripted.json<{ token: string }>();
    const bo = await signUp('bo@example.com');
    api.seen.length = 0;
    const listed = await web.inject({
      method: 'GET',
      url: '/api/account',
      headers: { authorization: `Bearer ${token}`, cookie: bo },
    });
    expect(listed.json<{ email: string }>().email).toBe('ada@example.com');
    expect(api.seen[0]?.headers.authorization).toBe(`Bearer ${token}`);
  });

  test('when /api is called without credentials, then the API’s 401 and its WWW-Authenticate come back', async () => {
    const response = await web.inject({ method: 'GET', url: '/api/goals' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(api.seen[0]?.headers.authorization).toBeUndefined();
  });

  test('when a cross-site page writes through /api with the cookie, then 403 and nothing reaches the API', async () => {
    const cookie = await signUp('ada@example.com');
    api.seen.length = 0;
    for (const [method, url] of [
      ['POST', '/api/goals'],
      ['DELETE', '/api/account'],
      ['POST', '/api/account/password'],
      ['DELETE', '/api/sessions/current'],
    ] as const) {
      const response = await web.inject({
        method,
        url,
        headers: { origin: 'https://evil.example', cookie, 'content-type': 'text/plain' },
        payload: JSON.stringify({ name: 'Forged', password: PASSWORD }),
      });
      expect(response.statusCode, url).toBe(403);
    }
    expect(api.seen).toEqual([]);
  });

  test('when the account and passkey routes are called through /api, then they are forwarded', async () => {
    for (const url of [
      '/api/accounts',
      '/api/account/recovery',
      '/api/passkeys',
      '/api/passkeys/registration-options',
      '/api/sessions/passkey/options',
    ]) {
      await web.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json' },
        payload: '{}',
      });
    }
    expect(api.seen.map((seen) => seen.url)).toEqual([
      '/accounts',
      '/account/recovery',
      '/passkeys',
      '/passkeys/registration-options',
      '/sessions/passkey/options',
    ]);
    expect((await web.inject({ method: 'GET', url: '/api/metrics' })).statusCode).toBe(404);
  });
});

describe('remembered answers are per account', () => {
  test('when two accounts load their lists in turn, then neither is ever shown the other’s, though their ETags match', async () => {
    const ada = await signUp('ada@example.com');
    await post('/goals', { name: 'Ada’s secret goal' }, ada);
    const bo = await signUp('bo@example.com');
    await post('/goals', { name: 'Bo’s own goal' }, bo);
    for (let round = 0; round < 2; round += 1) {
      const adaPage = await page('/', ada);
      expect(adaPage.body).toContain('Ada’s secret goal');
      expect(adaPage.body).not.toContain('Bo’s own goal');
      const boPage = await page('/', bo);
      expect(boPage.body).toContain('Bo’s own goal');
      expect(boPage.body).not.toContain('Ada’s secret goal');
    }
    const etagsSent = (cookie: string) =>
      api.seen
        .filter((seen) => seen.url === '/goals?limit=50')
        .filter((seen) => seen.headers.authorization === `Bearer ${tokenOf(cookie)}`)
        .map((seen) => seen.headers['if-none-match']);
    // Both lists are at version 2, so the same ETag: each account asks with its own, once kept.
    expect(etagsSent(ada)).toEqual([undefined, '"l2"']);
    expect(etagsSent(bo)).toEqual([undefined, '"l2"']);
    // And the second load of each was a 304 that still showed the right list.
  });

  test('when a session ends, then what was kept for it is not used for the next one', async () => {
    const first = await signUp('ada@example.com');
    await page('/', first);
    await post('/signout', {}, first);
    const second = await signIn('ada@example.com');
    api.seen.length = 0;
    await page('/', second);
    expect(api.seen.every((seen) => seen.headers['if-none-match'] === undefined)).toBe(true);
  });
});

describe('the account page', () => {
  test('when it is shown, then it has the email, the password forms with the right autocomplete, and the passkey place', async () => {
    const cookie = await signUp('ada@example.com');
    const { statusCode, body } = await page('/account', cookie);
    expect(statusCode).toBe(200);
    expect(body).toContain('<dd>ada@example.com</dd>');
    expect(body).toMatch(/id="current-password"[^>]*autocomplete="current-password"/);
    expect(body).toMatch(
      /id="new-password"[^>]*autocomplete="new-password"[^>]*minlength="12" maxlength="128"/,
    );
    expect(body).toMatch(
      /id="delete-password"[^>]*type="password"[^>]*autocomplete="current-password"/,
    );
    expect(body).toContain('id="passkeys"');
    expect(body).not.toMatch(/type="password"[^>]*value=/);
    expect(body.match(/<h1[\s>]/g)).toHaveLength(1);
  });

  test('when the password is changed, then a new token is set, the old one stops working, and the page says so', async () => {
    const cookie = await signUp('ada@example.com');
    const response = await post(
      '/account/password',
      { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' },
      cookie,
    );
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/account?status=password-changed');
    const renewed = sessionCookie(response);
    expect(renewed).not.toBe(cookie);
    expect(api.isLive(tokenOf(cookie))).toBe(false);
    expect((await page('/account?status=password-changed', renewed)).body).toContain(
      'Your password is changed',
    );
    await signIn('ada@example.com', 'a brand new passphrase');
  });

  test('when the current password is wrong, then 401 on that field and the person stays signed in', async () => {
    const cookie = await signUp('ada@example.com');
    const response = await post(
      '/account/password',
      { currentPassword: 'not my password', newPassword: 'a brand new passphrase' },
      cookie,
    );
    expect(response.statusCode).toBe(401);
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(response.body).toContain('The current password is incorrect');
    expect(response.body).toMatch(/id="current-password"[^>]*aria-invalid="true"/);
    expect(response.body).not.toContain('not my password');
    expect(response.body).not.toContain('a brand new passphrase');
    expect(api.isLive(tokenOf(cookie))).toBe(true);
  });

  test('when the delete form has the wrong password, then 401, nothing is deleted, and the person stays signed in', async () => {
    const cookie = await signUp('ada@example.com');
    const response = await post('/account/delete', { password: 'not my password' }, cookie);
    expect(response.statusCode).toBe(401);
    expect(response.body).toContain('That password is incorrect, so nothing was deleted.');
    expect(response.body).toMatch(/id="delete-password"[^>]*aria-invalid="true"/);
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(api.hasAccount('ada@example.com')).toBe(true);
  });

  test('when the account is deleted, then the cookie is cleared and the sign-in page says it is gone', async () => {
    const cookie = await signUp('ada@example.com');
    const response = await post('/account/delete', { password: PASSWORD }, cookie);
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/signin?status=account-deleted');
    expect(String(response.headers['set-cookie'])).toContain('session=; Path=/; Max-Age=0');
    expect(api.hasAccount('ada@example.com')).toBe(false);
    expect((await page('/signin?status=account-deleted')).body).toContain(
      'Your account and all its goals are deleted.',
    );
  });
});

describe('recovery', () => {
  async function recoveryCode(email: string): Promise<string> {
    const response = await post('/signup', { email, password: PASSWORD });
    return /id="recovery-code">([^<]+)</.exec(response.body)![1]!;
  }

  test('when the email and code are right, then a new password is set, a new code is shown once, and the old code is spent', async () => {
    const code = await recoveryCode('ada@example.com');
    const fields = {
      email: 'ada@example.com',
      recoveryCode: code,
      newPassword: 'found my way back',
    };
    const response = await post('/recover', fields);
    expect(response.statusCode).toBe(201);
    expect(response.headers['cache-control']).toBe('no-store');
    const fresh = /id="recovery-code">([^<]+)</.exec(response.body)?.[1];
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(code);
    expect(response.body).toContain('your old recovery code no longer works');
    expect((await page('/', sessionCookie(response))).statusCode).toBe(200);
    await signIn('ada@example.com', 'found my way back');
    const again = await post('/recover', { ...fields, newPassword: 'another new password' });
    expect(again.statusCode).toBe(401);
  });

  test('when the code is wrong, then 401 on the code field, the email kept and no password echoed', async () => {
    await recoveryCode('ada@example.com');
    const response = await post('/recover', {
      email: 'ada@example.com',
      recoveryCode: 'wrong-code',
      newPassword: 'found my way back',
    });
    expect(response.statusCode).toBe(401);
    expect(response.body).toContain('The email or recovery code is incorrect.');
    expect(response.body).toMatch(/id="recover-code"[^>]*aria-invalid="true"/);
    expect(response.body).toContain('value="ada@example.com"');
    expect(response.body).not.toContain('found my way back');
    expect(response.headers['set-cookie']).toBeUndefined();
  });
});

describe('logs', () => {
  test('when accounts are used with debug logging, then no token, cookie or password is written', async () => {
    let written = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        written += chunk.toString();
        done();
      },
    });
    ensureClientBuilt();
    const logged = await buildApp({
      config: { apiUrl: api.url, apiConnectTimeoutMs: 1_000, apiTimeoutMs: 2_000 },
      logger: { level: 'trace', stream: sink },
    });
    try {
      const form = (url: string, fields: Record<string, string>, cookie = '') =>
        postForm(logged, url, fields, { ...SAME_ORIGIN, ...(cookie ? { cookie } : {}) });
      const signedUp = await form('/signup', { email: 'ada@example.com', password: PASSWORD });
      const cookie = sessionCookie(signedUp);
      await logged.inject({ method: 'GET', url: '/', headers: { cookie } });
      await logged.inject({ method: 'GET', url: '/api/goals', headers: { cookie } });
      await form('/signin', { email: 'ada@example.com', password: 'a wrong password' });
      await form('/signout', {}, cookie);
      expect(written).not.toBe('');
      expect(written).not.toContain(tokenOf(cookie));
      expect(written).not.toContain(PASSWORD);
      expect(written).not.toContain('a wrong password');
    } finally {
      await logged.close();
    }
  });
});
