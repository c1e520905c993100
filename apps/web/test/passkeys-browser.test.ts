import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PASSKEY_SIGN_IN_FAILED } from '@goal-tracker/contract';
import { freePort } from '@goal-tracker/test-support/free-port';
import { createTestDatabase } from '@goal-tracker/test-support/postgres';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import {
  addVirtualAuthenticator,
  launchChromium,
  navigation,
  screenshot,
  seriousAxeViolations,
} from './support/browser.js';
import { signUpOnApi, TEST_PASSWORD, uniqueEmail, type TestAccount } from './support/goals.js';
import { startApi, type ServerProcess } from './support/processes.js';
import { buildWeb } from './support/web.js';

// Passkeys end to end: Debian's Chromium with a software authenticator from the DevTools
// protocol, the web tier's pages and passkey module, and the real API. The pages are opened at
// http://localhost, a secure context where WebAuthn works over plain HTTP, and the API is told
// that this origin and the rp id `localhost` are the site's.

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let api: ServerProcess;
let web: FastifyInstance;
let webUrl: string;
let browser: Browser;
/** Another site, on another origin (127.0.0.1 is not localhost's site). */
let elsewhere: Server;

const contexts: BrowserContext[] = [];
/** Script errors, and console errors other than a refused request's own line. */
const errors: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase('web_passkeys');
  const port = await freePort();
  webUrl = `http://localhost:${port}`;
  api = await startApi(database.url, {
    env: { WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: webUrl },
  });
  web = await buildWeb(api.url);
  await web.listen({ port, host: 'localhost' });
  elsewhere = await startForgingSite();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => elsewhere?.close(resolve));
  await web?.close();
  await api?.stop();
  await database?.dispose();
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
  expect(errors.splice(0)).toEqual([]);
});

/**
 * A page in a fresh browser, signed in as `as` if given; with a software authenticator of its
 * own (it keeps the passkeys it makes) when scripts run.
 */
async function open(
  path: string,
  as?: TestAccount,
  options: BrowserContextOptions = {},
): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 }, ...options });
  contexts.push(context);
  if (as) await context.addCookies([{ name: 'session', value: as.token, url: webUrl }]);
  const page = await context.newPage();
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      errors.push(message.text());
    }
  });
  if (options.javaScriptEnabled !== false) await addVirtualAuthenticator(page);
  await page.goto(`${webUrl}${path}`);
  return page;
}

const noScript: BrowserContextOptions = { javaScriptEnabled: false };

/** On the account page: adds a passkey through its button, and lands back on the page. */
async function addPasskey(page: Page, name: string): Promise<void> {
  const add = page.getByRole('button', { name: 'Add a passkey' });
  await add.waitFor({ state: 'visible' });
  await page.getByLabel('Name for the new passkey (optional)').fill(name);
  await navigation(page, () => add.click());
  // (The page's script then drops ?status=passkey-added from the address.)
  expect(new URL(page.url()).pathname).toBe('/account');
  expect(await page.locator('#notice').textContent()).toContain('Your passkey is added');
}

async function signOut(page: Page): Promise<void> {
  await navigation(page, () => page.getByRole('button', { name: 'Sign out' }).click());
  expect(new URL(page.url()).pathname).toBe('/signin');
}

async function passkeyNames(page: Page): Promise<string[]> {
  return page.locator('#passkeys .passkey-name').allTextContents();
}

test('when someone signs up, adds a passkey and signs out, then the passkey signs them in with no password, and the token never reaches the page', async () => {
  const page = await open('/signup');
  const email = uniqueEmail('passkey');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await navigation(page, () => page.getByRole('button', { name: 'Create account' }).click());
  await navigation(page, () => page.getByRole('link', { name: /continue to my goals/ }).click());
  await navigation(page, () => page.getByRole('link', { name: 'Account', exact: true }).click());

  await addPasskey(page, 'Test laptop');
  expect(await passkeyNames(page)).toEqual(['Test laptop']);
  expect(await page.locator('#passkeys').textContent()).toContain('never used yet');
  expect(await seriousAxeViolations(page)).toEqual([]);
  await screenshot(page, 'account-passkeys-light');

  await signOut(page);
  const signIn = page.getByRole('button', { name: 'Sign in with a passkey' });
  await signIn.waitFor({ state: 'visible' });
  expect(await seriousAxeViolations(page)).toEqual([]);
  const posted: string[] = [];
  page.on('request', (request) => {
    if (request.method() === 'POST') posted.push(new URL(request.url()).pathname);
  });
  const answered = page.waitForResponse((response) => response.url().endsWith('/signin/passkey'));
  await navigation(page, () => signIn.click());
  expect(new URL(page.url()).pathname).toBe('/');
  expect(await page.locator('.signed-in-as').textContent()).toBe(`Signed in as ${email}`);

  // No password was sent: only the passkey's answer, to the web tier, which kept the token in
  // a cookie the page's script cannot read.
  expect(posted).toEqual(['/api/sessions/passkey/options', '/signin/passkey']);
  expect((await answered).status()).toBe(204);
  const cookie = (await page.context().cookies()).find(({ name }) => name === 'session');
  expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
  // The script sees only what it wrote itself (the `today` cookie), never the session.
  const readable = await page.evaluate(() => document.cookie);
  expect(readable).not.toContain('session=');
  expect(readable).not.toContain(cookie!.value);

  await navigation(page, () => page.getByRole('link', { name: 'Account', exact: true }).click());
  expect(await page.locator('#passkeys').textContent()).toMatch(/last used \d{1,2} \w+ \d{4}/);
});

test('when a passkey is removed without JavaScript, then it is gone from the list and signs in no more', async () => {
  const account = await signUpOnApi(api.url);
  const page = await open('/account', account);
  await addPasskey(page, 'Old phone');

  const plain = await open('/account', account, noScript);
  expect(await plain.getByRole('button', { name: 'Add a passkey' }).isVisible()).toBe(false);
  expect(await passkeyNames(plain)).toEqual(['Old phone']);
  await navigation(plain, () =>
    plain.getByRole('button', { name: 'Remove passkey Old phone' }).click(),
  );
  expect(await plain.locator('#notice').textContent()).toContain('The passkey is removed');
  expect(await passkeyNames(plain)).toEqual([]);
  expect(await plain.locator('#passkeys').textContent()).toContain('You have no passkeys yet.');

  // The authenticator still holds it, but the API no longer knows it.
  await signOut(page);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect
    .poll(() => page.locator('#passkey-status').textContent())
    .toBe(PASSKEY_SIGN_IN_FAILED);
  expect(new URL(page.url()).pathname).toBe('/signin');
  expect(await page.context().cookies()).toEqual([]);
});

test('when the page’s script asks for /api/sessions/passkey itself, then it is 404: the token stays out of scripts’ reach', async () => {
  const page = await open('/signin');
  const status = await page.evaluate(async () => {
    const response = await fetch('/api/sessions/passkey', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response: { id: 'x', rawId: 'x', type: 'public-key', response: {} } }),
    });
    return response.status;
  });
  expect(status).toBe(404);
});

test('when another site posts to /signin/passkey, then 403', async () => {
  const page = await open('/signin');
  const refused = page.waitForResponse((response) => response.url().endsWith('/signin/passkey'));
  const { port } = elsewhere.address() as AddressInfo;
  await page.goto(`http://127.0.0.1:${port}/`);
  expect((await refused).status()).toBe(403);
});

/**
 * A page on another site that posts a forged passkey answer to the web tier as soon as it
 * loads: a form (no CORS preflight) whose text/plain body reads as JSON.
 */
function startForgingSite(): Promise<Server> {
  const page = `<!doctype html><html lang="en"><title>Elsewhere</title>
<form method="post" action="${webUrl}/signin/passkey" enctype="text/plain">
<input type="hidden" name='{"response":{"id":"x","type":"public-key","pad":"' value='"}}'>
</form><script>document.forms[0].submit()</script>`;
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(page);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
