import { availableParallelism } from 'node:os';
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  test('when nothing is set, then the documented defaults apply', () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      host: '0.0.0.0',
      apiUrl: 'http://127.0.0.1:8080',
      apiConnectTimeoutMs: 2_000,
      apiTimeoutMs: 5_000,
      logLevel: 'info',
      trustedProxies: [],
      allowedHosts: ['localhost', '127.0.0.1'],
      forwardedProtoHeader: 'x-forwarded-proto',
      workers: availableParallelism(),
    });
  });

  test("when FORWARDED_PROTO_HEADER names CloudFront's header, then it is read in lower case; a header list is refused", () => {
    expect(
      loadConfig({ FORWARDED_PROTO_HEADER: 'CloudFront-Forwarded-Proto' }).forwardedProtoHeader,
    ).toBe('cloudfront-forwarded-proto');
    expect(() => loadConfig({ FORWARDED_PROTO_HEADER: 'a, b' })).toThrow(/FORWARDED_PROTO_HEADER/);
  });

  test('when ALLOWED_HOSTS lists names, then they are read in lower case, blanks dropped', () => {
    expect(
      loadConfig({ ALLOWED_HOSTS: 'Goals.Example.com, ,internal-alb-1.elb.amazonaws.com' })
        .allowedHosts,
    ).toEqual(['goals.example.com', 'internal-alb-1.elb.amazonaws.com']);
  });

  test('when TRUSTED_PROXIES lists ranges, then they are read, blanks dropped', () => {
    expect(loadConfig({ TRUSTED_PROXIES: '10.0.0.0/16, ,127.0.0.1' }).trustedProxies).toEqual([
      '10.0.0.0/16',
      '127.0.0.1',
    ]);
  });

  test('when values are set, then they are used', () => {
    const config = loadConfig({
      PORT: '4000',
      HOST: '127.0.0.1',
      API_URL: 'http://internal-alb.example:8080/',
      API_TIMEOUT_MS: '750',
      LOG_LEVEL: 'warn',
    });
    expect(config).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      apiUrl: 'http://internal-alb.example:8080',
      apiTimeoutMs: 750,
      logLevel: 'warn',
    });
  });

  test.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ API_URL: 'internal-alb:8080' }, 'API_URL'],
    [{ API_URL: 'ftp://host' }, 'API_URL'],
    [{ API_URL: 'http://host/api' }, 'API_URL'],
    [{ API_TIMEOUT_MS: '0' }, 'API_TIMEOUT_MS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ ALLOWED_HOSTS: 'https://goals.example.com' }, 'ALLOWED_HOSTS'],
    [{ ALLOWED_HOSTS: 'goals.example.com:443' }, 'ALLOWED_HOSTS'],
    [{ ALLOWED_HOSTS: '*.example.com' }, 'ALLOWED_HOSTS'],
    [{ ALLOWED_HOSTS: ' , ' }, 'ALLOWED_HOSTS'],
  ])('when %o is given, then the error names %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(variable);
  });
});
