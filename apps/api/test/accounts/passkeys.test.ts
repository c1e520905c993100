import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  PASSKEY_SIGN_IN_FAILED,
  type Passkey,
  type PasskeyList,
  type SessionCreated,
} from '@goal-tracker/contract';
import { createTestServer, type TestDatabases } from '@goal-tracker/test-support/postgres';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PasskeyOutcome } from '../../../web/client/passkeys.js';
import { addVirtualAuthenticator, launchChromium } from '../../../web/test/support/browser.js';
import { passkeysRepository } from '../../src/accounts/passkeys-repository.js';
import { buildApp, type App, type AppSettings } from '../../src/app.js';
import {
  createTestApi,
  deleteAccount,
  injectAs,
  json,
  signUp,
  TEST_PASSWORD,
  TEST_SETTINGS,
  type TestAccount,
  type TestApi,
} from '../helpers.js';

/**
 * The ceremonies run for real: Debian's Chromium, with a software authenticator from the
 * DevTools protocol, on a page at http://localhost (a secure context). The page runs the web
 * tier's own passkeys module, and its /api calls reach the API app the way the web tier's
 * proxy sends them, as the account `harness.asAccount` names.
 */

const CLIENT_MODULE = new URL('../../../web/client/passkeys.ts', import.meta.url);

/** The module's functions are put on window for the tests; its buttons wire themselves. */
const PAGE = `<!doctype html><html lang="en"><title>Passkeys</title>
<script type="module">import * as passkeys from '/passkeys.js'; window.passkeys = passkeys;</script>
<input id="passkey-name" value="From the button" aria-label="Name" hidden data-passkey-show>
<button type="button" hidden data-passkey-add data-passkey-name="passkey-name"
  data-passkey-status="status" data-passkey-done="/added">Add a passkey</button>
<button type="button" hidden data-passkey-sign-in data-passkey-endpoint="/api/sessions/passkey"
  data-passkey-status="status" data-passkey-done="/signed-in">Sign in with a passkey</button>
<p id="status" role="status"></p>`;

interface Forwarded {
  path: string;
  body: unknown;
  status: number;
}

interface Harness {
  /** Where the API calls go. */
  target: App;
  /** The account the API calls are sent as (the web tier's session cookie, in effect). */
  asAccount: (path: string) => TestAccount | undefined;
  /** Runs before a call is forwarded. */
  beforeForward: (path: string) => Promise<void>;
  /** Every call forwarded, in order. */
  forwarded: Forwarded[];
}

let server: TestDatabases;
let api: TestApi;
let pageServer: Server;
let origin: string;
let browser: Browser;
let harness: Harness;
const contexts: BrowserContext[] = [];

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** A page for the module, the module (as the browser gets it from tsc), and /api → the API. */
function startPageServer(): Promise<Server> {
  const script = ts.transpileModule(readFileSync(CLIENT_MODULE, 'utf8'), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 },
  }).outputText;
  const pages = createServer((request, response) => {
    void (async () => {
      const url = request.url ?? '/';
      if (url === '/') {
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        response.end(PAGE);
      } else if (url === '/passkeys.js') {
        response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        response.end(script);
      } else if (url.startsWith('/api/')) {
        const path = url.slice('/api'.length);
        const body = await readBody(request);
        await harness.beforeForward(path);
        const account = harness.asAccount(path);
        const answer = await harness.target.inject({
          method: request.method as 'POST',
          url: path,
          headers: {
            ...(body ? json : {}),
            ...(account ? { authorization: `Bearer ${account.token}` } : {}),
          },
          ...(body ? { payload: body } : {}),
        });
        harness.forwarded.push({
          path,
          body: body ? (JSON.parse(body) as unknown) : undefined,
          status: answer.statusCode,
        });
        response.writeHead(answer.statusCode, {
          'content-type': answer.headers['content-type'] ?? 'application/json',
        });
        response.end(answer.body);
      } else {
        // Where the buttons go once they worked.
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        response.end('<!doctype html><html lang="en"><title>Done</title>');
      }
    })().catch((error: unknown) => {
      response.writeHead(500).end(String(error));
    });
  });
  return new Promise((resolve) => pages.listen(0, 'localhost', () => resolve(pages)));
}

/** Sign-ups unlimited: every test signs up new accounts from one address. */
function settingsFor(origins: string[]): AppSettings {
  return {
    ...TEST_SETTINGS,
    limits: { ...TEST_SETTINGS.limits, signupsPerAddressPerHour: 0 },
    webAuthn: { ...TEST_SETTINGS.webAuthn, origins },
  };
}

beforeAll(async () => {
  server = await createTestServer();
  pageServer = await startPageServer();
  origin = `http://localhost:${(pageServer.address() as AddressInfo).port}`;
  api = await createTestApi(await server.createDatabase('passkeys'), {}, {}, settingsFor([origin]));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => pageServer?.close(resolve));
  await api?.close();
  await server?.dispose();
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

/** A fresh browser with a software authenticator of its own (so it holds only its passkeys). */
async function openPage(as?: TestAccount): Promise<Page> {
  harness = {
    target: api.app,
    asAccount: () => as,
    beforeForward: () => Promise.resolve(),
    forwarded: [],
  };
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  await addVirtualAuthenticator(page);
  await page.goto(origin);
  return page;
}

/** Calls one of the module's functions in the page, as a page's button would. */
function inPage<T>(
  page: Page,
  call: 'addPasskey' | 'signInWithPasskey',
  argument?: string,
): Promise<PasskeyOutcome<T>> {
  return page.evaluate(
    ([name, value]) =>
      (window as unknown as { passkeys: Record<string, (value?: string) => Promise<unknown>> })
        .passkeys[name]!(value),
    [call, argument] as const,
  ) as Promise<PasskeyOutcome<T>>;
}

const addPasskey = (page: Page, name?: string) => inPage<Passkey>(page, 'addPasskey', name);
/** Straight to the API's route; the web tier's route would set a cookie from its answer. */
const signIn = (page: Page) =>
  inPage<SessionCreated>(page, 'signInWithPasskey', '/api/sessions/passkey');

function lastBodyTo(path: string): unknown {
  return harness.forwarded.findLast((call) => call.path === path)?.body;
}

async function passkeysOf(account: TestAccount): Promise<Passkey[]> {
  const response = await account.inject({ method: 'GET', url: '/passkeys' });
  expect(response.statusCode).toBe(200);
  return response.json<PasskeyList>().passkeys;
}

async function sql<Row>(text: string, values: unknown[] = []): Promise<Row[]> {
  return api.db.session(async (query) => (await query<Row>(text, values)).rows);
}

function postSignIn(app: App, body: unknown, remoteAddress = '127.0.0.1') {
  return app.inject({
    method: 'POST',
    url: '/sessions/passkey',
    headers: json,
    payload: body as Record<string, unknown>,
    remoteAddress,
  });
}

describe('adding a passkey and signing in with it', () => {
  it('when a signed-in person adds a passkey, then it is listed, and it signs in without a password', async () => {
    const person = await signUp(api.app);
    const page = await openPage(person);

    const added = await addPasskey(page, '  Laptop  ');
    expect(added).toMatchObject({ ok: true, value: { name: 'Laptop', lastUsedAt: null } });
    expect(await passkeysOf(person)).toEqual([added.ok && added.value]);

    harness.asAccount = () => undefined;
    const signedIn = await signIn(page);
    if (!signedIn.ok) throw new Error(signedIn.message);
    expect(signedIn.value.account).toEqual(person.account);
    expect(signedIn.value.token).not.toBe(person.token);
    const account = await injectAs(api.app, signedIn.value.token, {
      method: 'GET',
      url: '/account',
    });
    expect(account.statusCode).toBe(200);
    expect(account.json()).toEqual(person.account);

    const [listed] = await passkeysOf(person);
    expect(listed?.lastUsedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const [stored] = await sql<{ counter: number }>(
      'SELECT counter FROM passkeys WHERE account_id = $1',
      [person.account.id],
    );
    // The software authenticator counts its signatures; the API keeps the latest count.
    expect(stored?.counter).toBeGreaterThan(0);
  });

  it('when the options are asked for, then they name this site, the account, and its passkeys to exclude', async () => {
    const person = await signUp(api.app);
    const page = await openPage(person);
    const added = await addPasskey(page);
    if (!added.ok) throw new Error(added.message);
    expect(added.value.name).toMatch(/^Passkey added \d{4}-\d\d-\d\d$/);

    const response = await person.inject({ method: 'POST', url: '/passkeys/registration-options' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const options = response.json<{
      challenge: string;
      rp: unknown;
      user: { id: string; name: string };
      excludeCredentials: { id: string }[];
      authenticatorSelection: unknown;
    }>();
    expect(options.rp).toEqual({ id: 'localhost', name: 'Goal Tracker' });
    expect(options.user.name).toBe(person.account.email);
    expect(Buffer.from(options.user.id, 'base64url').toString()).toBe(String(person.account.id));
    const [credential] = await sql<{ id: string }>(
      'SELECT credential_id AS id FROM passkeys WHERE account_id = $1',
      [person.account.id],
    );
    expect(options.excludeCredentials.map(({ id }) => id)).toEqual([credential?.id]);
    expect(options.authenticatorSelection).toMatchObject({
      residentKey: 'required',
      userVerification: 'preferred',
    });
    const [challenge] = await sql<{ accountId: number; seconds: number }>(
      `SELECT account_id AS "accountId", extract(epoch FROM expires_at - now())::float8 AS seconds
       FROM webauthn_challenges WHERE challenge = $1`,
      [options.challenge],
    );
    expect(challenge?.accountId).toBe(person.account.id);
    expect(challenge?.seconds).toBeGreaterThan(290);
    expect(challenge?.seconds).toBeLessThanOrEqual(300);

    const signInOptions = await api.app.inject({
      method: 'POST',
      url: '/sessions/passkey/options',
    });
    expect(signInOptions.statusCode).toBe(200);
    const request = signInOptions.json<Record<string, unknown>>();
    expect(request).toMatchObject({ rpId: 'localhost', userVerification: 'preferred' });
    expect(request.allowCredentials ?? []).toEqual([]);
    const [anonymous] = await sql<{ accountId: number | null }>(
      'SELECT account_id AS "accountId" FROM webauthn_challenges WHERE challenge = $1',
      [request.challenge],
    );
    expect(anonymous).toEqual({ accountId: null });
  });
});

describe("the page's passkey buttons", () => {
  it('when passkeys work here, then the marked parts show; adding and signing in go where data-passkey-done says', async () => {
    const person = await signUp(api.app);
    const page = await openPage(person);
    const add = page.getByRole('button', { name: 'Add a passkey' });
    const signInButton = page.getByRole('button', { name: 'Sign in with a passkey' });

    await expect.poll(() => page.locator('#passkey-name').isVisible()).toBe(true);
    await add.click();
    await page.waitForURL(`${origin}/added`);
    expect((await passkeysOf(person)).map(({ name }) => name)).toEqual(['From the button']);

    harness.asAccount = () => undefined;
    await page.goto(origin);
    await signInButton.click();
    await page.waitForURL(`${origin}/signed-in`);
    expect(harness.forwarded.at(-1)).toMatchObject({ path: '/sessions/passkey', status: 201 });

    await sql('DELETE FROM passkeys WHERE account_id = $1', [person.account.id]);
    await page.goto(origin);
    await signInButton.click();
    await expect.poll(() => page.locator('#status').textContent()).toBe(PASSKEY_SIGN_IN_FAILED);
    expect(await signInButton.isEnabled()).toBe(true);
    expect(page.url()).toBe(`${origin}/`);
  });
});

describe('what is refused', () => {
  it('when a sign-in answer is sent a second time, then 401: its challenge was used', async () => {
    const person = await signUp(api.app);
    const page = await openPage(person);
    expect((await addPasskey(page)).ok).toBe(true);
    const registration = lastBodyTo('/passkeys');
    expect((await signIn(page)).ok).toBe(true);

    const answer = lastBodyTo('/sessions/passkey') as {
      response: { response: { clientDataJSON: string } };
    };
    const { challenge } = JSON.parse(
      Buffer.from(answer.response.response.clientDataJSON, 'base64url').toString(),
    ) as { challenge: string };
    expect(
      await sql('SELECT 1 FROM webauthn_challenges WHERE challenge = $1', [challenge]),
    ).toEqual([]);

    const replayed = await postSignIn(api.app, answer);
    expect(replayed.statusCode).toBe(401);
    expect(replayed.json()).toMatchObject({ status: 401, detail: PASSKEY_SIGN_IN_FAILED });

    const registeredAgain = await person.inject({
      method: 'POST',
      url: '/passkeys',
      headers: json,
      payload: registration as Record<string, unknown>,
    });
    expect(registeredAgain.statusCode).toBe(400);
    expect(registeredAgain.json<{ detail: string }>().detail).toMatch(
      /expired or was already used/,
    );
    expect(await passkeysOf(person)).toHaveLength(1);
  });

  it('when the page is not at a configured origin, then adding answers 400 and signing in 401', async () => {
    const elsewhere = await buildApp({
      db: api.db,
      settings: settingsFor(['https://goals.example.com']),
    });
    try {
      const person = await signUp(api.app);
      const page = await openPage(person);
      harness.target = elsewhere;
      const refused = await addPasskey(page);
      expect(refused).toMatchObject({ ok: false, cancelled: false });
      expect(!refused.ok && refused.message).toMatch(/origin/i);
      expect(await passkeysOf(person)).toEqual([]);

      harness.target = api.app;
      expect((await addPasskey(page)).ok).toBe(true);
      harness.target = elsewhere;
      harness.asAccount = () => undefined;
      expect(await signIn(page)).toEqual({
        ok: false,
        cancelled: false,
        message: PASSKEY_SIGN_IN_FAILED,
      });
      expect((await passkeysOf(person))[0]?.lastUsedAt).toBeNull();
    } finally {
      await elsewhere.close();
    }
  });

  it("when the options were another account's, then adding answers 400 and stores nothing", async () => {
    const [person, other] = [await signUp(api.app), await signUp(api.app)];
    const page = await openPage(person);
    harness.asAccount = (path) => (path === '/passkeys' ? other : person);
    const refused = await addPasskey(page);
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.message).toMatch(/Start adding the passkey again/);
    expect(await passkeysOf(person)).toEqual([]);
    expect(await passkeysOf(other)).toEqual([]);
  });

  it('when the challenge expired before the answer came, then adding answers 400', async () => {
    const person = await signUp(api.app);
    const page = await openPage(person);
    harness.beforeForward = async (path) => {
      if (path === '/passkeys') {
        await sql("UPDATE webauthn_challenges SET expires_at = now() - interval '1 second'");
      }
    };
    expect(await addPasskey(page)).toMatchObject({ ok: false });
    expect(harness.forwarded.at(-1)).toMatchObject({ path: '/passkeys', status: 400 });
    expect(await passkeysOf(person)).toEqual([]);
  });

  it('when the answer is malformed or made up, then 400 or 401 with a problem, never 500', async () => {
    const made = {
      id: 'AAAA',
      rawId: 'AAAA',
      type: 'public-key',
      response: { clientDataJSON: 'bm90IGpzb24', authenticatorData: 'AA', signature: 'AA' },
    };
    const person = await signUp(api.app);
    const cases: [string, unknown, number][] = [
      ['/sessions/passkey', { response: made }, 401],
      ['/sessions/passkey', { response: { ...made, type: 'other' } }, 400],
      ['/sessions/passkey', {}, 400],
      ['/passkeys', { response: made }, 400],
      ['/passkeys', { response: made, name: 'x'.repeat(101) }, 400],
      ['/passkeys', { response: made, name: 'line\nbreak' }, 400],
    ];
    for (const [url, payload, status] of cases) {
      const response = await person.inject({
        method: 'POST',
        url,
        headers: json,
        payload: payload as Record<string, unknown>,
      });
      expect(response.statusCode, `${url} ${JSON.stringify(payload)}`).toBe(status);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it('when passkey sign-ins keep failing from one address, then 429 there, for passwords too', async () => {
    const strict = await buildApp({
      db: api.db,
      settings: {
        ...settingsFor([origin]),
        limits: { ...TEST_SETTINGS.limits, signinFailuresPerAddress: 2 },
      },
    });
    try {
      const body = {
        response: { id: 'A', rawId: 'A', type: 'public-key', response: { clientDataJSON: 'e30' } },
      };
      const statuses = [];
      for (let attempt = 0; attempt < 3; attempt += 1) {
        statuses.push((await postSignIn(strict, body, '192.0.2.7')).statusCode);
      }
      expect(statuses).toEqual([401, 401, 429]);
      const passwordFrom = (remoteAddress: string) =>
        strict.inject({
          method: 'POST',
          url: '/sessions',
          headers: json,
          payload: { email: api.account.account.email, password: TEST_PASSWORD },
          remoteAddress,
        });
      expect((await passwordFrom('192.0.2.7')).statusCode).toBe(429);
      expect((await passwordFrom('192.0.2.8')).statusCode).toBe(201);
    } finally {
      await strict.close();
    }
  });
});

describe('removing passkeys', () => {
  it("when another account deletes a person's passkey, then 404; when its owner does, 204 and it signs in no more", async () => {
    const [person, other] = [await signUp(api.app), await signUp(api.app)];
    const page = await openPage(person);
    const added = await addPasskey(page);
    if (!added.ok) throw new Error(added.message);
    const url = `/passkeys/${added.value.id}`;

    expect((await other.inject({ method: 'DELETE', url })).statusCode).toBe(404);
    expect((await other.inject({ method: 'DELETE', url: '/passkeys/999999999' })).statusCode).toBe(
      404,
    );
    expect(await passkeysOf(person)).toHaveLength(1);

    expect((await person.inject({ method: 'DELETE', url })).statusCode).toBe(204);
    expect(await passkeysOf(person)).toEqual([]);
    harness.asAccount = () => undefined;
    expect(await signIn(page)).toMatchObject({ ok: false, message: PASSKEY_SIGN_IN_FAILED });
  });

  it('when the account is deleted, then its passkeys go with it', async () => {
    const person = await signUp(api.app);
    const page = await openPage(person);
    expect((await addPasskey(page)).ok).toBe(true);

    const deleted = await deleteAccount(person);
    expect(deleted.statusCode).toBe(204);
    expect(await sql('SELECT 1 FROM passkeys WHERE account_id = $1', [person.account.id])).toEqual(
      [],
    );
    harness.asAccount = () => undefined;
    expect(await signIn(page)).toMatchObject({ ok: false, message: PASSKEY_SIGN_IN_FAILED });
  });

  it('when challenges expire, then pruning deletes them and keeps the live ones', async () => {
    await sql(
      `INSERT INTO webauthn_challenges (challenge, expires_at)
       VALUES ('expired-challenge', now() - interval '1 minute'), ('live-challenge', now() + interval '1 minute')`,
    );
    expect(await passkeysRepository(api.db).pruneChallenges()).toBeGreaterThanOrEqual(1);
    const left = await sql<{ challenge: string }>(
      "SELECT challenge FROM webauthn_challenges WHERE challenge LIKE '%-challenge'",
    );
    expect(left).toEqual([{ challenge: 'live-challenge' }]);
  });
});

describe('GET /openapi.json', () => {
  it('when read, then the passkey routes are there, tagged, the account ones behind a Bearer token', async () => {
    const document = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, { tags?: string[]; security?: unknown }>>;
    }>();
    expect(document.paths['/passkeys']?.post).toMatchObject({
      tags: ['passkeys'],
      security: [{ bearer: [] }],
    });
    expect(document.paths['/passkeys']?.get).toMatchObject({
      tags: ['passkeys'],
      security: [{ bearer: [] }],
    });
    expect(document.paths['/passkeys/registration-options']?.post?.security).toEqual([
      { bearer: [] },
    ]);
    expect(document.paths['/passkeys/{id}']?.delete?.tags).toEqual(['passkeys']);
    expect(document.paths['/sessions/passkey/options']?.post?.tags).toEqual(['sessions']);
    expect(document.paths['/sessions/passkey']?.post?.security).toEqual([]);
  });
});
