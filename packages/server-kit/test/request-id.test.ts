import { describe, expect, test } from 'vitest';
import { requestId } from '../src/index.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const withId = (id: string | string[] | undefined) => ({ headers: { 'x-request-id': id } });

describe('requestId', () => {
  test.each(['abc-123', 'trace/42+a=b', 'user@host:7', 'x'.repeat(128)])(
    'when the caller sends %s, then it is kept',
    (id) => {
      expect(requestId(withId(id))).toBe(id);
    },
  );

  test.each(['', 'bad id', 'line\nbreak', '"quoted"', 'x'.repeat(129)])(
    'when the caller sends %j, then a new UUID is made',
    (id) => {
      expect(requestId(withId(id))).toMatch(UUID);
    },
  );

  test('when there is none, or several, then each request gets its own UUID', () => {
    const first = requestId(withId(undefined));
    expect(first).toMatch(UUID);
    expect(requestId(withId(undefined))).not.toBe(first);
    expect(requestId(withId(['a', 'b']))).toMatch(UUID);
  });
});
