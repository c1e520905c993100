import { GOAL_NAME_PROBLEMS, type Goal } from '@goal-tracker/contract';
import type { InjectOptions, LightMyRequestResponse as Response } from 'fastify';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { countGoals, json, postGoal, useTestApi } from '../helpers.js';

const api = useTestApi('bad_input');
/** The one goal that exists; every test checks that nothing wrote to it or beside it. */
let seed: Goal;

beforeAll(async () => {
  const response = await postGoal(api, 'Seed');
  seed = response.json<Goal>();
});
afterEach(async () => {
  // No rejected request ever writes a row.
  expect(await countGoals(api.db)).toBe(1);
  const current = await api.inject({ method: 'GET', url: `/goals/${seed.id}` });
  expect(current.json()).toEqual(seed);
});

async function send(options: InjectOptions): Promise<Response> {
  return api.inject(options);
}

function expectProblem(response: Response, status: number) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.json()).toMatchObject({
    type: 'about:blank',
    title: expect.any(String) as string,
    status,
  });
}

const BAD_NAMES: [string, unknown][] = [
  ['empty', ''],
  ['blank', ' \t  '],
  ['256 characters', 'a'.repeat(256)],
  ['a number', 42],
  ['null', null],
  ['a boolean', true],
  ['an array', ['a']],
  ['an object', { first: 'a' }],
  ['a NUL character', 'a\u0000b'],
  ['a newline', 'line\nbreak'],
  ['a DEL character', 'a\u007fb'],
  ['a C1 control character', 'a\u0085b'],
  ['only a zero-width space', '\u200b'],
  ['only zero-width and direction marks', '\u200b\u200c\u200d\u200e\u200f'],
  ['only a word joiner and a byte order mark', ' \u2060\ufeff '],
  ['only an ideographic and a no-break space', '\u3000\u00a0'],
  ['only a Hangul filler', '\u3164'],
  ['only combining marks', '\u0301\u0308'],
  ['only line and paragraph separators', '\u2028\u2029'],
];

describe('bad goal names', () => {
  it.each(BAD_NAMES)('when a created name is %s, then 400', async (_, name) => {
    expectProblem(
      await send({ method: 'POST', url: '/goals', headers: json, payload: { name } }),
      400,
    );
  });

  it.each(BAD_NAMES)('when a renamed name is %s, then 400', async (_, name) => {
    expectProblem(
      await send({ method: 'PATCH', url: `/goals/${seed.id}`, headers: json, payload: { name } }),
      400,
    );
  });

  it('when a name has no visible character, then the detail says so in the contract’s words', async () => {
    const response = await send({
      method: 'POST',
      url: '/goals',
      headers: json,
      payload: { name: '\u200b\u200b' },
    });
    expect(response.json()).toMatchObject({ detail: GOAL_NAME_PROBLEMS.invisible });
  });

  it('when the name is missing, then 400', async () => {
    expectProblem(await send({ method: 'POST', url: '/goals', headers: json, payload: {} }), 400);
  });

  it('when done is not a boolean, then 400', async () => {
    expectProblem(
      await send({
        method: 'PATCH',
        url: `/goals/${seed.id}`,
        headers: json,
        payload: { done: 'true' },
      }),
      400,
    );
  });
});

describe('unknown keys', () => {
  it('when a create has an unknown key, then 400', async () => {
    expectProblem(
      await send({
        method: 'POST',
        url: '/goals',
        headers: json,
        payload: { name: 'x', owner: 'me' },
      }),
      400,
    );
  });

  it('when an update has an unknown key, then 400', async () => {
    expectProblem(
      await send({
        method: 'PATCH',
        url: `/goals/${seed.id}`,
        headers: json,
        payload: { done: true, id: 7 },
      }),
      400,
    );
  });

  it('when an update has no keys at all, then 400', async () => {
    expectProblem(
      await send({ method: 'PATCH', url: `/goals/${seed.id}`, headers: json, payload: {} }),
      400,
    );
  });

  it('when the body is a JSON array, then 400', async () => {
    expectProblem(
      await send({ method: 'POST', url: '/goals', headers: json, payload: '[{"name":"x"}]' }),
      400,
    );
  });
});

describe('malformed bodies', () => {
  it('when the JSON is malformed, then 400', async () => {
    expectProblem(
      await send({ method: 'POST', url: '/goals', headers: json, payload: '{"name": "x"' }),
      400,
    );
  });

  it('when the JSON body is empty, then 400', async () => {
    expectProblem(await send({ method: 'POST', url: '/goals', headers: json, payload: '' }), 400);
  });

  it('when there is no body at all, then 400', async () => {
    expectProblem(await send({ method: 'POST', url: '/goals' }), 400);
  });

  it.each([
    ['text/plain', '{"name":"x"}'],
    ['application/x-www-form-urlencoded', 'name=x'],
    ['application/xml', '<name>x</name>'],
  ])('when the content type is %s, then 415', async (contentType, payload) => {
    const headers = { 'content-type': contentType };
    expectProblem(await send({ method: 'POST', url: '/goals', headers, payload }), 415);
  });

  it('when the body is over 1 MiB, then 413', async () => {
    const payload = JSON.stringify({ name: 'x'.repeat(1024 * 1024) });
    expectProblem(await send({ method: 'POST', url: '/goals', headers: json, payload }), 413);
  });

  it('when the body carries __proto__, then 400 and no object is polluted', async () => {
    const payload = '{"name":"x","__proto__":{"polluted":"yes"}}';
    expectProblem(await send({ method: 'POST', url: '/goals', headers: json, payload }), 400);
    expectProblem(
      await send({ method: 'PATCH', url: `/goals/${seed.id}`, headers: json, payload }),
      400,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('when the body carries constructor.prototype, then 400 and no object is polluted', async () => {
    const payload = '{"name":"x","constructor":{"prototype":{"polluted":"yes"}}}';
    expectProblem(await send({ method: 'POST', url: '/goals', headers: json, payload }), 400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('bad ids', () => {
  const BAD_IDS = [
    'abc',
    '0',
    '-1',
    '1.5',
    // One past the largest integer a JSON number holds exactly.
    '9007199254740992',
    '99999999999999999999',
    '1e3',
    '0x10',
    '%2012',
    '007',
  ];

  it.each(BAD_IDS)('when the id is "%s", then GET, PATCH and DELETE say 400', async (id) => {
    expectProblem(await send({ method: 'GET', url: `/goals/${id}` }), 400);
    expectProblem(
      await send({ method: 'PATCH', url: `/goals/${id}`, headers: json, payload: { done: true } }),
      400,
    );
    expectProblem(await send({ method: 'DELETE', url: `/goals/${id}` }), 400);
  });

  it('when the id is past 32 bits (ids are bigint) but absent, then 404 for all three', async () => {
    const id = 2_147_483_648;
    expectProblem(await send({ method: 'GET', url: `/goals/${id}` }), 404);
    expectProblem(
      await send({ method: 'PATCH', url: `/goals/${id}`, headers: json, payload: { done: true } }),
      404,
    );
    expectProblem(await send({ method: 'DELETE', url: `/goals/${id}` }), 404);
  });
});

describe('bad list queries', () => {
  it.each([
    ['limit', '0'],
    ['limit', '101'],
    ['limit', '-5'],
    ['limit', 'ten'],
    ['limit', '2.5'],
    ['limit', '1e1'],
    ['after', '-1'],
    ['after', 'first'],
    ['after', '9007199254740992'],
    ['done', 'yes'],
    ['done', '1'],
    ['done', 'TRUE'],
    ['sort', 'name'],
  ])('when %s is "%s", then 400', async (key, value) => {
    expectProblem(await send({ method: 'GET', url: `/goals?${key}=${value}` }), 400);
  });

  it('when limit is given twice, then 400', async () => {
    expectProblem(await send({ method: 'GET', url: '/goals?limit=1&limit=2' }), 400);
  });
});

describe('the largest id', () => {
  it('when the id is 2^53 - 1, the largest a JSON number holds exactly, then 404, not 400', async () => {
    const id = Number.MAX_SAFE_INTEGER;
    expectProblem(await send({ method: 'GET', url: `/goals/${id}` }), 404);
    expectProblem(await send({ method: 'DELETE', url: `/goals/${id}` }), 404);
  });
});
