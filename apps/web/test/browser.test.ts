import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import {
  launchChromium,
  navigation,
  screenshot,
  SCREENSHOT_DIR,
  seriousAxeViolations,
} from './support/browser.js';
import { localDate, shortDateText } from '../src/views/goal-dates.js';
import {
  accountWithGoals,
  dayFromToday,
  IMG_PAYLOAD,
  SCRIPT_PAYLOAD,
  TEST_PASSWORD,
  uniqueEmail,
  type TestAccount,
} from './support/goals.js';
import { useRealApi } from './support/real-api.js';
import { buildWeb } from './support/web.js';

const api = useRealApi('web_browser');
let web: FastifyInstance;
let webUrl: string;
let browser: Browser;

const contexts: BrowserContext[] = [];
/** Every alert() any page tried to open: an XSS payload that ran would land here. */
const dialogs: string[] = [];
/** Anything the pages logged as an error, CSP violations included. */
const consoleErrors: string[] = [];

beforeAll(async () => {
  web = await buildWeb(api.url);
  await web.listen({ port: 0, host: '127.0.0.1' });
  const address = web.server.address();
  if (!address || typeof address === 'string') throw new Error('web has no address');
  webUrl = `http://127.0.0.1:${address.port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await web?.close();
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
  expect(dialogs.splice(0)).toEqual([]);
  expect(consoleErrors.splice(0)).toEqual([]);
});

/** Opens a page in a fresh browser, signed in as `as` (the test account unless null). */
async function open(
  path = '/',
  options: BrowserContextOptions = {},
  expectErrors = false,
  as: TestAccount | null = api.account,
): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 }, ...options });
  contexts.push(context);
  if (as) await context.addCookies([{ name: 'session', value: as.token, url: webUrl }]);
  const page = await context.newPage();
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('console', (message) => {
    // A refused API call logs the failed resource; only those are expected, and only when asked.
    const failedResource = message.text().startsWith('Failed to load resource');
    if (message.type() === 'error' && !(expectErrors && failedResource)) {
      consoleErrors.push(message.text());
    }
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  await page.goto(`${webUrl}${path}`);
  return page;
}

const noScript: BrowserContextOptions = { javaScriptEnabled: false };

function goalItem(page: Page, name: string) {
  return page.locator('li.goal', { has: page.locator('.goal-name', { hasText: name }) });
}

async function remaining(page: Page): Promise<string> {
  return ((await page.locator('#remaining').textContent()) ?? '').trim();
}

async function goalNames(page: Page): Promise<string[]> {
  return page.locator('#goals .goal-name').allTextContents();
}

async function settled(page: Page): Promise<void> {
  await page.locator('.is-pending').first().waitFor({ state: 'detached' });
}

async function markNoReload(page: Page): Promise<() => Promise<boolean>> {
  await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  return () => page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed === true);
}

function apiState() {
  return api.goals.all().then((all) => all.map(({ name, done }) => ({ name, done })));
}

describe('with JavaScript', () => {
  test('when goals are added, ticked off, renamed and deleted, then the page updates in place and the API agrees', async () => {
    const page = await open();
    await screenshot(page, 'empty-light');
    const stayed = await markNoReload(page);

    await page.getByLabel('What do you want to achieve?').fill('Water the plants');
    await page.keyboard.press('Enter');
    await page.getByLabel('What do you want to achieve?').fill('Plan a trip');
    await page.getByRole('button', { name: 'Add goal' }).click();
    await settled(page);
    // Newest on top.
    expect(await goalNames(page)).toEqual(['Plan a trip', 'Water the plants']);
    await expect.poll(() => remaining(page)).toBe('2 goals left');
    expect(await page.getByLabel('What do you want to achieve?').inputValue()).toBe('');

    await page.getByRole('checkbox', { name: 'Water the plants', exact: true }).click();
    expect(
      await page.getByRole('checkbox', { name: 'Water the plants' }).getAttribute('aria-checked'),
    ).toBe('true');
    expect(await remaining(page)).toBe('1 goal left');
    await expect.poll(apiState).toEqual([
      { name: 'Plan a trip', done: false },
      { name: 'Water the plants', done: true },
    ]);

    await page.getByRole('link', { name: 'Rename Plan a trip', exact: true }).click();
    const field = page.getByLabel('New name');
    expect(await field.inputValue()).toBe('Plan a trip');
    await field.fill('Plan a trip to Lisbon');
    await screenshot(page, 'rename-light');
    await field.press('Enter');
    expect(await goalNames(page)).toEqual(['Plan a trip to Lisbon', 'Water the plants']);
    await expect.poll(apiState).toEqual([
      { name: 'Plan a trip to Lisbon', done: false },
      { name: 'Water the plants', done: true },
    ]);

    await page.getByRole('button', { name: 'Delete Water the plants', exact: true }).click();
    expect(await goalNames(page)).toEqual(['Plan a trip to Lisbon']);
    await expect.poll(apiState).toEqual([{ name: 'Plan a trip to Lisbon', done: false }]);
    expect(await stayed()).toBe(true);

    await page.getByRole('button', { name: 'Delete Plan a trip to Lisbon', exact: true }).click();
    await expect.poll(() => page.locator('#empty-state').isVisible()).toBe(true);
    expect(await remaining(page)).toBe('No goals left');
  });

  test('when a filter is chosen, then only matching goals show, and ticking one off moves it out of view', async () => {
    await api.goals.create('Still to do');
    await api.goals.create('Already done', true);
    await api.goals.create('Also to do');
    const page = await open();
    await navigation(page, () => page.getByRole('link', { name: 'Active', exact: true }).click());
    expect(await goalNames(page)).toEqual(['Also to do', 'Still to do']);
    expect(await page.getByRole('link', { name: 'Active' }).getAttribute('aria-current')).toBe(
      'page',
    );

    await page.getByRole('checkbox', { name: 'Still to do' }).click();
    expect(await goalNames(page)).toEqual(['Also to do']);
    expect(await remaining(page)).toBe('1 goal left');

    await navigation(page, () => page.getByRole('link', { name: 'Done', exact: true }).click());
    expect(await goalNames(page)).toEqual(['Already done', 'Still to do']);
    await screenshot(page, 'filter-done-light');
  });

  test('when there are more than 50 goals, then "Show N more" appends the next page without a reload', async () => {
    const own = await accountWithGoals(api.url, 106);
    const page = await open('/', {}, false, own);
    expect(await page.locator('#goals li').count()).toBe(50);
    const stayed = await markNoReload(page);
    await page.getByRole('link', { name: 'Show 56 more' }).click();
    await expect.poll(() => page.locator('#goals li').count()).toBe(100);
    await page.getByRole('link', { name: 'Show 6 more' }).click();
    await expect.poll(() => page.locator('#goals li').count()).toBe(106);
    expect((await goalNames(page)).slice(-2)).toEqual(['Goal 2', 'Goal 1']);
    expect(await page.locator('.more').isHidden()).toBe(true);
    expect(await stayed()).toBe(true);
  });

  test('when a goal is added to a long list, then it goes on top, in view, and the next page still follows on', async () => {
    const own = await accountWithGoals(api.url, 51);
    const page = await open('/', {}, false, own);
    await page.getByLabel('What do you want to achieve?').fill('The newest');
    await page.keyboard.press('Enter');
    await settled(page);
    expect((await goalNames(page))[0]).toBe('The newest');
    await expect.poll(() => page.locator('#announcer').textContent()).toBe('Added “The newest”.');
    expect(await remaining(page)).toBe('52 goals left');
    await page.getByRole('link', { name: 'Show 1 more' }).click();
    await expect.poll(async () => (await goalNames(page)).at(-1)).toBe('Goal 1');
    expect(await page.locator('#goals li').count()).toBe(52);
    await expect.poll(async () => (await own.goals.all()).length).toBe(52);
  });

  test('when a goal is added on a later page, then it is announced as on the first page', async () => {
    const own = await accountWithGoals(api.url, 51);
    const page = await open('/', {}, false, own);
    const later = await page.locator('#show-more').getAttribute('href');
    await page.goto(`${webUrl}${later}`);
    expect(await goalNames(page)).toEqual(['Goal 1']);
    await page.getByLabel('What do you want to achieve?').fill('Out of this page');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.locator('#announcer').textContent())
      .toBe('Added “Out of this page” at the top of the list, on the first page.');
    expect(await goalNames(page)).toEqual(['Goal 1']);
  });

  test('when a name is blank, then the field says why and nothing is sent', async () => {
    const page = await open();
    await page.getByLabel('What do you want to achieve?').fill('   ');
    await page.keyboard.press('Enter');
    expect(await page.locator('#new-goal-error').textContent()).toContain('cannot be empty');
    expect(await page.getByLabel('What do you want to achieve?').getAttribute('aria-invalid')).toBe(
      'true',
    );
    expect(await api.goals.all()).toEqual([]);
  });

  test('when names are HTML, then they show as text, added or loaded, and nothing runs', async () => {
    await api.goals.create(SCRIPT_PAYLOAD);
    const page = await open();
    await page.getByLabel('What do you want to achieve?').fill(IMG_PAYLOAD);
    await page.keyboard.press('Enter');
    await settled(page);
    expect(await goalNames(page)).toEqual([IMG_PAYLOAD, SCRIPT_PAYLOAD]);
    await page.getByRole('link', { name: `Rename ${IMG_PAYLOAD}` }).click();
    await page.getByLabel('New name').fill(`${IMG_PAYLOAD}!`);
    await page.keyboard.press('Enter');
    expect(await goalNames(page)).toEqual([`${IMG_PAYLOAD}!`, SCRIPT_PAYLOAD]);
    expect(await page.locator('#goals img, #goals script').count()).toBe(0);
    await page.reload();
    expect(await goalNames(page)).toEqual([`${IMG_PAYLOAD}!`, SCRIPT_PAYLOAD]);
    expect(await page.locator('#goals img, #goals script').count()).toBe(0);
  });
});

describe('without JavaScript', () => {
  test('when goals are added, ticked off, renamed and deleted through plain forms, then each post lands back on the list', async () => {
    const page = await open('/', noScript);
    const field = page.getByLabel('What do you want to achieve?');
    await field.fill('Bake bread');
    await navigation(page, () => page.keyboard.press('Enter'));
    await field.fill(SCRIPT_PAYLOAD);
    await navigation(page, () => page.getByRole('button', { name: 'Add goal' }).click());
    expect(page.url()).toContain('status=added');
    expect(await goalNames(page)).toEqual([SCRIPT_PAYLOAD, 'Bake bread']);
    expect(await page.locator('#notice').textContent()).toContain('Goal added.');
    expect(await remaining(page)).toContain('2 goals left');

    await navigation(page, () => page.getByRole('checkbox', { name: 'Bake bread' }).click());
    expect(
      await page.getByRole('checkbox', { name: 'Bake bread' }).getAttribute('aria-checked'),
    ).toBe('true');
    expect(await remaining(page)).toContain('1 goal left');

    await navigation(page, () =>
      page.getByRole('link', { name: `Rename ${SCRIPT_PAYLOAD}` }).click(),
    );
    const rename = page.getByLabel('New name');
    // The server rendered it with autofocus: typing goes straight in.
    expect(await rename.evaluate((element) => element === document.activeElement)).toBe(true);
    await rename.fill('Sourdough <b>starter</b>');
    await navigation(page, () => page.getByRole('button', { name: 'Save' }).click());
    expect(await goalNames(page)).toEqual(['Sourdough <b>starter</b>', 'Bake bread']);
    await screenshot(page, 'no-js-list-light');

    await navigation(page, () => page.getByRole('link', { name: 'Done', exact: true }).click());
    expect(await goalNames(page)).toEqual(['Bake bread']);
    await navigation(page, () => page.getByRole('link', { name: 'All', exact: true }).click());

    await navigation(page, () => page.getByRole('button', { name: 'Delete Bake bread' }).click());
    expect(await goalNames(page)).toEqual(['Sourdough <b>starter</b>']);
    expect(await apiState()).toEqual([{ name: 'Sourdough <b>starter</b>', done: false }]);
  });

  test('when the list is longer than a page, then "Show more" leads to the next page, keeping the filter', async () => {
    const own = await accountWithGoals(api.url, 53);
    const page = await open('/?filter=active', noScript, false, own);
    await navigation(page, () => page.getByRole('link', { name: 'Show 3 more' }).click());
    expect(page.url()).toMatch(/filter=active&after=\d+&shown=50/);
    expect(await goalNames(page)).toEqual(['Goal 3', 'Goal 2', 'Goal 1']);
    await navigation(page, () =>
      page.getByRole('link', { name: 'Back to the first page' }).click(),
    );
    expect(await page.locator('#goals li').count()).toBe(50);
  });

  test('when a blank name is sent, then the page comes back with the error beside the field', async () => {
    // The browser logs the 400 answer itself.
    const page = await open('/', noScript, true);
    await page.getByLabel('What do you want to achieve?').fill('  ');
    await navigation(page, () => page.keyboard.press('Enter'));
    expect(await page.locator('#new-goal-error').textContent()).toContain('cannot be empty');
    expect(await page.title()).toContain('Error');
  });
});

describe('keyboard only', () => {
  async function tabTo(page: Page, selector: string, limit = 30): Promise<void> {
    for (let step = 0; step < limit; step += 1) {
      if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
      await page.keyboard.press('Tab');
    }
    throw new Error(`Tab never reached ${selector}`);
  }

  async function focusRing(page: Page): Promise<string> {
    return page.evaluate(() => {
      const element = document.activeElement as HTMLElement;
      const style = getComputedStyle(element);
      // The text field shows focus with a ring drawn as a box-shadow; everything else, an outline.
      return style.outlineStyle !== 'none' ? style.outlineStyle : style.boxShadow;
    });
  }

  test('when someone uses only the keyboard, then they can add, tick off, rename and delete, with focus always visible', async () => {
    await api.goals.create('First goal');
    const page = await open();

    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe(
      'Skip to your goals',
    );
    expect(await focusRing(page)).toBe('solid');

    await tabTo(page, '#new-goal');
    expect(await focusRing(page)).not.toBe('none');
    await page.keyboard.type('Typed without a mouse');
    await page.keyboard.press('Enter');
    await settled(page);
    expect(await goalNames(page)).toEqual(['Typed without a mouse', 'First goal']);

    await tabTo(page, '#goals li:first-child .check');
    expect(await focusRing(page)).toBe('solid');
    await page.keyboard.press('Space');
    expect(await goalItem(page, 'Typed without a mouse').getAttribute('data-done')).toBe('true');

    // A goal's actions are reached with the arrow keys, not Tab: Move down (the first goal has
    // no Move up), then Rename.
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate(() => document.activeElement?.classList.contains('move-down'))).toBe(
      true,
    );
    await page.keyboard.press('ArrowRight');
    expect(
      await page.evaluate(() => document.activeElement?.classList.contains('rename-link')),
    ).toBe(true);
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement).value)).toBe(
      'Typed without a mouse',
    );
    await page.keyboard.press('Escape');
    expect(
      await page.evaluate(() => document.activeElement?.classList.contains('rename-link')),
    ).toBe(true);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('Renamed by keyboard');
    await page.keyboard.press('Enter');
    expect(await goalNames(page)).toEqual(['Renamed by keyboard', 'First goal']);

    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    expect(await goalNames(page)).toEqual(['First goal']);
    // Focus lands on a neighbour, not on the page's start.
    expect(await page.evaluate(() => document.activeElement?.classList.contains('check'))).toBe(
      true,
    );
    await expect.poll(apiState).toEqual([{ name: 'First goal', done: false }]);
  });
});

describe('rough edges', () => {
  test('when tabbing through the list, then each goal is one stop, and the arrow keys move between and across goals', async () => {
    // Listed newest first: Three, Two, One.
    for (const name of ['One', 'Two', 'Three']) await api.goals.create(name);
    const page = await open();
    const focused = () =>
      page.evaluate(() => {
        const element = document.activeElement as HTMLElement;
        const goal = element.closest('li.goal')?.querySelector('.goal-name')?.textContent;
        return `${goal ?? '-'}:${element.className.split(' ')[0] ?? ''}`;
      });
    await page.getByRole('checkbox', { name: 'Three' }).focus();
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Two:check');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('One:check');
    await page.keyboard.press('Tab');
    expect(await focused()).not.toMatch(/^(One|Two|Three):/);

    await page.getByRole('checkbox', { name: 'Two' }).focus();
    await page.keyboard.press('End');
    expect(await focused()).toBe('Two:icon-button');
    await page.keyboard.press('ArrowLeft');
    expect(await focused()).toBe('Two:icon-button');
    expect(await page.evaluate(() => document.activeElement?.matches('.rename-link'))).toBe(true);
    await page.keyboard.press('ArrowDown');
    expect(await focused()).toBe('One:icon-button');
    expect(await page.evaluate(() => document.activeElement?.matches('.rename-link'))).toBe(true);
    // The row remembers the action last used: Shift+Tab back to Two lands on its rename link.
    await page.keyboard.press('Shift+Tab');
    expect(await focused()).toBe('Two:icon-button');
    expect(await page.evaluate(() => document.activeElement?.matches('.rename-link'))).toBe(true);
  });

  test('when a name nears the limit, then a counter says how much is left, and an error clears on the next action', async () => {
    await api.goals.create('Something else');
    const page = await open();
    const field = page.getByLabel('What do you want to achieve?');
    const counter = page.locator('#new-goal-counter');
    await field.fill('x'.repeat(100));
    expect(await counter.isVisible()).toBe(false);
    await field.fill('x'.repeat(250));
    expect(await counter.textContent()).toBe('5 characters left');
    // The field stops at the limit, as the browser counts.
    await field.fill('x'.repeat(300));
    expect(await field.inputValue()).toHaveLength(255);
    expect(await counter.textContent()).toBe('0 characters left');

    // An empty Add and an Add of spaces say the same thing, in the page's own words.
    await field.fill('');
    await field.press('Enter');
    expect(await page.locator('#new-goal-error').textContent()).toContain('cannot be empty');
    await field.fill('   ');
    await field.press('Enter');
    expect(await page.locator('#new-goal-error').textContent()).toContain('cannot be empty');
    // Another action clears it.
    await page.getByRole('checkbox', { name: 'Something else' }).click();
    expect(await page.locator('#new-goal-error').isVisible()).toBe(false);
  });

  test('when the last goal is deleted on the Active filter, then the empty state says there are none at all', async () => {
    await api.goals.create('Only goal');
    const page = await open('/?filter=active');
    await page.getByRole('button', { name: 'Delete Only goal' }).click();
    await expect.poll(() => page.locator('#empty-state').isVisible()).toBe(true);
    expect(await page.locator('#empty-state .state-variant:not([hidden]) h2').textContent()).toBe(
      'No goals yet',
    );
  });

  test('when a refused post is reloaded without JavaScript, then nothing is sent again', async () => {
    const page = await open('/', noScript, true);
    await page.getByLabel('What do you want to achieve?').fill('  ');
    await navigation(page, () => page.keyboard.press('Enter'));
    expect(new URL(page.url()).pathname).toBe('/');
    expect(await page.locator('#new-goal-error').textContent()).toContain('cannot be empty');
    let posts = 0;
    page.on('request', (request) => {
      if (request.method() === 'POST') posts += 1;
    });
    await page.reload();
    expect(posts).toBe(0);
    expect(await page.locator('#new-goal-error').isVisible()).toBe(false);
  });
});

describe('undo', () => {
  const undoButton = (page: Page, text: string) =>
    page.getByRole('button', { name: `Undo: ${text}`, exact: true });

  test('when a goal is deleted, then Undo in the toast puts it back in its place, without taking the focus', async () => {
    for (const name of ['Oldest', 'Middle', 'Newest']) await api.goals.create(name);
    const page = await open();
    await page.getByRole('button', { name: 'Delete Middle', exact: true }).click();
    await expect.poll(() => goalNames(page)).toEqual(['Newest', 'Oldest']);
    await expect.poll(() => apiState()).toHaveLength(2);
    const undo = undoButton(page, 'Deleted “Middle”.');
    expect(await undo.isVisible()).toBe(true);
    expect(await undo.evaluate((button) => button === document.activeElement)).toBe(false);
    await undo.click();
    await expect.poll(() => goalNames(page)).toEqual(['Newest', 'Middle', 'Oldest']);
    expect(await remaining(page)).toBe('3 goals left');
    expect(await apiState()).toEqual([
      { name: 'Newest', done: false },
      { name: 'Middle', done: false },
      { name: 'Oldest', done: false },
    ]);
    expect(await undo.count()).toBe(0);
  });

  test('when several changes are pending, then each Undo takes back its own, even after a reload', async () => {
    for (const name of ['Walk', 'Read', 'Cook']) await api.goals.create(name);
    const page = await open();
    await page.getByRole('checkbox', { name: 'Walk' }).click();
    await expect.poll(() => undoButton(page, 'Marked “Walk” done.').count()).toBe(1);
    await page.getByRole('button', { name: 'Delete Read', exact: true }).click();
    await expect.poll(() => undoButton(page, 'Deleted “Read”.').count()).toBe(1);
    await page.getByRole('link', { name: 'Rename Cook', exact: true }).click();
    await page.getByLabel('New name').fill('Cook dinner');
    await page.getByLabel('New name').press('Enter');
    await expect.poll(() => undoButton(page, 'Renamed “Cook” to “Cook dinner”.').count()).toBe(1);

    await page.reload();
    await undoButton(page, 'Deleted “Read”.').click();
    await expect
      .poll(() => apiState())
      .toEqual([
        { name: 'Cook dinner', done: false },
        { name: 'Read', done: false },
        { name: 'Walk', done: true },
      ]);
    await undoButton(page, 'Marked “Walk” done.').click();
    await undoButton(page, 'Renamed “Cook” to “Cook dinner”.').click();
    await expect
      .poll(() => apiState())
      .toEqual([
        { name: 'Cook', done: false },
        { name: 'Read', done: false },
        { name: 'Walk', done: false },
      ]);
    await expect.poll(() => goalNames(page)).toEqual(['Cook', 'Read', 'Walk']);
    expect(await remaining(page)).toBe('3 goals left');
  });

  test('when an undo meets a newer change, then it undoes only its own change, or says it cannot', async () => {
    const goal = await api.goals.create('Swim');
    // The refused PATCH (412) is logged by the browser itself.
    const page = await open('/', {}, true);
    await page.getByRole('checkbox', { name: 'Swim' }).click();
    await expect.poll(() => undoButton(page, 'Marked “Swim” done.').count()).toBe(1);
    // Elsewhere, meanwhile: a rename. Undoing the tick keeps it.
    await api.goals.update(goal.id, { name: 'Swim 1 km' });
    await undoButton(page, 'Marked “Swim” done.').click();
    await expect.poll(() => apiState()).toEqual([{ name: 'Swim 1 km', done: false }]);

    await page.reload();
    await page.getByRole('link', { name: 'Rename Swim 1 km', exact: true }).click();
    await page.getByLabel('New name').fill('Swim 2 km');
    await page.getByLabel('New name').press('Enter');
    await expect
      .poll(() => undoButton(page, 'Renamed “Swim 1 km” to “Swim 2 km”.').count())
      .toBe(1);
    // Elsewhere, meanwhile: another rename. Undoing ours would overwrite it, so it is refused.
    await api.goals.update(goal.id, { name: 'Swim 3 km' });
    await undoButton(page, 'Renamed “Swim 1 km” to “Swim 2 km”.').click();
    await expect.poll(() => page.locator('#messages').textContent()).toContain('Could not undo');
    expect(await apiState()).toEqual([{ name: 'Swim 3 km', done: false }]);
  });

  test('when a bin is double-clicked, then only the goal aimed at is deleted', async () => {
    for (const name of ['Keep me', 'Aimed at']) await api.goals.create(name);
    const page = await open();
    await page.getByRole('button', { name: 'Delete Aimed at', exact: true }).dblclick();
    await expect.poll(() => apiState()).toEqual([{ name: 'Keep me', done: false }]);
    await page.waitForLoadState('networkidle');
    expect(await apiState()).toEqual([{ name: 'Keep me', done: false }]);
    expect(await goalNames(page)).toEqual(['Keep me']);
  });

  test('when a goal is deleted without JavaScript, then the status line offers Undo, which restores it', async () => {
    await api.goals.create('Plain forms');
    const page = await open('/', noScript);
    await navigation(page, () =>
      page.getByRole('button', { name: 'Delete Plain forms', exact: true }).click(),
    );
    expect(await page.locator('#notice').textContent()).toContain('Goal deleted.');
    await navigation(page, () => page.getByRole('button', { name: 'Undo' }).click());
    expect(await page.locator('#notice').textContent()).toContain('Goal restored.');
    expect(await goalNames(page)).toEqual(['Plain forms']);
    expect(await apiState()).toEqual([{ name: 'Plain forms', done: false }]);
  });
});

describe('order', () => {
  /** Four goals, listed newest first: Four, Three, Two, One. */
  async function fourGoals(): Promise<void> {
    for (const name of ['One', 'Two', 'Three', 'Four']) await api.goals.create(name);
  }

  const storedOrder = () => api.goals.all().then((all) => all.map((goal) => goal.name));
  const announced = (page: Page) => expect.poll(() => page.locator('#announcer').textContent());

  /** The middle of an element, in the page's coordinates. */
  async function middle(page: Page, selector: ReturnType<Page['locator']>) {
    const box = await selector.boundingBox();
    if (!box) throw new Error('not on screen');
    return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  }

  /** Other browsers (a reload here, a second device) see the stored order. */
  async function expectOrderEverywhere(page: Page, names: string[]): Promise<void> {
    await expect.poll(storedOrder).toEqual(names);
    await page.reload();
    expect(await goalNames(page)).toEqual(names);
    const elsewhere = await open();
    expect(await goalNames(elsewhere)).toEqual(names);
  }

  test('when a goal is dragged with the mouse, then a bar shows where it lands, and the order is stored', async () => {
    await fourGoals();
    const page = await open();
    const handle = page.getByRole('button', { name: 'Move One', exact: true });
    const start = await middle(page, handle);
    const target = await middle(page, goalItem(page, 'Three'));
    await page.mouse.move(start.x, start.y);
    await page.mouse.down();
    await page.mouse.move(start.x, target.y - 10, { steps: 8 });
    await expect.poll(() => page.locator('.drop-indicator').count()).toBe(1);
    expect(await page.locator('li.goal.is-dragging .goal-name').textContent()).toBe('One');
    await screenshot(page, 'order-dragging');
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.mouse.up();
    expect(await goalNames(page)).toEqual(['Four', 'One', 'Three', 'Two']);
    expect(await page.locator('.drop-indicator').count()).toBe(0);
    await announced(page).toBe('Moved “One” to position 2 of 4.');
    expect(await page.evaluate(() => document.activeElement?.closest('li')?.id)).toMatch(/^goal-/);
    await expectOrderEverywhere(page, ['Four', 'One', 'Three', 'Two']);
  });

  test('when a goal is dragged with a finger, then it moves as with a mouse, without scrolling the page', async () => {
    await fourGoals();
    const page = await open('/', {
      hasTouch: true,
      isMobile: true,
      viewport: { width: 360, height: 1000 },
    });
    // Tall enough that the drop point is not near the window's edge, where dragging scrolls.
    const touch = await page.context().newCDPSession(page);
    const start = await middle(page, page.getByRole('button', { name: 'Move Four', exact: true }));
    const target = await middle(page, goalItem(page, 'One'));
    const scrolled = await page.evaluate(() => scrollY);
    await touch.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [start] });
    for (let step = 1; step <= 8; step += 1) {
      const y = start.y + ((target.y + 10 - start.y) * step) / 8;
      await touch.send('Input.dispatchTouchEvent', {
        type: 'touchMove',
        touchPoints: [{ x: start.x, y }],
      });
    }
    await touch.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    expect(await goalNames(page)).toEqual(['Three', 'Two', 'One', 'Four']);
    expect(await page.evaluate(() => scrollY)).toBe(scrolled);
    await expectOrderEverywhere(page, ['Three', 'Two', 'One', 'Four']);
  });

  test('when Escape is pressed during a drag, then the goal stays where it was and nothing is sent', async () => {
    await fourGoals();
    const page = await open();
    let moves = 0;
    page.on('request', (request) => {
      if (request.url().endsWith('/move')) moves += 1;
    });
    const start = await middle(page, page.getByRole('button', { name: 'Move Four', exact: true }));
    const target = await middle(page, goalItem(page, 'One'));
    await page.mouse.move(start.x, start.y);
    await page.mouse.down();
    await page.mouse.move(start.x, target.y + 10, { steps: 6 });
    await page.keyboard.press('Escape');
    await page.mouse.up();
    expect(await goalNames(page)).toEqual(['Four', 'Three', 'Two', 'One']);
    expect(await page.locator('.is-dragging, .drop-indicator').count()).toBe(0);
    await announced(page).toBe('Move of “Four” cancelled.');
    expect(moves).toBe(0);
  });

  test('when a goal is moved from the keyboard, then focus stays on it, the move is announced, and the ends cannot go further', async () => {
    await fourGoals();
    const page = await open();
    const focused = () =>
      page.evaluate(() => {
        const element = document.activeElement as HTMLElement;
        const goal = element.closest('li.goal')?.querySelector('.goal-name')?.textContent;
        return `${goal ?? '-'}:${element.className.split(' ').at(-1) ?? ''}`;
      });
    await page.getByRole('checkbox', { name: 'Two' }).focus();
    await page.keyboard.press('Alt+ArrowUp');
    expect(await goalNames(page)).toEqual(['Four', 'Two', 'Three', 'One']);
    expect(await focused()).toBe('Two:check');
    await announced(page).toBe('Moved “Two” up, to position 2 of 4.');
    await page.keyboard.press('Alt+ArrowUp');
    expect(await goalNames(page)).toEqual(['Two', 'Four', 'Three', 'One']);
    // First now: its Move up is disabled, with the reason as its description.
    const up = page.getByRole('button', { name: 'Move up Two' });
    expect(await up.isDisabled()).toBe(true);
    expect(await up.getAttribute('aria-describedby')).toBe('move-first-reason');
    await page.keyboard.press('Alt+ArrowUp');
    expect(await goalNames(page)).toEqual(['Two', 'Four', 'Three', 'One']);

    // The Move down button, reached with the arrow keys, keeps the focus as it moves the goal.
    await page.keyboard.press('ArrowRight');
    expect(await focused()).toBe('Two:move-down');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter');
    expect(await goalNames(page)).toEqual(['Four', 'Three', 'One', 'Two']);
    await announced(page).toBe('Moved “Two” down, to position 4 of 4.');
    // Last now: Move down is disabled, so the focus moved to Move up rather than being lost.
    expect(await focused()).toBe('Two:move-up');
    expect(await page.getByRole('button', { name: 'Move up Four' }).isDisabled()).toBe(true);
    await expectOrderEverywhere(page, ['Four', 'Three', 'One', 'Two']);
  });

  test('when a move is refused, then the goal goes back to its place and a message says why', async () => {
    await fourGoals();
    const page = await open('/', {}, true);
    await page.route('**/api/goals/*/move', (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/problem+json',
        body: JSON.stringify({ title: 'Goals are unavailable right now', status: 503 }),
      }),
    );
    await page.getByRole('checkbox', { name: 'One' }).focus();
    await page.keyboard.press('Alt+ArrowUp');
    await expect
      .poll(() => page.locator('#messages').textContent())
      .toContain('Could not move “One”, so it is back in its place.');
    expect(await goalNames(page)).toEqual(['Four', 'Three', 'Two', 'One']);
    expect(await page.getByRole('button', { name: 'Move down One' }).isDisabled()).toBe(true);
    expect(await storedOrder()).toEqual(['Four', 'Three', 'Two', 'One']);
  });

  test('when a goal is moved without JavaScript, then the page comes back in the new order with a status line', async () => {
    await fourGoals();
    const page = await open('/?filter=active', noScript);
    await navigation(page, () => page.getByRole('button', { name: 'Move up One' }).click());
    expect(new URL(page.url()).searchParams.get('filter')).toBe('active');
    expect(await goalNames(page)).toEqual(['Four', 'Three', 'One', 'Two']);
    expect(await page.locator('#notice').textContent()).toContain('Goal moved up.');
    await navigation(page, () => page.getByRole('button', { name: 'Move down Four' }).click());
    expect(await goalNames(page)).toEqual(['Three', 'Four', 'One', 'Two']);
    expect(await page.getByRole('button', { name: 'Move up Three' }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Move down Two' }).isDisabled()).toBe(true);
    await expectOrderEverywhere(page, ['Three', 'Four', 'One', 'Two']);
  });
});

describe('dates', () => {
  const today = dayFromToday(0);
  const nextWeek = dayFromToday(7);
  const yesterday = dayFromToday(-1);
  const datesOf = (page: Page, name: string) =>
    goalItem(page, name)
      .locator('.goal-dates')
      .evaluate((element) =>
        (element as HTMLElement).hidden
          ? ''
          : (element as HTMLElement).innerText.replace(/\s+/g, ' ').trim(),
      );

  test('when a goal gets a target date, then it shows "by" that day, which can be changed and cleared in place', async () => {
    const page = await open();
    await page.getByLabel('What do you want to achieve?').fill('Run 5 km');
    await page.getByLabel('Target date (optional)').fill(nextWeek);
    await page.keyboard.press('Enter');
    await settled(page);
    expect(await datesOf(page, 'Run 5 km')).toBe(`by ${shortDateText(nextWeek, today)}`);
    expect(await page.getByLabel('Target date (optional)').inputValue()).toBe('');
    await expect.poll(() => api.goals.all().then((all) => all[0]?.targetDate)).toBe(nextWeek);

    await page.getByRole('link', { name: 'Rename Run 5 km' }).click();
    const date = goalItem(page, 'Run 5 km').getByLabel('Target date (optional)');
    expect(await date.inputValue()).toBe(nextWeek);
    await date.fill(yesterday);
    await goalItem(page, 'Run 5 km').getByRole('button', { name: 'Save' }).click();
    expect(await datesOf(page, 'Run 5 km')).toBe(`by ${shortDateText(yesterday, today)} Overdue`);
    await expect.poll(() => api.goals.all().then((all) => all[0]?.targetDate)).toBe(yesterday);
    await screenshot(page, 'dates-overdue');

    await page.getByRole('link', { name: 'Rename Run 5 km' }).click();
    await goalItem(page, 'Run 5 km').getByLabel('Target date (optional)').fill('');
    await goalItem(page, 'Run 5 km').getByRole('button', { name: 'Save' }).click();
    expect(await datesOf(page, 'Run 5 km')).toBe('');
    await expect.poll(() => api.goals.all().then((all) => all[0]?.targetDate)).toBeNull();
  });

  test('when a date is only partly typed, then the field says so and nothing is sent', async () => {
    const page = await open();
    await page.getByLabel('What do you want to achieve?').fill('Half a date');
    await page.getByLabel('Target date (optional)').focus();
    await page.keyboard.type('03');
    await page.getByRole('button', { name: 'Add goal' }).click();
    expect(await page.locator('#new-goal-date-error').textContent()).toBe(
      'Enter a whole date, or leave the target date empty.',
    );
    expect(await page.getByLabel('Target date (optional)').getAttribute('aria-invalid')).toBe(
      'true',
    );
    expect(await goalNames(page)).toEqual([]);
    expect(await api.goals.all()).toEqual([]);
  });

  test('when goals are overdue or done, then they say so in words, the Overdue filter lists the overdue ones, and ticking one records the day', async () => {
    const late = await api.goals.create('Late');
    await api.goals.update(late.id, { targetDate: yesterday });
    const onTime = await api.goals.create('On time');
    await api.goals.update(onTime.id, { targetDate: nextWeek });
    const page = await open('/?filter=overdue');
    expect(await goalNames(page)).toEqual(['Late']);
    expect(await goalItem(page, 'Late').getByText('Overdue', { exact: true }).isVisible()).toBe(
      true,
    );
    expect(await seriousAxeViolations(page)).toEqual([]);

    // Ticked off, it is no longer overdue, so it leaves this view, and the empty state is true.
    await page.getByRole('checkbox', { name: 'Late' }).click();
    expect(await goalNames(page)).toEqual([]);
    expect(await page.locator('#empty-state').innerText()).toContain('Nothing overdue');
    await expect
      .poll(() => api.goals.get(late.id).then((goal) => goal?.doneAt ?? null))
      .not.toBeNull();

    await navigation(page, () => page.getByRole('link', { name: 'All', exact: true }).click());
    expect(await datesOf(page, 'Late')).toBe(
      `by ${shortDateText(yesterday, today)} done ${shortDateText(today, today)}`,
    );
    expect(
      await page.getByRole('checkbox', { name: 'Late' }).getAttribute('aria-describedby'),
    ).toBe(`goal-${late.id}-dates`);
    expect(await seriousAxeViolations(page)).toEqual([]);
    const dark = await open('/', { colorScheme: 'dark' });
    await api.goals.update(onTime.id, { targetDate: yesterday });
    await dark.reload();
    expect(await datesOf(dark, 'On time')).toContain('Overdue');
    await screenshot(dark, 'dates-dark');
    expect(await seriousAxeViolations(dark)).toEqual([]);
  });

  test('when dates are set, edited and cleared without JavaScript, then each post lands back on the list with them', async () => {
    const page = await open('/', noScript);
    await page.getByLabel('What do you want to achieve?').fill('Paint the fence');
    await page.getByLabel('Target date (optional)').fill(yesterday);
    await navigation(page, () => page.getByRole('button', { name: 'Add goal' }).click());
    expect(await datesOf(page, 'Paint the fence')).toBe(
      `by ${shortDateText(yesterday, today)} Overdue`,
    );
    await navigation(page, () => page.getByRole('link', { name: 'Overdue', exact: true }).click());
    expect(await goalNames(page)).toEqual(['Paint the fence']);

    await navigation(page, () =>
      page.getByRole('link', { name: 'Rename Paint the fence' }).click(),
    );
    expect(await page.getByLabel('Target date (optional)').nth(1).inputValue()).toBe(yesterday);
    await page.getByLabel('Target date (optional)').nth(1).fill(nextWeek);
    await navigation(page, () => page.getByRole('button', { name: 'Save' }).click());
    // No longer overdue: the Overdue filter is empty, and says why.
    expect(await goalNames(page)).toEqual([]);
    expect(await page.locator('#empty-state').innerText()).toContain(
      'No open goal is past its target date.',
    );
    await navigation(page, () => page.getByRole('link', { name: 'All', exact: true }).click());
    expect(await datesOf(page, 'Paint the fence')).toBe(`by ${shortDateText(nextWeek, today)}`);

    await navigation(page, () =>
      page.getByRole('link', { name: 'Rename Paint the fence' }).click(),
    );
    await page.getByLabel('Target date (optional)').nth(1).fill('');
    await navigation(page, () => page.getByRole('button', { name: 'Save' }).click());
    expect(await datesOf(page, 'Paint the fence')).toBe('');
    expect((await api.goals.all())[0]?.targetDate).toBeNull();
  });

  test('when a page stays open past midnight, then a goal due that day turns Overdue and joins the Overdue list, without a reload', async () => {
    // A day of the page's own clock, so the test does not depend on when it runs.
    const day = '2031-03-14';
    const next = '2031-03-15';
    const due = await api.goals.create('Due tonight');
    await api.goals.update(due.id, { targetDate: day });
    const page = await open('/', { timezoneId: 'UTC' });
    // One clock for the browser context (both pages), standing still at 23:59:30 until the
    // test moves it: however slowly the pages load, the jump past midnight is exactly 35 s,
    // short of the deadline of the requests the new day sets off.
    await page.clock.install({ time: new Date(`${day}T23:59:00Z`) });
    await page.clock.pauseAt(new Date(`${day}T23:59:30Z`));
    await page.reload();
    expect(await datesOf(page, 'Due tonight')).toBe(`by ${shortDateText(day, day)}`);
    const overdue = await page.context().newPage();
    await overdue.goto(`${webUrl}/?filter=overdue`);
    expect(await goalNames(overdue)).toEqual([]);

    await page.clock.fastForward('00:35');
    await expect
      .poll(() => datesOf(page, 'Due tonight'))
      .toBe(`by ${shortDateText(day, next)} Overdue`);
    expect(await page.evaluate(() => document.cookie)).toContain(`today=${next}`);
    await expect.poll(() => goalNames(overdue)).toEqual(['Due tonight']);
    expect(await datesOf(overdue, 'Due tonight')).toContain('Overdue');
  });
});

describe('accessibility', () => {
  for (const colorScheme of ['light', 'dark'] as const) {
    test(`when the main states are shown in the ${colorScheme} scheme, then axe finds no serious or critical violations`, async () => {
      const page = await open('/', { colorScheme });
      expect(await seriousAxeViolations(page)).toEqual([]);

      await api.goals.create('Go for a run');
      await api.goals.create('Learn the guitar', true);
      await api.goals.create(SCRIPT_PAYLOAD);
      await page.reload();
      expect(await seriousAxeViolations(page)).toEqual([]);
      await screenshot(page, `list-${colorScheme}`);

      await page.getByRole('link', { name: 'Rename Go for a run' }).click();
      expect(await seriousAxeViolations(page)).toEqual([]);
      await page.keyboard.press('Escape');

      await page.getByLabel('What do you want to achieve?').fill(' ');
      await page.keyboard.press('Enter');
      expect(await seriousAxeViolations(page)).toEqual([]);

      await page.goto(`${webUrl}/?filter=done`);
      expect(await seriousAxeViolations(page)).toEqual([]);
      // The browser logs the 404 itself, hence the allowance.
      const missing = await open('/nowhere', { colorScheme }, true);
      expect(await seriousAxeViolations(missing)).toEqual([]);
    });
  }

  test('when done and open goals are listed with dates, then done ones are struck through and muted, dates read in words, and a tick offers Undo', async () => {
    /** A day relative to today, as the API takes it (YYYY-MM-DD, the machine's own zone). */
    const day = (offset: number) => {
      const date = new Date();
      date.setDate(date.getDate() + offset);
      return localDate(date);
    };
    // Created oldest first: each new goal goes on top.
    for (const [name, done, targetDate] of [
      ['Plan a weekend trip to the coast', false, day(30)],
      ['Call grandma every Sunday', false, null],
      ['Learn to bake sourdough bread', true, null],
      ['Read one book a month', false, day(-3)],
      ['Run 5 km without stopping', false, day(12)],
    ] as const) {
      const goal = await api.goals.create(name, done);
      if (targetDate) await api.goals.update(goal.id, { targetDate });
    }
    const page = await open('/', { viewport: { width: 800, height: 720 }, deviceScaleFactor: 1.5 });
    await goalItem(page, 'Run 5 km without stopping').locator('.check').click();
    await expect.poll(() => page.locator('.toast').count()).toBe(1);
    expect(await page.locator('.toast').textContent()).toContain(
      'Marked “Run 5 km without stopping” done.',
    );
    const decoration = (name: string) =>
      goalItem(page, name)
        .locator('.goal-name')
        .evaluate((element) => getComputedStyle(element).textDecorationLine);
    expect(await decoration('Run 5 km without stopping')).toBe('line-through');
    expect(await decoration('Read one book a month')).toBe('none');
    expect(await remaining(page)).toBe('3 goals left');
    const visibleText = (name: string) =>
      goalItem(page, name)
        .locator('.goal-dates')
        .evaluate((element) => (element as HTMLElement).innerText.replace(/\s+/g, ' ').trim());
    expect(await visibleText('Read one book a month')).toMatch(
      /^by \d{1,2} \w{3}( \d{4})? Overdue$/,
    );
    expect(await visibleText('Run 5 km without stopping')).toMatch(
      /^by \d{1,2} \w{3}( \d{4})? done \d{1,2} \w{3}( \d{4})?$/,
    );
    expect(await visibleText('Plan a weekend trip to the coast')).toMatch(/^by \d{1,2} \w{3}/);
    expect(await goalNames(page)).toEqual([
      'Run 5 km without stopping',
      'Read one book a month',
      'Learn to bake sourdough bread',
      'Call grandma every Sunday',
      'Plan a weekend trip to the coast',
    ]);
    // README's picture: copy screenshots/web/readme.png to docs/screenshot.png to refresh it.
    await page.mouse.move(0, 0);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'readme.png'), fullPage: true });
  });

  test('when the screen is 320 px wide, then nothing scrolls sideways', async () => {
    await api.goals.create(
      'A goal with a rather long name that has to wrap across several lines on a phone',
    );
    await api.goals.create('x'.repeat(120));
    const page = await open('/', { viewport: { width: 320, height: 640 } });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      320,
    );
    await screenshot(page, 'list-320px');
    expect(await seriousAxeViolations(page)).toEqual([]);
  });

  test('when reduced motion is asked for, then transitions and animations are effectively off', async () => {
    await api.goals.create('Calm');
    const page = await open('/', { reducedMotion: 'reduce' });
    const durations = await page.evaluate(() => {
      const check = document.querySelector('.check') as Element;
      const before = getComputedStyle(check, '::before');
      return [
        before.transitionDuration,
        getComputedStyle(document.querySelector('.button')!).transitionDuration,
      ];
    });
    for (const duration of durations) {
      for (const part of duration.split(',')) expect(Number.parseFloat(part)).toBeLessThan(0.001);
    }
  });
});

describe('when the API goes down', () => {
  test('then the page says goals are unavailable, refused actions roll back with a message, and typed text is kept', async () => {
    await api.goals.create('Survive the outage');
    const page = await open('/', {}, true);
    await api.stop();
    try {
      // With JavaScript: the optimistic tick is rolled back and explained.
      await page.getByRole('checkbox', { name: 'Survive the outage' }).click();
      await expect
        .poll(() => page.locator('#messages').textContent())
        .toContain('Could not mark “Survive the outage” done.');
      expect(
        await page
          .getByRole('checkbox', { name: 'Survive the outage' })
          .getAttribute('aria-checked'),
      ).toBe('false');
      expect(await remaining(page)).toBe('1 goal left');

      await page.getByLabel('What do you want to achieve?').fill('Typed during the outage');
      await page.keyboard.press('Enter');
      await expect
        .poll(() => page.locator('#messages').textContent())
        .toContain('Could not add “Typed during the outage”.');
      expect(await page.getByLabel('What do you want to achieve?').inputValue()).toBe(
        'Typed during the outage',
      );
      expect(await goalNames(page)).toEqual(['Survive the outage']);
      await screenshot(page, 'refused-light');
      expect(await seriousAxeViolations(page)).toEqual([]);

      await page.getByRole('button', { name: 'Delete Survive the outage' }).click();
      await expect
        .poll(() => page.locator('#messages').textContent())
        .toContain('Could not delete');
      expect(await goalNames(page)).toEqual(['Survive the outage']);

      // A fresh page: the list cannot be shown, but the page still works.
      await page.reload();
      expect(await page.locator('#unavailable').textContent()).toContain(
        'Goals are unavailable right now',
      );
      await screenshot(page, 'unavailable-light');
      expect(await seriousAxeViolations(page)).toEqual([]);

      // Without JavaScript: the form comes back with the words still in it.
      const plain = await open('/', noScript, true);
      expect(await plain.locator('#unavailable').textContent()).toContain(
        'Goals are unavailable right now',
      );
      await plain.getByLabel('What do you want to achieve?').fill('Do not lose this');
      await navigation(plain, () => plain.keyboard.press('Enter'));
      expect(await plain.getByLabel('What do you want to achieve?').inputValue()).toBe(
        'Do not lose this',
      );
      expect(await plain.locator('#new-goal-error').textContent()).toContain(
        'Goals are unavailable right now',
      );
    } finally {
      await api.restart();
    }
    await page.reload();
    expect(await goalNames(page)).toEqual(['Survive the outage']);
  });
});

describe('when changes to one goal fail in quick succession', () => {
  /**
   * Holds the first PATCH until both clicks have landed (so the second is made while the first
   * is in flight), then refuses the ones `fails` picks (by order) and lets the rest through.
   */
  async function openWithFlakyPatches(fails: (index: number) => boolean): Promise<Page> {
    const page = await open('/', {}, true);
    let index = 0;
    await page.route('**/api/goals/*', async (route) => {
      if (route.request().method() !== 'PATCH') return route.continue();
      const current = index++;
      if (current === 0) await bothClicked;
      if (!fails(current)) return route.continue();
      return route.fulfill({
        status: 503,
        contentType: 'application/problem+json',
        body: JSON.stringify({ title: 'Goals are unavailable right now', status: 503 }),
      });
    });
    return page;
  }

  let releaseFirst: () => void = () => undefined;
  let bothClicked = Promise.resolve();
  beforeEach(() => {
    bothClicked = new Promise((resolve) => (releaseFirst = resolve));
  });

  async function tickTwice(page: Page, name: string): Promise<void> {
    const box = page.getByRole('checkbox', { name });
    await box.click();
    await box.click();
    releaseFirst();
  }

  const messageOf = (page: Page) =>
    expect.poll(() => page.locator('#messages').textContent(), { timeout: 5_000 });

  test('then a failed tick followed by a successful untick leaves the box and the count as the server has them', async () => {
    await api.goals.create('Stretch daily');
    await api.goals.create('Drink water');
    const page = await openWithFlakyPatches((index) => index === 0);
    let patches = 0;
    const secondAnswered = page.waitForResponse(
      (response) => response.request().method() === 'PATCH' && ++patches === 2,
    );
    await tickTwice(page, 'Stretch daily');
    await messageOf(page).toContain('Could not mark “Stretch daily” done.');
    // The first failure must not undo the second click, which is still in flight.
    expect(await remaining(page)).toBe('2 goals left');
    await secondAnswered;
    const box = page.getByRole('checkbox', { name: 'Stretch daily' });
    expect(await box.getAttribute('aria-checked')).toBe('false');
    expect(await remaining(page)).toBe('2 goals left');
    expect(await apiState()).toEqual([
      { name: 'Drink water', done: false },
      { name: 'Stretch daily', done: false },
    ]);
  });

  test('then when both fail, the box shows what the server says, not what was clicked last', async () => {
    await api.goals.create('Stretch daily');
    const page = await openWithFlakyPatches(() => true);
    await tickTwice(page, 'Stretch daily');
    await messageOf(page).toContain('Could not mark “Stretch daily” not done.');
    expect(
      await page.getByRole('checkbox', { name: 'Stretch daily' }).getAttribute('aria-checked'),
    ).toBe('false');
    expect(await remaining(page)).toBe('1 goal left');
    expect(await apiState()).toEqual([{ name: 'Stretch daily', done: false }]);
  });
});

describe('when a create lands but its answer is lost', () => {
  test('then sending the same name again makes no second goal, and an edited name is still added', async () => {
    const page = await open('/', {}, true);
    const keys: string[] = [];
    let loseNext = true;
    await page.route('**/api/goals', async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      keys.push(route.request().headers()['idempotency-key'] ?? '');
      if (!loseNext) return route.continue();
      loseNext = false;
      await route.fetch();
      return route.fulfill({
        status: 504,
        contentType: 'application/problem+json',
        body: JSON.stringify({ title: 'The goal service is taking too long', status: 504 }),
      });
    });
    const field = page.getByLabel('What do you want to achieve?');

    await field.fill('Read a book');
    await field.press('Enter');
    await expect.poll(() => page.locator('#messages').textContent()).toContain('Could not add');
    expect(await field.inputValue()).toBe('Read a book');
    // The lost create did land, and live sync shows it before the person sends it again.
    await expect.poll(() => goalNames(page)).toEqual(['Read a book']);
    await field.press('Enter');
    await expect.poll(() => keys.length).toBe(2);
    await expect.poll(() => remaining(page)).toBe('1 goal left');
    expect(await goalNames(page)).toEqual(['Read a book']);
    expect(keys[1]).toBe(keys[0]);

    loseNext = true;
    await field.fill('Write a letter');
    await field.press('Enter');
    await expect.poll(() => keys.length).toBe(3);
    await expect.poll(() => field.inputValue()).toBe('Write a letter');
    await field.fill('Write two letters');
    await field.press('Enter');
    await expect
      .poll(() => apiState())
      .toEqual([
        { name: 'Write two letters', done: false },
        { name: 'Write a letter', done: false },
        { name: 'Read a book', done: false },
      ]);
    expect(new Set(keys).size).toBe(3);
    expect(await page.locator('#new-goal-error').isVisible()).toBe(false);
  });
});

describe('accounts', () => {
  /** Fills and sends the sign-up form from the sign-in page; returns the code it showed. */
  async function signUpAs(page: Page, email: string): Promise<string> {
    await navigation(page, () => page.getByRole('link', { name: 'Create an account' }).click());
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await navigation(page, () => page.getByRole('button', { name: 'Create account' }).click());
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(
      'Save your recovery code',
    );
    const code = (await page.locator('#recovery-code').textContent()) ?? '';
    expect(code.length).toBeGreaterThanOrEqual(16);
    return code;
  }

  async function continueToGoals(page: Page): Promise<void> {
    await navigation(page, () => page.getByRole('link', { name: /continue to my goals/ }).click());
    expect(new URL(page.url()).pathname).toBe('/');
  }

  async function signOut(page: Page): Promise<void> {
    await navigation(page, () => page.getByRole('button', { name: 'Sign out' }).click());
    expect(new URL(page.url()).pathname).toBe('/signin');
    expect(await page.getByRole('status').first().textContent()).toContain('You are signed out.');
  }

  async function signInAs(page: Page, email: string): Promise<void> {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await navigation(page, () =>
      page.getByRole('button', { name: 'Sign in', exact: true }).click(),
    );
  }

  async function addGoal(page: Page, name: string, script: boolean): Promise<void> {
    await page.getByLabel('What do you want to achieve?').fill(name);
    if (script) {
      await page.keyboard.press('Enter');
      await settled(page);
    } else {
      await navigation(page, () => page.keyboard.press('Enter'));
    }
  }

  test('when a list refresh meets the ended session while Sign out is on its way, then the sign-out page still comes, saying so', async () => {
    const page = await open('/', {}, true, null);
    await signUpAs(page, uniqueEmail('leaving'));
    await continueToGoals(page);

    // The refresh that live sync starts after this page's own add is held at its list request.
    let releaseList = () => undefined as void;
    const listHeld = new Promise<void>((resolve) => (releaseList = resolve));
    let listWaiting = false;
    await page.route('**/api/goals?*', async (route) => {
      if (route.request().method() === 'GET' && !listWaiting) {
        listWaiting = true;
        await listHeld;
      }
      await route.continue();
    });
    await addGoal(page, 'Read a book', true);
    await expect.poll(() => listWaiting).toBe(true);

    // Sign out reaches the server (the session ends), and its answer is held.
    let releaseSignOut = () => undefined as void;
    const signOutHeld = new Promise<void>((resolve) => (releaseSignOut = resolve));
    let signedOutAtServer = false;
    await page.route('**/signout', async (route) => {
      const response = await route.fetch({ maxRedirects: 0 });
      signedOutAtServer = true;
      await signOutHeld;
      await route.fulfill({ response }).catch(() => undefined);
    });
    const leaving = page.waitForURL(/\/signin\?status=signed-out$/, { timeout: 10_000 });
    // Not waiting for the navigation the click starts: its answer is the one held.
    await page.getByRole('button', { name: 'Sign out' }).click({ noWaitAfter: true });
    await expect.poll(() => signedOutAtServer).toBe(true);

    // The held list is answered 401 now; the page must not go to a plain sign-in page.
    releaseList();
    await page.waitForTimeout(500);
    releaseSignOut();
    await leaving;
    expect(await page.getByRole('status').first().textContent()).toContain('You are signed out.');
  });

  for (const script of [true, false]) {
    test(`when two people sign up, add goals and sign in again ${script ? 'with' : 'without'} JavaScript, then each sees only their own list`, async () => {
      const page = await open('/', script ? {} : noScript, false, null);
      expect(new URL(page.url()).pathname).toBe('/signin');
      // axe runs in the page, so only where scripts do.
      if (script) expect(await seriousAxeViolations(page)).toEqual([]);

      const first = uniqueEmail('first');
      await signUpAs(page, first);
      expect(await page.getByText('It is shown only this once.').count()).toBe(1);
      if (script) {
        expect(await seriousAxeViolations(page)).toEqual([]);
        await screenshot(page, 'recovery-code-light');
      }
      await continueToGoals(page);
      expect(await page.locator('.account-email').textContent()).toBe(first);
      await addGoal(page, 'First person’s goal', script);
      await addGoal(page, SCRIPT_PAYLOAD, script);
      expect(await goalNames(page)).toEqual([SCRIPT_PAYLOAD, 'First person’s goal']);
      await signOut(page);

      const second = uniqueEmail('second');
      await signUpAs(page, second);
      await continueToGoals(page);
      expect(await page.locator('.account-email').textContent()).toBe(second);
      expect(await goalNames(page)).toEqual([]);
      expect(await page.locator('#empty-state').textContent()).toContain('No goals yet');
      await signOut(page);

      await signInAs(page, first);
      expect(new URL(page.url()).pathname).toBe('/');
      expect(await page.locator('.account-email').textContent()).toBe(first);
      expect(await goalNames(page)).toEqual([SCRIPT_PAYLOAD, 'First person’s goal']);
      // A signed-in person sent to the sign-in page goes back to their goals.
      await page.goto(`${webUrl}/signin`);
      expect(new URL(page.url()).pathname).toBe('/');
    });
  }

  test('when the password is wrong, then the form says so generically and keeps the email only', async () => {
    // The browser logs the 401 answer itself. (The form is a plain one either way.)
    const page = await open('/signin', {}, true, null);
    await page.getByLabel('Email').fill(api.account.email);
    await page.getByLabel('Password').fill('not the right password');
    await navigation(page, () =>
      page.getByRole('button', { name: 'Sign in', exact: true }).click(),
    );
    expect(await page.locator('#signin-password-error').textContent()).toBe(
      'The email or password is incorrect.',
    );
    expect(await page.getByLabel('Email').inputValue()).toBe(api.account.email);
    expect(await page.getByLabel('Password').inputValue()).toBe('');
    expect(
      await page.getByLabel('Password').evaluate((element) => element === document.activeElement),
    ).toBe(true);
    expect(await seriousAxeViolations(page)).toEqual([]);
  });

  test('when someone deletes their account, then they are signed out, and neither they nor their goals come back', async () => {
    const page = await open('/', {}, false, null);
    const email = uniqueEmail('leaving');
    await signUpAs(page, email);
    await continueToGoals(page);
    await addGoal(page, 'Gone with the account', true);
    await navigation(page, () => page.getByRole('link', { name: 'Account', exact: true }).click());
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Your account');
    expect(await page.locator('#passkeys').count()).toBe(1);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, 'account-light');
    await page.getByLabel('Your password, to confirm').fill(TEST_PASSWORD);
    await navigation(page, () =>
      page.getByRole('button', { name: 'Delete account and goals' }).click(),
    );
    expect(new URL(page.url()).pathname).toBe('/signin');
    expect(await page.getByRole('status').first().textContent()).toContain(
      'Your account and all its goals are deleted.',
    );
    expect((await page.context().cookies()).map((cookie) => cookie.name)).toEqual([]);
    const signIn = await fetch(`${api.url}/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: TEST_PASSWORD }),
    });
    expect(signIn.status).toBe(401);
  });

  test('when the session ends while the page is open, then the next change sends the browser to sign in', async () => {
    // A second session of the test account's, so ending it leaves the other tests theirs.
    const signedIn = await fetch(`${api.url}/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: api.account.email, password: TEST_PASSWORD }),
    });
    const { token } = (await signedIn.json()) as { token: string };
    const page = await open('/', {}, true, { ...api.account, token, cookie: `session=${token}` });
    await fetch(`${api.url}/sessions/current`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    await page.getByLabel('What do you want to achieve?').fill('After the end');
    await navigation(page, () => page.keyboard.press('Enter'));
    expect(new URL(page.url()).pathname).toBe('/signin');
  });
});
