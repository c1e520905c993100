import { PASSKEY_SIGN_IN_FAILED, PROBLEM_CONTENT_TYPE } from '@goal-tracker/contract';
import { freePort } from '@goal-tracker/test-support/free-port';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  credentialIdOf,
  startFakeAccountsApi,
  type FakeAccountsApi,
} from './support/fake-accounts-api.js';
import { balancerFailure, json, startFakeApi } from './support/fake-api.js';
import {
  buildWeb,
  postForm,
  SAME_ORIGIN,
  sendJson,
  sessionCookie,
  withCookie,
  type Injector,
} from './support/web.js';

// Passkeys in the web tier against a stand-in API (no ceremony: see startFakeAccountsApi). The
// ceremonies themselves, in Chromium against the real API, are in passkeys-browser.test.ts.

const PASSWORD = 'correct horse battery';
const EMAIL = 'ada@example.com';
const HTTPS = { 'x-forwarded-proto': 'https' };

let api: FakeAccountsApi;
let web: FastifyInstance;
const opened: { close(): Promise<void> }[] = [];

beforeEach(async () => {
  api = await startFakeAccountsApi();
  web = await buildWeb(api.url);
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((server) => server.close()));
  await web.close();
  await api.close();
});

function page(url: string, cookie?: string) {
  return web.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
}

async function signUp(email = EMAIL): Promise<string> {
  const response = await postForm(web, '/signup', { email, password: PASSWORD });
  expect(response.statusCode).toBe(201);
  return sessionCookie(response);
}

const tokenOf = (cookie: string) => cookie.slice(cookie.indexOf('=') + 1);

/** A browser's answer for a passkey, as far as the stand-in API reads it. */
const answerFor = (credentialId: string) => ({
  id: credentialId,
  rawId: credentialId,
  type: 'public-key',
  response: {},
});

/** What the passkey module posts once the browser answered, as the page sends it. */
function postAnswer(
  response: unknown,
  headers: Record<string, string> = SAME_ORIGIN,
  app: Injector = web,
) {
  return sendJson(app, 'POST', '/signin/passkey', { response }, headers);
}

function expectProblem(response: { headers: Record<string, unknown> }) {
  expect(String(response.headers['content-type'])).toContain(PROBLEM_CONTENT_TYPE);
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.headers['set-cookie']).toBeUndefined();
}

describe('the pages that offer passkeys', () => {
  test('when the sign-in page is shown, then it loads the passkey module and has its button, hidden until the module shows it', async () => {
    const { body } = await page('/signin');
    expect(body).toMatch(/<script type="module" src="\/assets\/passkeys\.[\w-]{10}\.js">/);
    expect(body).toMatch(
      /<button[^>]*type="button"[^>]* hidden[^>]* data-passkey-sign-in[^>]* data-passkey-status="passkey-status"[^>]* data-passkey-done="\/"[^>]*>\s*Sign in with a passkey/,
    );
    expect(body).toMatch(/<p [^>]*id="passkey-status" role="status"\s*><\/p>/);
  });

  test('when the account has passkeys, then each is listed, escaped, with its dates and a plain form that removes it', async () => {
    const cookie = await signUp();
    const laptop = api.addPasskey(EMAIL, '<b>Work laptop</b>');
    const phone = api.addPasskey(EMAIL, 'Phone');
    const { statusCode, body } = await page('/account', cookie);
    expect(statusCode).toBe(200);
    expect(body).toContain('&lt;b&gt;Work laptop&lt;/b&gt;');
    expect(body).not.toContain('<b>Work laptop');
    expect(body.indexOf('Work laptop')).toBeLessThan(body.indexOf('Phone'));
    for (const passkey of [laptop, phone]) {
      expect(body).toContain(
        `<form method="post" action="/account/passkeys/${passkey.id}/remove">`,
      );
    }
    expect(body).toContain(
      '<span class="visually-hidden"> passkey &lt;b&gt;Work laptop&lt;/b&gt;</span>',
    );
    expect(body).toContain(`<time datetime="${laptop.createdAt}">`);
    expect(body).toContain('never used yet');
    expect(api.seen.map((seen) => `${seen.method} ${seen.url}`)).toContain('GET /passkeys');
    expect(api.seen.find((seen) => seen.url === '/passkeys')?.headers.authorization).toBe(
      `Bearer ${tokenOf(cookie)}`,
    );
  });

  test('when the account page is shown, then the add button and the name field wait hidden for the module, and the module is loaded', async () => {
    const cookie = await signUp();
    const { body } = await page('/account', cookie);
    expect(body).toMatch(/<script type="module" src="\/assets\/passkeys\.[\w-]{10}\.js">/);
    expect(body).toContain('You have no passkeys yet.');
    expect(body).toMatch(
      /<button[^>]* hidden[^>]* data-passkey-add[^>]* data-passkey-name="passkey-name"[^>]* data-passkey-status="passkey-status"[^>]* data-passkey-done="\/account\?status=passkey-added"[^>]*>\s*Add a passkey/,
    );
    expect(body).toMatch(
      /<div class="form-field" hidden data-passkey-show>\s*<label[^>]*for="passkey-name"/,
    );
    expect(body).toMatch(/<input[^>]*id="passkey-name"[^>]*maxlength="100"/);
    expect(body).toMatch(/<p [^>]*id="passkey-status" role="status"\s*><\/p>/);
  });

  test('when a passkey was just added, then the account page says so', async () => {
    const cookie = await signUp();
    const { body } = await page('/account?status=passkey-added', cookie);
    expect(body).toContain(
      'Your passkey is added: you can sign in with it instead of your password.',
    );
  });

  test('when the passkeys cannot be listed, then the rest of the account page still works and says so', async () => {
    const cookie = await signUp();
    api.state.passkeysDown = true;
    const { statusCode, body } = await page('/account', cookie);
    expect(statusCode).toBe(200);
    expect(body).toContain(`<dd>${EMAIL}</dd>`);
    expect(body).toContain('Your passkeys cannot be listed right now.');
    expect(body).toContain('action="/account/password"');
  });
});

describe('removing a passkey (a plain form)', () => {
  test('when the form is posted, then the API removes it with the token, and the account page says so', async () => {
    const cookie = await signUp();
    const passkey = api.addPasskey(EMAIL, 'Work laptop');
    const response = await postForm(
      withCookie(web, cookie),
      `/account/passkeys/${passkey.id}/remove`,
      {},
    );
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/account?status=passkey-removed');
    expect(api.passkeysOf(EMAIL)).toEqual([]);
    const removal = api.seen.find((seen) => seen.method === 'DELETE');
    expect(removal?.url).toBe(`/passkeys/${passkey.id}`);
    expect(removal?.headers.authorization).toBe(`Bearer ${tokenOf(cookie)}`);
    const { body } = await page('/account?status=passkey-removed', cookie);
    expect(body).toContain('The passkey is removed: it no longer signs you in.');
    expect(body).toContain('You have no passkeys yet.');
  });

  test('when it is gone already, or another account’s, then 303 all the same, and the other account keeps its own', async () => {
    const cookie = await signUp();
    await signUp('bo@example.com');
    const bos = api.addPasskey('bo@example.com', 'Bo’s phone');
    const response = await postForm(
      withCookie(web, cookie),
      `/account/passkeys/${bos.id}/remove`,
      {},
    );
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/account?status=passkey-removed');
    expect(api.passkeysOf('bo@example.com')).toEqual([bos]);
  });

  test('when the id is not a passkey id, then 404 and the API is not asked', async () => {
    const cookie = await signUp();
    api.seen.length = 0;
    for (const id of ['abc', '0', '-1', '99999999999999999999']) {
      const response = await postForm(
        withCookie(web, cookie),
        `/account/passkeys/${id}/remove`,
        {},
      );
      expect(response.statusCode, id).toBe(404);
    }
    expect(api.seen).toEqual([]);
  });

  test('when the form comes from another site, then 403 and the passkey stays', async () => {
    const cookie = await signUp();
    const passkey = api.addPasskey(EMAIL, 'Work laptop');
    const response = await postForm(
      web,
      `/account/passkeys/${passkey.id}/remove`,
      {},
      {
        origin: 'https://evil.example',
        cookie,
      },
    );
    expect(response.statusCode).toBe(403);
    expect(api.passkeysOf(EMAIL)).toEqual([passkey]);
  });

  test('when nobody is signed in, then 303 to /signin and the API is not asked', async () => {
    const response = await postForm(web, '/account/passkeys/1/remove', {});
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/signin');
    expect(api.seen).toEqual([]);
  });

  test('when the balancer fails the removal twice, then the account page comes back with 503 and says so', async () => {
    const account = { id: 1, email: EMAIL, createdAt: '2026-01-01T00:00:00.000Z' };
    const upstream = await startFakeApi((request, response) => {
      if (request.method === 'DELETE') return balancerFailure(response, 503);
      if (request.url === '/account') return json(response, 200, account);
      return json(response, 200, { passkeys: [] });
    });
    opened.push(upstream);
    const behind = await buildWeb(upstream.url);
    opened.push(behind);
    const response = await postForm(
      withCookie(behind, `session=${'t'.repeat(43)}`),
      '/account/passkeys/7/remove',
      {},
    );
    expect(response.statusCode).toBe(503);
    expect(response.body).toContain('Accounts are unavailable right now.');
    expect(response.body).toContain(`<dd>${EMAIL}</dd>`);
    // A removal is safe to send twice, so it was.
    expect(upstream.seen.filter((seen) => seen.method === 'DELETE')).toHaveLength(2);
  });
});

describe('signing in with a passkey (POST /signin/passkey)', () => {
  test('when the passkey is the account’s, then 204 with the session cookie a password sign-in sets, and no token in the answer', async () => {
    await signUp();
    const passkey = api.addPasskey(EMAIL, 'Work laptop');
    const response = await postAnswer(answerFor(credentialIdOf(passkey)));
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(String(response.headers['set-cookie'])).toMatch(
      /^session=[\w-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/,
    );
    const cookie = sessionCookie(response);
    expect(api.isLive(tokenOf(cookie))).toBe(true);
    const goals = await page('/', cookie);
    expect(goals.statusCode).toBe(200);
    expect(goals.body).toContain('Signed in as <strong class="account-email">ada@example.com');
    // The visitor's address, as for a password sign-in, and whatever the visitor claims.
    const signIn = api.seen.find((seen) => seen.url === '/sessions/passkey');
    expect(signIn?.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(JSON.parse(signIn?.body.toString() ?? '')).toEqual({
      response: answerFor(credentialIdOf(passkey)),
    });
  });

  test('when it is over HTTPS, then the cookie is __Host-session and Secure', async () => {
    await signUp();
    const passkey = api.addPasskey(EMAIL, 'Work laptop');
    const response = await postAnswer(answerFor(credentialIdOf(passkey)), {
      ...SAME_ORIGIN,
      ...HTTPS,
    });
    expect(response.statusCode).toBe(204);
    expect(String(response.headers['set-cookie'])).toMatch(
      /^__Host-session=[\w-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax; Secure$/,
    );
  });

  test('when the browser was signed in already, then the older session is ended', async () => {
    const older = await signUp();
    const passkey = api.addPasskey(EMAIL, 'Work laptop');
    const response = await postAnswer(answerFor(credentialIdOf(passkey)), {
      ...SAME_ORIGIN,
      cookie: older,
    });
    expect(response.statusCode).toBe(204);
    expect(sessionCookie(response)).not.toBe(older);
    await expect.poll(() => api.isLive(tokenOf(older))).toBe(false);
  });

  test('when the API cannot verify the passkey, then its 401 problem comes back and no cookie is set', async () => {
    await signUp();
    const response = await postAnswer(answerFor('credential-unknown'));
    expect(response.statusCode).toBe(401);
    expectProblem(response);
    expect(response.json()).toMatchObject({ status: 401, detail: PASSKEY_SIGN_IN_FAILED });
  });

  test('when there were too many attempts, then the 429 problem comes back with Retry-After', async () => {
    api.state.rateLimitSeconds = 90;
    const response = await postAnswer(answerFor('credential-1'));
    expect(response.statusCode).toBe(429);
    expectProblem(response);
    expect(response.headers['retry-after']).toBe('90');
  });

  test('when the API finds the answer malformed, then its 400 problem comes back', async () => {
    const response = await postAnswer({ type: 'x' });
    expect(response.statusCode).toBe(400);
    expectProblem(response);
    expect(api.seen.map((seen) => seen.url)).toEqual(['/sessions/passkey']);
  });

  test('when the body is not { response } in JSON, then a problem says so and the API is not asked', async () => {
    const sent = (payload: string, type = 'application/json') =>
      web.inject({
        method: 'POST',
        url: '/signin/passkey',
        headers: { ...SAME_ORIGIN, 'content-type': type },
        payload,
      });
    const answers = [
      [await sent('{}'), 400],
      [await sent('{"response":"x"}'), 400],
      [await sent('{"response":[]}'), 400],
      [await sent('{"response":null}'), 400],
      [await sent('{"response":'), 400],
      [await sent('response=x', 'application/x-www-form-urlencoded'), 400],
      [await sent('{"response":{}}', 'text/plain'), 400],
      [await sent('<response/>', 'application/xml'), 415],
      [await sent(JSON.stringify({ response: { id: 'x'.repeat(17 * 1024) } })), 413],
    ] as const;
    for (const [response, status] of answers) {
      expect(response.statusCode, response.body).toBe(status);
      expectProblem(response);
    }
    expect(api.seen).toEqual([]);
  });

  test('when another site posts it, then 403 as a problem, and the API is not asked', async () => {
    await signUp();
    api.seen.length = 0;
    const passkey = api.addPasskey(EMAIL, 'Work laptop');
    const forged: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { 'sec-fetch-site': 'cross-site' },
    ];
    for (const headers of forged) {
      const response = await postAnswer(answerFor(credentialIdOf(passkey)), headers);
      expect(response.statusCode).toBe(403);
      expectProblem(response);
    }
    expect(api.seen).toEqual([]);
  });

  test('when the API cannot be reached, then a 503 problem with Retry-After', async () => {
    const dead = await buildWeb(`http://127.0.0.1:${await freePort()}`);
    opened.push(dead);
    const response = await postAnswer({ id: 'x' }, SAME_ORIGIN, dead);
    expect(response.statusCode).toBe(503);
    expectProblem(response);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.json()).toMatchObject({
      detail: 'Accounts are unavailable right now. Try again in a moment.',
    });
  });
});

describe('passkeys through /api', () => {
  test('when /api/sessions/passkey is asked for, however spelled, then 404 and the API never hears of it (its answer holds a token)', async () => {
    const cookie = await signUp();
    api.seen.length = 0;
    for (const url of [
      '/api/sessions/passkey',
      '/api/sessions/passkey/',
      '/api/sessions/%70asskey',
      '/api/sessions/passkey?x=1',
    ]) {
      for (const method of ['POST', 'GET'] as const) {
        const response = await web.inject({
          method,
          url,
          headers: { ...SAME_ORIGIN, cookie, 'content-type': 'application/json' },
          ...(method === 'POST' ? { payload: JSON.stringify({ response: { id: 'x' } }) } : {}),
        });
        expect(response.statusCode, `${method} ${url}`).toBe(404);
        expect(String(response.headers['content-type'])).toContain(PROBLEM_CONTENT_TYPE);
      }
    }
    expect(api.seen).toEqual([]);
  });

  test('when the page’s script lists and removes passkeys, then the API gets the cookie’s token', async () => {
    const cookie = await signUp();
    const passkey = api.addPasskey(EMAIL, 'Work laptop');
    const browser = withCookie(web, cookie);
    const listed = await browser.inject({ method: 'GET', url: '/api/passkeys' });
    expect(listed.json()).toEqual({ passkeys: [passkey] });
    const removed = await browser.inject({
      method: 'DELETE',
      url: `/api/passkeys/${passkey.id}`,
      headers: SAME_ORIGIN,
    });
    expect(removed.statusCode).toBe(204);
    expect(api.passkeysOf(EMAIL)).toEqual([]);
    const calls = api.seen.filter((seen) => seen.url.startsWith('/passkeys'));
    expect(calls.map((seen) => seen.headers.authorization)).toEqual([
      `Bearer ${tokenOf(cookie)}`,
      `Bearer ${tokenOf(cookie)}`,
    ]);
  });

  test('when the balancer fails a passkey write, then it is not sent again (a challenge is good once), while a read is', async () => {
    const upstream = await startFakeApi((_request, response) => balancerFailure(response, 503));
    opened.push(upstream);
    const app = await buildWeb(upstream.url);
    opened.push(app);
    const behind = withCookie(app, `session=${'t'.repeat(43)}`);
    for (const url of ['/api/passkeys', '/api/passkeys/registration-options']) {
      const response = await sendJson(behind, 'POST', url, {}, SAME_ORIGIN);
      expect(response.statusCode, url).toBe(503);
    }
    await behind.inject({ method: 'DELETE', url: '/api/passkeys/7', headers: SAME_ORIGIN });
    await behind.inject({ method: 'GET', url: '/api/passkeys' });
    expect(upstream.seen.map((seen) => `${seen.method} ${seen.url}`)).toEqual([
      'POST /passkeys',
      'POST /passkeys/registration-options',
      'DELETE /passkeys/7',
      'GET /passkeys',
      'GET /passkeys',
    ]);
  });
});
