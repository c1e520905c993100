import { describe, expect, it } from 'vitest';
import { isUnavailable } from '../../src/db/database.js';

const withCode = (code: string, message = 'failed') => Object.assign(new Error(message), { code });
const fromPostgres = (code: string) =>
  Object.assign(new Error('from the server'), { code, severity: 'ERROR' });

describe('isUnavailable: which errors are outages (503) and which are bugs (500)', () => {
  it.each([
    ['a refused connection', withCode('ECONNREFUSED')],
    ['a reset connection', withCode('ECONNRESET')],
    ['a host that does not resolve', withCode('ENOTFOUND')],
    ['a certificate that does not verify', withCode('UNABLE_TO_VERIFY_LEAF_SIGNATURE')],
    ['a host name the certificate does not name', withCode('ERR_TLS_CERT_ALTNAME_INVALID')],
    ["pg's connect timeout", new Error('timeout expired')],
    ['no pooled connection in time', new Error('timeout exceeded when trying to connect')],
    ['a connection lost mid-query', new Error('Connection terminated unexpectedly')],
    ['the server shutting down (57P01)', fromPostgres('57P01')],
    ['too many connections (53300)', fromPostgres('53300')],
    ['a wrong password (28P01)', fromPostgres('28P01')],
    ['a statement timeout (57014)', fromPostgres('57014')],
  ])('when the error is %s, then it is an outage', (_case, error) => {
    expect(isUnavailable(error)).toBe(true);
  });

  it.each([
    [
      'a type error from our own code',
      Object.assign(new TypeError('x is not a function'), { code: 'ERR_INVALID_ARG_TYPE' }),
    ],
    ['a missing column (42703)', fromPostgres('42703')],
    ['a unique violation (23505)', fromPostgres('23505')],
    ['a message that merely mentions a pool', new Error('the pool of ideas ran dry')],
    ['a message that merely mentions a timeout', new Error('invalid timeout value')],
    ['a thrown string', 'connect failed'],
  ])('when the error is %s, then it is a bug, not an outage', (_case, error) => {
    expect(isUnavailable(error)).toBe(false);
  });
});
