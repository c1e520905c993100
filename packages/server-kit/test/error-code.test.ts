import { describe, expect, test } from 'vitest';
import { errorCode } from '../src/index.js';

const coded = (code: unknown, cause?: unknown) =>
  Object.assign(new Error('failed', { cause }), { code });

describe('errorCode', () => {
  test('when the error has a string code, then that is it', () => {
    expect(errorCode(coded('ECONNREFUSED'))).toBe('ECONNREFUSED');
  });

  test("when a wrapper has none (or undici's generic UND_ERR), then its cause's is used", () => {
    expect(errorCode(new Error('fetch failed', { cause: coded('ECONNRESET') }))).toBe('ECONNRESET');
    expect(errorCode(coded('UND_ERR', coded('UND_ERR_SOCKET')))).toBe('UND_ERR_SOCKET');
  });

  test('when nothing carries a string code, then undefined', () => {
    expect(errorCode(coded(42))).toBeUndefined();
    expect(errorCode('ECONNREFUSED')).toBeUndefined();
    expect(errorCode(undefined)).toBeUndefined();
  });
});
