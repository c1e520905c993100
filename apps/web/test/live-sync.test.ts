import type { GoalEvent } from '@goal-tracker/contract';
import { freePort } from '@goal-tracker/test-support/free-port';
import { openEventStream, until, type EventStream } from '@goal-tracker/test-support/event-stream';
import { createTestDatabase } from '@goal-tracker/test-support/postgres';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { launchChromium } from './support/browser.js';
import { goalsClient, signUpOnApi, type TestAccount } from './support/goals.js';
import { startApi, type ServerProcess } from './support/processes.js';
import { buildWeb } from './support/web.js';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let api: ServerProcess;
let web: FastifyInstance;
let webUrl: string;
const streams: EventStream<GoalEvent>[] = [];

async function listening(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('web has no address');
  return `http://127.0.0.1:${address.port}`;
}

beforeAll(async () => {
  database = await createTestDatabase('web_live_sync');
  api = await startApi(database.url);
  web = await buildWeb(api.url);
  webUrl = await listening(web);
});

afterEach(() => {
  for (const stream of streams.splice(0)) stream.close();
});

afterAll(async () => {
  await web?.close();
  await api?.stop();
  await database?.dispose();
});

/** GET /api/goals/events through the web tier, as the page's EventSource sends it. */
async function listen(
  as: TestAccount | undefined,
  headers: Record<string, string> = {},
  url = webUrl,
): Promise<EventStream<GoalEvent>> {
  const stream = await openEventStream<GoalEvent>(`${url}/api/goals/events`, {
    'accept-encoding': 'gzip, br',
    ...(as ? { cookie: as.cookie } : {}),
    ...headers,
  });
  streams.push(stream);
  return stream;
}

const kinds = (stream: EventStream<GoalEvent>) =>
  stream.events.map((event) => `${event.event} ${event.data.id}`);

describe('GET /api/goals/events (the web tier relays the API’s change stream)', () => {
  test('when a person is signed in, then their changes stream through uncompressed, with the page’s security headers, and another account hears none of them', async () => {
    const person = await signUpOnApi(api.url);
    const stranger = await signUpOnApi(api.url);
    const mine = await listen(person);
    const theirs = await listen(stranger);
    expect(mine.status).toBe(200);
    expect(mine.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(mine.headers['content-encoding']).toBeUndefined();
    expect(mine.headers['cache-control']).toBe('no-cache, no-transform');
    expect(mine.headers['content-security-policy']).toContain("default-src 'none'");
    expect(mine.headers['x-request-id']).toBeTruthy();

    const goal = await goalsClient(api.url, person.token).create('streamed');
    await goalsClient(api.url, person.token).update(goal.id, { done: true });
    await until(() => mine.events.length === 2);
    expect(kinds(mine)).toEqual([`created ${goal.id}`, `updated ${goal.id}`]);

    // The stranger's own change is the first thing their stream carries.
    const own = await goalsClient(api.url, stranger.token).create('theirs');
    await until(() => theirs.events.length === 1);
    expect(kinds(theirs)).toEqual([`created ${own.id}`]);
  });

  test('when a stream reconnects with Last-Event-ID, then the events missed meanwhile are replayed', async () => {
    const person = await signUpOnApi(api.url);
    const goals = goalsClient(api.url, person.token);
    const first = await listen(person);
    const early = await goals.create('before the drop');
    await until(() => first.events.length === 1);
    first.close();
    const missed = await goals.create('while away');

    const resumed = await listen(person, { 'last-event-id': first.events[0]!.id! });
    await until(() => resumed.events.length === 1);
    expect(kinds(resumed)).toEqual([`created ${missed.id}`]);
    expect(early.id).not.toBe(missed.id);
  });

  test('when nobody is signed in, then the API’s 401 problem is passed on as it is', async () => {
    const stream = await listen(undefined);
    await until(() => stream.ended);
    expect(stream.status).toBe(401);
    expect(stream.headers['content-type']).toContain('application/problem+json');
    expect(stream.headers['www-authenticate']).toBe('Bearer');
    expect(JSON.parse(stream.raw)).toMatchObject({ status: 401 });
  });

  test('when the browser goes away, then its stream to the API closes too (the account’s ten streams are free again)', async () => {
    const person = await signUpOnApi(api.url);
    const ten = await Promise.all(Array.from({ length: 10 }, () => listen(person)));
    expect(ten.map((stream) => stream.status)).toEqual(Array(10).fill(200));
    const eleventh = await listen(person);
    expect(eleventh.status).toBe(429);
    expect(eleventh.headers['retry-after']).toBeTruthy();

    for (const stream of ten) stream.close();
    // Freed as each upstream connection closes: a new stream is accepted within moments.
    let again: EventStream<GoalEvent> | undefined;
    for (let attempt = 0; attempt < 50 && again?.status !== 200; attempt += 1) {
      again = await listen(person);
      if (again.status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(again?.status).toBe(200);
    const nine = await Promise.all(Array.from({ length: 9 }, () => listen(person)));
    expect(nine.map((stream) => stream.status)).toEqual(Array(9).fill(200));
  });

  test('when the web tier shuts down, then its open streams end and the close does not wait on them', async () => {
    const person = await signUpOnApi(api.url);
    const own = await buildWeb(api.url);
    const stream = await listen(person, {}, await listening(own));
    expect(stream.status).toBe(200);
    await own.close();
    await until(() => stream.ended);
  });

  test('when the API cannot be reached, then the stream is refused with a 503 problem and Retry-After', async () => {
    const person = await signUpOnApi(api.url);
    const orphan = await buildWeb(`http://127.0.0.1:${await freePort()}`);
    try {
      const stream = await listen(person, {}, await listening(orphan));
      await until(() => stream.ended);
      expect(stream.status).toBe(503);
      expect(stream.headers['retry-after']).toBe('5');
      expect(JSON.parse(stream.raw)).toMatchObject({ title: 'Goals are unavailable right now' });
    } finally {
      await orphan.close();
    }
  });
});

describe('the page, open on two devices', () => {
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
    expect(errors.splice(0)).toEqual([]);
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function device(as: TestAccount): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    contexts.push(context);
    await context.addCookies([{ name: 'session', value: as.token, url: webUrl }]);
    const page = await context.newPage();
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    const streamOpen = page.waitForResponse(
      (response) => response.url().endsWith('/api/goals/events') && response.status() === 200,
    );
    await page.goto(webUrl);
    await streamOpen;
    return page;
  }

  const names = (page: Page) => page.locator('#goals .goal-name').allTextContents();
  const item = (page: Page, name: string) =>
    page.locator('li.goal', { has: page.locator('.goal-name', { hasText: name }) });

  test('when one device adds, ticks, renames, reorders and deletes, then the other shows each change without a reload', async () => {
    const person = await signUpOnApi(api.url);
    const phone = await device(person);
    const laptop = await device(person);
    await laptop.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));

    await phone.fill('#new-goal', 'Run a marathon');
    await phone.press('#new-goal', 'Enter');
    await expect.poll(() => names(laptop), { timeout: 5_000 }).toEqual(['Run a marathon']);
    await expect
      .poll(() => laptop.locator('#remaining').textContent(), { timeout: 5_000 })
      .toContain('1 goal left');

    await phone.fill('#new-goal', 'Learn Welsh');
    await phone.press('#new-goal', 'Enter');
    await expect
      .poll(() => names(laptop), { timeout: 5_000 })
      .toEqual(['Learn Welsh', 'Run a marathon']);

    await item(phone, 'Run a marathon').locator('.check').click();
    await expect.poll(() => item(laptop, 'Run a marathon').getAttribute('data-done')).toBe('true');
    await expect
      .poll(() => laptop.locator('#remaining').textContent(), { timeout: 5_000 })
      .toContain('1 goal left');

    await item(phone, 'Learn Welsh').locator('.rename-link').click();
    await phone.fill('.rename-form input[name="name"]', 'Learn Welsh well');
    await phone.press('.rename-form input[name="name"]', 'Enter');
    await expect
      .poll(() => names(laptop), { timeout: 5_000 })
      .toEqual(['Learn Welsh well', 'Run a marathon']);

    // A script with the person's token moves one: the page follows the stored order.
    const goals = await goalsClient(api.url, person.token).all();
    const marathon = goals.find((goal) => goal.name === 'Run a marathon')!;
    await fetch(`${api.url}/goals/${marathon.id}/move`, {
      method: 'POST',
      headers: { authorization: `Bearer ${person.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ after: null }),
    });
    await expect
      .poll(() => names(laptop), { timeout: 5_000 })
      .toEqual(['Run a marathon', 'Learn Welsh well']);

    await item(phone, 'Learn Welsh well').locator('.delete-form button').click();
    await expect.poll(() => names(laptop), { timeout: 5_000 }).toEqual(['Run a marathon']);
    await expect
      .poll(() => laptop.locator('#remaining').textContent(), { timeout: 5_000 })
      .toContain('No goals left');

    expect(
      await laptop.evaluate(() => (window as unknown as { stayed?: boolean }).stayed === true),
    ).toBe(true);
    expect(await names(phone)).toEqual(['Run a marathon']);
  });

  test('when another account changes its goals, then this page shows none of them', async () => {
    const person = await signUpOnApi(api.url);
    const stranger = await signUpOnApi(api.url);
    const page = await device(person);
    await goalsClient(api.url, stranger.token).create('Not yours');
    await goalsClient(api.url, person.token).create('Yours');
    await expect.poll(() => names(page), { timeout: 5_000 }).toEqual(['Yours']);
  });

  test('when a goal is being renamed here and changes elsewhere, then the field stays open with what was typed', async () => {
    const person = await signUpOnApi(api.url);
    const goals = goalsClient(api.url, person.token);
    const goal = await goals.create('Write a book');
    const page = await device(person);
    await item(page, 'Write a book').locator('.rename-link').click();
    await page.fill('.rename-form input[name="name"]', 'Write two books');
    await goals.update(goal.id, { done: true });
    await expect
      .poll(() => item(page, 'Write a book').getAttribute('data-done'), { timeout: 5_000 })
      .toBe('true');
    expect(await page.inputValue('.rename-form input[name="name"]')).toBe('Write two books');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('name');
  });
});
