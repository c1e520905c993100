import { SIGN_IN_FAILED } from '@goal-tracker/contract';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  accountWithGoals,
  dayFromToday,
  IMG_PAYLOAD,
  SCRIPT_PAYLOAD,
  signUpOnApi,
  TEST_PASSWORD,
  uniqueEmail,
} from './support/goals.js';
import { useRealApi } from './support/real-api.js';
import {
  buildWeb,
  followFlash,
  postForm,
  SAME_ORIGIN,
  sendJson,
  sessionCookie,
  withCookie,
  type Injector,
} from './support/web.js';

const api = useRealApi('web_app');
let server: FastifyInstance;
/** The web tier as the test account's browser sees it: every request carries its cookie. */
let web: Injector;

beforeAll(async () => {
  server = await buildWeb(api.url);
  web = withCookie(server, api.account.cookie);
});

afterAll(async () => {
  await server?.close();
});

async function page(url = '/') {
  const response = await web.inject({ method: 'GET', url });
  return { status: response.statusCode, headers: response.headers, body: response.body };
}

function post(url: string, fields: Record<string, string>, headers?: Record<string, string>) {
  return postForm(web, url, fields, headers);
}

describe('the list page', () => {
  test('when the page is requested, then it is HTML with a strict CSP and no inline script or style', async () => {
    await api.goals.create('Read more');
    const { status, headers, body } = await page();
    expect(status).toBe(200);
    expect(headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['referrer-policy']).toBe('same-origin');
    expect(headers['x-frame-options']).toBe('DENY');
    // Inline code would be blocked by the policy, so none may exist.
    expect(body).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(body).not.toMatch(/<style/);
    expect(body).not.toMatch(/\sstyle=/);
    expect(body).not.toMatch(/\son[a-z]+=/);
    expect(body).toContain('Read more');
    // One h1, the product name; the list has its own (visually hidden) h2.
    expect(body.match(/<h1[\s>]/g)).toHaveLength(1);
  });

  test('when the page is put together from its pieces, then each element opens and closes once, in order', async () => {
    await api.goals.create('Inside main');
    for (const url of ['/', '/?edit=1', '/?status=added']) {
      const { body } = await page(url);
      for (const tag of ['html', 'head', 'body', 'main', 'footer']) {
        expect(body.match(new RegExp(`<${tag}[\\s>]`, 'g')), `<${tag}> in ${url}`).toHaveLength(1);
        expect(body.split(`</${tag}>`).length - 1, `</${tag}> in ${url}`).toBe(1);
      }
      const order = [
        '<main',
        'id="new-goal"',
        'id="goals"',
        'id="show-more"',
        'id="announcer"',
        '</main>',
        '<footer',
        '</html>',
      ];
      const positions = order.map((marker) => body.indexOf(marker));
      expect(
        positions.every((position) => position >= 0),
        url,
      ).toBe(true);
      expect(
        [...positions].sort((a, b) => a - b),
        url,
      ).toEqual(positions);
    }
  });

  test('when goals are named with HTML, then the page shows the names as text', async () => {
    await api.goals.create(SCRIPT_PAYLOAD);
    await api.goals.create(IMG_PAYLOAD);
    await api.goals.create(`"><svg onload=alert(1)>`);
    const { body } = await page();
    expect(body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(body).toContain('&quot;&gt;&lt;svg onload=alert(1)&gt;');
    expect(body).not.toContain(SCRIPT_PAYLOAD);
    expect(body).not.toContain('<img');
    expect(body).not.toContain('<svg onload');
  });

  test('when a goal is opened for renaming, then its name is escaped inside the field value', async () => {
    const goal = await api.goals.create(`" autofocus onfocus="alert(1)`);
    const { body } = await page(`/?edit=${goal.id}`);
    expect(body).toContain(`value="&quot; autofocus onfocus=&quot;alert(1)"`);
    expect(body).toContain(`action="/goals/${goal.id}/rename"`);
  });

  test('when there are no goals, then each filter shows its own empty state and "No goals left"', async () => {
    expect((await page('/')).body).toContain('No goals yet');
    expect((await page('/?filter=active')).body).toContain('Nothing left to do');
    expect((await page('/?filter=done')).body).toContain('Nothing done yet');
    expect((await page('/')).body).toContain('No goals left');
  });

  test('when goals are done and not, then filters show the right ones and the count says what is left', async () => {
    await api.goals.create('Active one');
    await api.goals.create('Active two');
    await api.goals.create('Finished one', true);
    const all = await page('/');
    expect(all.body).toContain('Active one');
    expect(all.body).toContain('Finished one');
    expect(all.body).toContain('2 goals left');
    expect(all.body).toMatch(/href="\/"\s+aria-current="page"\s*>All</);
    const active = await page('/?filter=active');
    expect(active.body).toContain('Active two');
    expect(active.body).not.toContain('Finished one');
    expect(active.body).toMatch(/href="\/\?filter=active"\s+aria-current="page"/);
    const done = await page('/?filter=done');
    expect(done.body).toContain('Finished one');
    expect(done.body).not.toContain('Active one');
  });

  test('when there are more than 50 goals, then "Show more" pages on by keyset and keeps the filter', async () => {
    const own = await accountWithGoals(api.url, 53, 'Goal number');
    const page = (url: string) => withCookie(server, own.cookie).inject({ method: 'GET', url });
    const { created } = own;
    // Newest on top: the first page holds goals 53 down to 4.
    const first = await page('/?filter=active');
    expect(first.body).toContain('Goal number 53<');
    expect(first.body).toContain('Goal number 4<');
    expect(first.body).not.toContain('Goal number 3<');
    const fiftieth = created[3]!.id;
    expect(first.body).toMatch(
      new RegExp(
        `href="/\\?filter=active&amp;after=${fiftieth}&amp;shown=50"\\s+data-next="${fiftieth}"[^>]*>\\s*Show 3 more`,
      ),
    );
    const second = await page(`/?filter=active&after=${fiftieth}&shown=50`);
    expect(second.body).toContain('Goal number 3<');
    expect(second.body).toContain('Goal number 1<');
    expect(second.body).not.toContain('Goal number 4<');
    expect(second.body).toContain('Back to the first page');
    expect(second.body).toContain('53 goals left');
    // The last page has no more to show.
    expect(second.body).toMatch(/<div class="more"\s*hidden>/);
  });

  test('when a filter shows no goals, then the empty state says what is true of the account', async () => {
    const visibleState = (body: string) =>
      [...body.matchAll(/<div class="state-variant" data-when="(\w+)"\s*>/g)].map(
        ([, when]) => when,
      );
    const title = (body: string) =>
      /<div class="state-variant" data-when="\w+"\s*>[\s\S]*?<h2 class="state-title">([^<]+)</.exec(
        body,
      )?.[1];
    for (const filter of ['active', 'done']) {
      const { body } = await page(`/?filter=${filter}`);
      expect(visibleState(body)).toEqual(['none']);
      expect(title(body)).toBe('No goals yet');
    }
    const goal = await api.goals.create('All done here');
    await api.goals.update(goal.id, { done: true });
    const active = await page('/?filter=active');
    expect(visibleState(active.body)).toEqual(['some']);
    expect(active.body).toContain('Every goal is done.');
  });

  test('when names are shown or typed, then their direction follows their text, and fields stop at the limit', async () => {
    await api.goals.create('שלום עולם');
    const { body } = await page();
    expect(body).toMatch(/<span class="goal-name" id="goal-\d+-name" dir="auto">שלום עולם<\/span>/);
    expect(body).toMatch(/id="new-goal"[^>]*dir="auto"[^>]*maxlength="255"/);
    expect(body).toMatch(/<form[^>]*id="add-form"[^>]*novalidate/);
  });

  test('when goals change directly through the API, then the next page shows the change', async () => {
    const goal = await api.goals.create('Before the change');
    // Twice, so the second load is answered from what the web tier kept (304 from the API).
    expect((await page()).body).toContain('Before the change');
    expect((await page()).body).toContain('1 goal left');
    await api.goals.update(goal.id, { name: 'After the change', done: true });
    const changed = await page();
    expect(changed.body).toContain('After the change');
    expect(changed.body).not.toContain('Before the change');
    expect(changed.body).toContain('No goals left');
    expect((await page('/?filter=done')).body).toContain('After the change');
    await api.goals.create('Added behind its back');
    const added = await page();
    expect(added.body).toContain('Added behind its back');
    expect(added.body).toContain('1 goal left');
    await api.goals.clear();
    expect((await page()).body).toContain('No goals yet');
  });

  test('when the query is malformed, then the page ignores it rather than failing', async () => {
    const { status } = await page('/?filter=<x>&after=-1&edit=abc&status=nope');
    expect(status).toBe(200);
  });
});

describe('plain-form actions', () => {
  test('when a goal is added, then it is stored and the browser is sent back with 303, keeping the view', async () => {
    const response = await post('/goals?filter=active&after=3', { name: '  Learn to juggle  ' });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/?filter=active&after=3&status=added');
    const stored = await api.goals.all();
    expect(stored.map((goal) => goal.name)).toEqual(['Learn to juggle']);
    expect((await page('/?status=added')).body).toContain('Goal added.');
  });

  test('when the same add form is sent twice, then its idempotency key makes one goal', async () => {
    const fields = { name: 'Only once', idempotencyKey: '5b2e0a61-0d65-4c55-9a59-1f3c2f1c1e11' };
    expect((await post('/goals', fields)).statusCode).toBe(303);
    expect((await post('/goals', fields)).statusCode).toBe(303);
    expect((await api.goals.all()).length).toBe(1);
  });

  test('when the name is blank, then the post redirects to the page, which has the error and the text kept', async () => {
    const posted = await post('/goals', { name: '    ' });
    expect(posted.headers.location).toBe('/');
    const response = await followFlash(web, posted, { cookie: api.account.cookie });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('the name cannot be empty');
    expect(response.body).toContain('value="    "');
    expect(response.body).toContain('aria-invalid="true" aria-describedby="new-goal-error"');
    expect(await api.goals.all()).toEqual([]);
  });

  test('when the name is too long, then the page says by how much, with the text kept', async () => {
    const name = `${'x'.repeat(256)}<b>`;
    const response = await followFlash(web, await post('/goals', { name }), {
      cookie: api.account.cookie,
    });
    expect(response.body).toContain('That name is 4 characters too long: keep it to 255 or fewer.');
    expect(response.body).toContain(`value="${'x'.repeat(256)}&lt;b&gt;"`);
  });

  test('when a goal is ticked off and back, then it is stored and the page returns to that goal', async () => {
    const goal = await api.goals.create('Tick me');
    const done = await post(`/goals/${goal.id}/toggle`, { done: 'true' });
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe(`/?status=done#goal-${goal.id}`);
    expect((await api.goals.get(goal.id))?.done).toBe(true);
    const undone = await post(`/goals/${goal.id}/toggle?filter=done`, { done: 'false' });
    expect(undone.headers.location).toBe('/?filter=done&status=undone');
    expect((await api.goals.get(goal.id))?.done).toBe(false);
  });

  test('when a goal is renamed, then the new trimmed name is stored', async () => {
    const goal = await api.goals.create('Old name');
    const response = await post(`/goals/${goal.id}/rename`, { name: ' New name ' });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe(`/?status=renamed#goal-${goal.id}`);
    expect((await api.goals.get(goal.id))?.name).toBe('New name');
  });

  test('when the page shows a flash, then it clears it, and a forged flash is ignored', async () => {
    const shown = await followFlash(web, await post('/goals', { name: ' ' }), {
      cookie: api.account.cookie,
    });
    expect(String(shown.headers['set-cookie'])).toMatch(/^flash=; Path=\/; Max-Age=0; HttpOnly/);
    const forged = await web.inject({
      method: 'GET',
      url: '/',
      headers: { cookie: `${api.account.cookie}; flash=not-json` },
    });
    expect(forged.statusCode).toBe(200);
    expect(forged.body).not.toContain('aria-invalid');
  });

  test('when a rename is blank, then the rename form comes back open with the text and an error', async () => {
    const goal = await api.goals.create('Keep me');
    const posted = await post(`/goals/${goal.id}/rename`, { name: '  ' });
    expect(posted.headers.location).toBe(`/?edit=${goal.id}`);
    const response = await followFlash(web, posted, { cookie: api.account.cookie });
    expect(response.body).toContain(`id="rename-${goal.id}"`);
    expect(response.body).toContain('value="  "');
    expect(response.body).toContain('the name cannot be empty');
    expect((await api.goals.get(goal.id))?.name).toBe('Keep me');
  });

  test('when a goal is deleted, then it is gone, and deleting it again is still a success', async () => {
    const goal = await api.goals.create('Delete me');
    const deleted = await post(`/goals/${goal.id}/delete`, {});
    expect(deleted.headers.location).toBe(`/?status=deleted&deleted=${goal.id}`);
    expect(await api.goals.get(goal.id)).toBeUndefined();
    expect((await post(`/goals/${goal.id}/delete`, {})).statusCode).toBe(303);
  });

  test("when a deleted goal is restored through the status line's form, then it is back, and too late says so", async () => {
    const goal = await api.goals.create('Bring me back');
    const deleted = await post(`/goals/${goal.id}/delete`, {});
    const page = await web.inject({ method: 'GET', url: String(deleted.headers.location) });
    expect(page.body).toContain(`action="/goals/${goal.id}/restore"`);
    const restored = await post(`/goals/${goal.id}/restore`, {});
    expect(restored.headers.location).toBe(`/?status=restored#goal-${goal.id}`);
    expect((await api.goals.get(goal.id))?.name).toBe('Bring me back');
    const never = await post('/goals/999999/restore', {});
    expect(never.headers.location).toBe('/?status=unrestorable');
  });

  test('when a goal that no longer exists is renamed, then the page says so', async () => {
    const response = await post('/goals/999999/rename', { name: 'Ghost' });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/?status=missing');
  });

  test('when a goal is moved up or down, then the order is stored and the page returns to it, keeping the view', async () => {
    // Listed newest first: C, B, A.
    const [a, b, c] = [
      await api.goals.create('A'),
      await api.goals.create('B'),
      await api.goals.create('C'),
    ];
    const names = async () => (await api.goals.all()).map((goal) => goal.name);
    const list = await page();
    // The first goal cannot go up and the last cannot go down; each form names its neighbours.
    const disabledMove = (direction: string, id: number, reason: string) =>
      new RegExp(
        `value="${direction}" disabled aria-describedby="${reason}"\\s+aria-labelledby="goal-${id}-${direction} goal-${id}-name"`,
      );
    expect(list.body).toMatch(disabledMove('up', c.id, 'move-first-reason'));
    expect(list.body).toMatch(disabledMove('down', a.id, 'move-last-reason'));
    expect(list.body.match(/ disabled aria-describedby/g)).toHaveLength(2);
    // Each form names the goals it would pass, as the page shows them.
    expect(list.body).toContain(`name="above" value="${c.id}"`);
    expect(list.body).toContain(`name="below" value="${a.id}"`);

    const up = await post(`/goals/${a.id}/move?filter=active`, {
      direction: 'up',
      above: String(b.id),
    });
    expect(up.statusCode).toBe(303);
    expect(up.headers.location).toBe(`/?filter=active&status=movedUp#goal-${a.id}`);
    expect(await names()).toEqual(['C', 'A', 'B']);

    const down = await post(`/goals/${c.id}/move`, { direction: 'down', below: String(a.id) });
    expect(down.headers.location).toBe(`/?status=movedDown#goal-${c.id}`);
    expect(await names()).toEqual(['A', 'C', 'B']);
    expect((await page('/?status=movedDown')).body).toContain('Goal moved down.');
  });

  test('when the last goal of a page is moved down, then it passes the first goal of the next page', async () => {
    // Listed newest first: Goal 52 … Goal 3 on the first page, Goal 2 and Goal 1 after.
    const owner = await accountWithGoals(api.url, 52);
    const asOwner = withCookie(server, owner.cookie);
    const third = owner.created[2]!;
    const first = await asOwner.inject({ method: 'GET', url: '/' });
    expect(first.body).toContain(`action="/goals/${third.id}/move"`);
    const moved = await postForm(asOwner, `/goals/${third.id}/move`, { direction: 'down' });
    expect(moved.headers.location).toBe(`/?status=movedDown#goal-${third.id}`);
    const names = (await owner.goals.all()).map((goal) => goal.name);
    expect(names.slice(-3)).toEqual(['Goal 2', 'Goal 3', 'Goal 1']);
  });

  test('when a move names a neighbour that is gone, or nothing to pass, then the list is left as it was', async () => {
    const [a, b] = [await api.goals.create('A'), await api.goals.create('B')];
    const before = (await api.goals.all()).map((goal) => goal.id);
    const gone = await api.goals.create('Gone');
    await post(`/goals/${gone.id}/delete`, {});
    const stale = await post(`/goals/${a.id}/move`, { direction: 'up', above: String(gone.id) });
    expect(stale.headers.location).toBe(`/?status=unmoved#goal-${a.id}`);
    const top = await post(`/goals/${b.id}/move`, { direction: 'up' });
    expect(top.headers.location).toBe(`/?status=unmoved#goal-${b.id}`);
    expect((await api.goals.all()).map((goal) => goal.id)).toEqual(before);
    const missing = await post('/goals/999999/move', { direction: 'up', above: String(a.id) });
    expect(missing.headers.location).toBe('/?status=missing');
  });

  test('when a move is malformed, then 404 and the order is unchanged', async () => {
    const [a, b] = [await api.goals.create('A'), await api.goals.create('B')];
    const before = (await api.goals.all()).map((goal) => goal.id);
    const malformed: Record<string, string>[] = [
      { direction: 'sideways', above: String(b.id) },
      { above: String(b.id) },
      { direction: 'up', above: 'b' },
      { direction: 'down', below: '-1' },
    ];
    for (const fields of malformed) {
      expect((await post(`/goals/${a.id}/move`, fields)).statusCode).toBe(404);
    }
    expect((await post('/goals/x/move', { direction: 'up' })).statusCode).toBe(404);
    expect((await api.goals.all()).map((goal) => goal.id)).toEqual(before);
  });

  test('when the goal id is not a number, then 404', async () => {
    expect((await post('/goals/abc/delete', {})).statusCode).toBe(404);
  });
});

describe('target dates, achieved dates and the Overdue filter', () => {
  const yesterday = dayFromToday(-1);
  const nextWeek = dayFromToday(7);

  test('when a goal is added with a target date, then it is stored and shown as "by" that day', async () => {
    const posted = await post('/goals', {
      name: 'Run 5 km',
      targetDate: nextWeek,
      idempotencyKey: 'date-key-1',
    });
    expect(posted.headers.location).toBe('/?status=added');
    const [goal] = await api.goals.all();
    expect(goal).toMatchObject({ name: 'Run 5 km', targetDate: nextWeek });
    const { body } = await page();
    expect(body).toMatch(new RegExp(`by <time datetime="${nextWeek}">`));
    // Empty means no target date.
    await post('/goals', { name: 'No date', targetDate: '', idempotencyKey: 'date-key-2' });
    expect((await api.goals.all())[0]).toMatchObject({ name: 'No date', targetDate: null });
  });

  test('when a target date is not a day, then the form comes back with the name and date kept and nothing is stored', async () => {
    for (const bad of ['2026-02-30', 'next friday']) {
      const posted = await post('/goals', {
        name: 'Keep this',
        targetDate: bad,
        idempotencyKey: 'date-key-3',
      });
      const shown = await followFlash(web, posted, { cookie: api.account.cookie });
      expect(shown.body).toContain('is not a date. Enter a day that exists as YYYY-MM-DD');
      expect(shown.body).toMatch(
        /id="new-goal-date"[^>]*value="[^"]+"[^>]*aria-invalid="true" aria-describedby="new-goal-date-error"/s,
      );
      expect(shown.body).toContain('value="Keep this"');
    }
    expect(await api.goals.all()).toEqual([]);
  });

  test('when a goal is renamed with a date, cleared, or sent a bad date, then only whole, valid changes are stored', async () => {
    const goal = await api.goals.create('Write a book');
    const set = await post(`/goals/${goal.id}/rename`, {
      name: 'Write a novel',
      targetDate: nextWeek,
    });
    expect(set.headers.location).toBe(`/?status=renamed#goal-${goal.id}`);
    expect(await api.goals.get(goal.id)).toMatchObject({
      name: 'Write a novel',
      targetDate: nextWeek,
    });
    const editing = await page(`/?edit=${goal.id}`);
    expect(editing.body).toMatch(
      new RegExp(`id="rename-${goal.id}-date"[^>]*value="${nextWeek}"`, 's'),
    );

    const bad = await post(`/goals/${goal.id}/rename`, {
      name: 'Half written',
      targetDate: '2026-13-01',
    });
    expect(bad.headers.location).toBe(`/?edit=${goal.id}`);
    const shown = await followFlash(web, bad, { cookie: api.account.cookie });
    expect(shown.body).toContain('“2026-13-01” is not a date.');
    expect(shown.body).toContain('value="Half written"');
    expect(await api.goals.get(goal.id)).toMatchObject({
      name: 'Write a novel',
      targetDate: nextWeek,
    });

    await post(`/goals/${goal.id}/rename`, { name: 'Write a novel', targetDate: '' });
    expect((await api.goals.get(goal.id))?.targetDate).toBeNull();
    // A form without the field (a page from before dates) leaves the date alone.
    await api.goals.update(goal.id, { targetDate: nextWeek });
    await post(`/goals/${goal.id}/rename`, { name: 'Write two novels' });
    expect((await api.goals.get(goal.id))?.targetDate).toBe(nextWeek);
  });

  test('when an open goal is past its target date, then it says Overdue in words and the Overdue filter lists only such goals', async () => {
    const late = await api.goals.create('Late');
    await api.goals.update(late.id, { targetDate: yesterday });
    const lateButDone = await api.goals.create('Late but done');
    await api.goals.update(lateButDone.id, { targetDate: yesterday, done: true });
    const onTime = await api.goals.create('On time');
    await api.goals.update(onTime.id, { targetDate: nextWeek });

    const all = await page();
    expect(all.body.match(/<strong class="overdue">Overdue<\/strong>/g)).toHaveLength(1);
    // A done goal says when it was achieved, in the server's time zone without the script.
    expect(all.body).toMatch(new RegExp(`done\\s*<time datetime="${dayFromToday(0)}T`));
    expect(all.body).toContain('>Overdue</a');

    const overdue = await page('/?filter=overdue');
    expect(overdue.body.match(/class="goal-name" id="goal-\d+-name" dir="auto">([^<]+)</g)).toEqual(
      [`class="goal-name" id="goal-${late.id}-name" dir="auto">Late<`],
    );
    await api.goals.update(late.id, { done: true });
    expect((await page('/?filter=overdue')).body).toContain(
      'No open goal is past its target date.',
    );
  });

  test("when the browser has said its date, then overdue follows it, within a day of the server's", async () => {
    const dueToday = await api.goals.create('Due today');
    await api.goals.update(dueToday.id, { targetDate: dayFromToday(0) });
    const asOf = (today: string) =>
      web.inject({
        method: 'GET',
        url: '/?filter=overdue',
        headers: { cookie: `${api.account.cookie}; today=${today}` },
      });
    expect((await asOf(dayFromToday(0))).body).toContain('Nothing overdue');
    expect((await asOf(dayFromToday(1))).body).toContain('id="goal-' + String(dueToday.id) + '"');
    // Further off than any time zone: a stale or forged date, ignored.
    expect((await asOf(dayFromToday(5))).body).toContain('Nothing overdue');
  });
});

describe('cross-site protection', () => {
  test('when a form post comes from another origin, then 403 and nothing is stored', async () => {
    const response = await post('/goals', { name: 'Forged' }, { origin: 'https://evil.example' });
    expect(response.statusCode).toBe(403);
    expect(response.body).toContain('This form came from another site');
    expect(await api.goals.all()).toEqual([]);
  });

  test('when the browser says the post is cross-site, then 403 even without an Origin', async () => {
    const response = await post('/goals', { name: 'Forged' }, { 'sec-fetch-site': 'cross-site' });
    expect(response.statusCode).toBe(403);
  });

  test('when the Origin is "null" (a sandboxed frame), then 403', async () => {
    expect((await post('/goals', { name: 'Forged' }, { origin: 'null' })).statusCode).toBe(403);
  });

  test('when a browser without Sec-Fetch-Site posts from this origin, then the post is accepted', async () => {
    const headers = { host: 'localhost:3000', origin: 'http://localhost:3000' };
    expect((await post('/goals', { name: 'Older browser' }, headers)).statusCode).toBe(303);
  });

  test('when the Origin matches but the browser says same-site, then 403', async () => {
    const headers = { ...SAME_ORIGIN, 'sec-fetch-site': 'same-site' };
    expect((await post('/goals', { name: 'Sibling' }, headers)).statusCode).toBe(403);
  });

  test('when a client sends neither header (not a browser), then the post is accepted', async () => {
    expect((await post('/goals', { name: 'From curl' }, {})).statusCode).toBe(303);
  });

  test('when a cross-site page calls the JSON API, then 403 problem and nothing is stored', async () => {
    const response = await web.inject({
      method: 'POST',
      url: '/api/goals',
      headers: { origin: 'https://evil.example', 'content-type': 'text/plain' },
      payload: JSON.stringify({ name: 'Forged' }),
    });
    expect(response.statusCode).toBe(403);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(await api.goals.all()).toEqual([]);
  });
});

describe('the /api proxy to the real API', () => {
  test('when a goal is created through /api, then the answer passes through with Location under /api', async () => {
    const response = await sendJson(
      web,
      'POST',
      '/api/goals',
      { name: 'Via the proxy' },
      SAME_ORIGIN,
    );
    expect(response.statusCode).toBe(201);
    const goal = response.json<{ id: number; name: string }>();
    expect(goal.name).toBe('Via the proxy');
    expect(response.headers.location).toBe(`/api/goals/${goal.id}`);
    const listed = await web.inject({ method: 'GET', url: '/api/goals?done=false' });
    expect(listed.json<{ goals: { id: number }[] }>().goals.map((g) => g.id)).toEqual([goal.id]);
  });

  test('when a create is retried with the same Idempotency-Key, then one goal exists', async () => {
    const send = () =>
      sendJson(web, 'POST', '/api/goals', { name: 'Once' }, { 'idempotency-key': 'key-123456' });
    const first = await send();
    const second = await send();
    expect(second.json<{ id: number }>().id).toBe(first.json<{ id: number }>().id);
    expect((await api.goals.all()).length).toBe(1);
  });

  test('when a goal is patched and deleted through /api, then the API applies both', async () => {
    const goal = await api.goals.create('Patch me');
    const patched = await sendJson(web, 'PATCH', `/api/goals/${goal.id}`, {
      done: true,
      name: 'Patched',
    });
    expect(patched.json()).toMatchObject({ id: goal.id, done: true, name: 'Patched' });
    const deleted = await web.inject({ method: 'DELETE', url: `/api/goals/${goal.id}` });
    expect(deleted.statusCode).toBe(204);
    expect(await api.goals.get(goal.id)).toBeUndefined();
  });

  test('when the API refuses a name, then its problem document reaches the caller', async () => {
    const response = await sendJson(web, 'POST', '/api/goals', { name: '' });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
  });

  test('when an operational endpoint is asked for through /api, then it is not forwarded', async () => {
    expect((await web.inject({ method: 'GET', url: '/api/metrics' })).statusCode).toBe(404);
    expect((await web.inject({ method: 'GET', url: '/api/ready' })).statusCode).toBe(404);
  });
});

describe('accounts, against the real API', () => {
  /** Signs up through the web tier's form, as a browser would. */
  async function signUpThroughWeb(email = uniqueEmail()) {
    const response = await postForm(server, '/signup', { email, password: TEST_PASSWORD });
    expect(response.statusCode).toBe(201);
    return { email, cookie: sessionCookie(response), body: response.body };
  }

  const apiAccount = (cookie: string) =>
    fetch(`${api.url}/account`, {
      headers: { authorization: `Bearer ${cookie.slice('session='.length)}` },
    });

  test('when someone signs up, then the recovery code is shown and the page greets them with an empty list of their own', async () => {
    await api.goals.create('Not theirs');
    const { email, cookie, body } = await signUpThroughWeb();
    expect(body).toMatch(/<code class="recovery-code" id="recovery-code">[^<]{16,}<\/code>/);
    const list = await withCookie(server, cookie).inject({ method: 'GET', url: '/' });
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain(`Signed in as <strong class="account-email">${email}</strong>`);
    expect(list.body).toContain('No goals yet');
    expect(list.body).not.toContain('Not theirs');
  });

  test('when the page is asked for without a session, or with an ended one, then 303 to /signin', async () => {
    expect((await server.inject({ method: 'GET', url: '/' })).headers.location).toBe('/signin');
    const { cookie } = await signUpThroughWeb();
    expect((await postForm(server, '/signout', {}, { ...SAME_ORIGIN, cookie })).statusCode).toBe(
      303,
    );
    expect((await apiAccount(cookie)).status).toBe(401);
    const ended = await withCookie(server, cookie).inject({ method: 'GET', url: '/' });
    expect(ended.headers.location).toBe('/signin');
    expect(String(ended.headers['set-cookie'])).toContain('Max-Age=0');
  });

  test('when the password is wrong, then the generic message, and the account’s session is not touched', async () => {
    const response = await postForm(server, '/signin', {
      email: api.account.email,
      password: 'not the password at all',
    });
    expect(response.statusCode).toBe(401);
    expect(response.body).toContain(SIGN_IN_FAILED);
    expect(response.body).toContain(`value="${api.account.email}"`);
    expect(response.body).not.toContain('not the password at all');
  });

  test('when the account page refuses a wrong password, then the person stays signed in', async () => {
    const { cookie } = await signUpThroughWeb();
    const as = (fields: Record<string, string>, url: string) =>
      postForm(server, url, fields, { ...SAME_ORIGIN, cookie });
    const change = await as(
      { currentPassword: 'wrong password here', newPassword: 'another long password' },
      '/account/password',
    );
    expect(change.statusCode).toBe(401);
    expect(change.body).toContain('The current password is incorrect');
    const deletion = await as({ password: 'wrong password here' }, '/account/delete');
    expect(deletion.statusCode).toBe(401);
    expect(deletion.body).toContain('nothing was deleted');
    expect((await apiAccount(cookie)).status).toBe(200);
  });

  test('when the password is changed, then the new cookie works and the old token does not', async () => {
    const { cookie } = await signUpThroughWeb();
    const response = await postForm(
      server,
      '/account/password',
      { currentPassword: TEST_PASSWORD, newPassword: 'another long password' },
      { ...SAME_ORIGIN, cookie },
    );
    expect(response.statusCode).toBe(303);
    const renewed = sessionCookie(response);
    expect((await apiAccount(cookie)).status).toBe(401);
    expect((await apiAccount(renewed)).status).toBe(200);
  });

  test('when a script signs in through /api, then it gets the token in JSON and its Authorization is passed on', async () => {
    const signedIn = await sendJson(server, 'POST', '/api/sessions', {
      email: api.account.email,
      password: TEST_PASSWORD,
    });
    expect(signedIn.statusCode).toBe(201);
    expect(signedIn.headers['set-cookie']).toBeUndefined();
    const { token } = signedIn.json<{ token: string }>();
    await api.goals.create('Seen by the script');
    const listed = await server.inject({
      method: 'GET',
      url: '/api/goals',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(listed.json<{ goals: { name: string }[] }>().goals.map((g) => g.name)).toEqual([
      'Seen by the script',
    ]);
    const anonymous = await server.inject({ method: 'GET', url: '/api/goals' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer/);
  });
});

describe('one account through the web tier never reaches another’s goals', () => {
  test('when a second person lists, pages, counts, renames, ticks or deletes through /api and the page, then they see and change none of the first person’s goals', async () => {
    const created = await sendJson(web, 'POST', '/api/goals', { name: 'First person’s secret' });
    expect(created.statusCode).toBe(201);
    const id = created.json<{ id: number }>().id;
    const stranger = await signUpOnApi(api.url);
    const asStranger = withCookie(server, stranger.cookie);
    const byBearer = (url: string, method: 'GET' | 'DELETE' = 'GET') =>
      server.inject({ method, url, headers: { authorization: `Bearer ${stranger.token}` } });

    expect((await asStranger.inject({ method: 'GET', url: '/api/goals' })).json()).toEqual({
      goals: [],
      next: null,
      cursor: null,
    });
    expect((await byBearer('/api/goals?done=false&after=0&limit=5')).json()).toEqual({
      goals: [],
      next: null,
      cursor: null,
    });
    expect((await byBearer('/api/goals/summary')).json()).toEqual({
      total: 0,
      done: 0,
      active: 0,
      overdue: 0,
    });
    expect((await asStranger.inject({ method: 'GET', url: `/api/goals/${id}` })).statusCode).toBe(
      404,
    );
    expect(
      (await sendJson(asStranger, 'PATCH', `/api/goals/${id}`, { name: 'Taken', done: true }))
        .statusCode,
    ).toBe(404);
    expect((await byBearer(`/api/goals/${id}`, 'DELETE')).statusCode).toBe(404);
    // The page's own forms, without JavaScript, reach nothing either.
    await postForm(asStranger, `/goals/${id}/delete`, {});
    await postForm(asStranger, `/goals/${id}/rename`, { name: 'Renamed by a stranger' });
    await postForm(asStranger, `/goals/${id}/toggle`, { done: 'true' });
    const strangersPage = await asStranger.inject({ method: 'GET', url: '/' });
    expect(strangersPage.body).not.toContain('First person’s secret');

    const stillThere = await api.goals.get(id);
    expect(stillThere).toMatchObject({ name: 'First person’s secret', done: false });
  });
});

describe('assets and other routes', () => {
  async function assetUrls() {
    const { body } = await page();
    const urls = [...body.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((match) => match[1]!);
    expect(urls).toHaveLength(3);
    return urls;
  }

  test('when an asset is fetched by its hashed name, then it is cached immutably and compressed', async () => {
    for (const url of await assetUrls()) {
      expect(url).toMatch(/^\/assets\/(styles|app|icon)\.[\w-]{10}\.(css|js|svg)$/);
      const br = await web.inject({
        method: 'GET',
        url,
        headers: { 'accept-encoding': 'gzip, br' },
      });
      expect(br.statusCode).toBe(200);
      expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(br.headers['content-encoding']).toBe('br');
      expect(br.headers.vary).toBe('accept-encoding');
      const gzip = await web.inject({ method: 'GET', url, headers: { 'accept-encoding': 'gzip' } });
      expect(gzip.headers['content-encoding']).toBe('gzip');
      const plain = await web.inject({
        method: 'GET',
        url,
        headers: { 'accept-encoding': 'identity' },
      });
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.rawPayload.length).toBeGreaterThan(br.rawPayload.length);
    }
  });

  test('when the browser already has the asset, then 304', async () => {
    const [url] = await assetUrls();
    const first = await web.inject({ method: 'GET', url: url! });
    const again = await web.inject({
      method: 'GET',
      url: url!,
      headers: { 'if-none-match': String(first.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
  });

  test('when an asset name has a stale hash, then 404', async () => {
    const response = await web.inject({ method: 'GET', url: '/assets/styles.0000000000.css' });
    expect(response.statusCode).toBe(404);
  });

  test('when the page is fetched by a browser that accepts brotli, then it is compressed', async () => {
    const response = await web.inject({
      method: 'GET',
      url: '/',
      headers: { 'accept-encoding': 'br' },
    });
    expect(response.headers['content-encoding']).toBe('br');
  });

  test('when an unknown page is asked for, then a 404 HTML page with the security headers', async () => {
    const response = await web.inject({ method: 'GET', url: '/nope' });
    expect(response.statusCode).toBe(404);
    expect(response.body).toContain('Page not found');
    expect(response.body.match(/<h1[\s>]/g)).toHaveLength(1);
    expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  });

  test('when a request id is sent, then it is echoed; when not, one is made', async () => {
    const given = await web.inject({
      method: 'GET',
      url: '/health',
      headers: { 'x-request-id': 'abc-123' },
    });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const made = await web.inject({ method: 'GET', url: '/health' });
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
