import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

const DATABASE_URL = 'postgres://u:p@db.internal:5432/goalsdb';

describe('loadConfig', () => {
  it('when only DATABASE_URL is set, then port 8080 on all interfaces over that database', () => {
    const config = loadConfig({ DATABASE_URL });
    expect(config).toMatchObject({ port: 8080, host: '0.0.0.0', logLevel: 'info' });
    expect(config.database).toEqual({
      source: { kind: 'url', url: DATABASE_URL },
      ssl: undefined,
      sslCa: undefined,
      // One server process per vCPU, sharing the instance's 10.
      poolMax: Math.ceil(10 / availableParallelism()),
      connectTimeoutMs: 1000,
      statementTimeoutMs: 5000,
    });
  });

  it('when neither DATABASE_URL nor DB_SECRET_ARN is set, then the error names both', () => {
    expect(() => loadConfig({})).toThrow(/^DATABASE_URL or DB_SECRET_ARN: one must be set/);
    expect(() => loadConfig({ DATABASE_URL: '', DB_SECRET_ARN: '' })).toThrow(/DB_SECRET_ARN/);
  });

  it('when DB_SECRET_ARN is set too, then the secret wins, with the region from AWS_REGION', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://x/y',
      DB_SECRET_ARN: 'arn:secret',
      AWS_REGION: 'eu-west-2',
    });
    expect(config.database.source).toEqual({
      kind: 'secret',
      secretArn: 'arn:secret',
      region: 'eu-west-2',
    });
  });

  it('when numbers and choices are given as text, then they are converted', () => {
    const config = loadConfig({
      PORT: '9090',
      WORKERS: '1',
      DB_POOL_MAX: '20',
      DB_CONNECT_TIMEOUT_MS: '1500',
      DB_STATEMENT_TIMEOUT_MS: '2500',
      DB_SSL: 'require',
      LOG_LEVEL: 'warn',
      DATABASE_URL,
    });
    expect(config).toMatchObject({ port: 9090, logLevel: 'warn' });
    expect(config.database).toMatchObject({
      poolMax: 20,
      connectTimeoutMs: 1500,
      statementTimeoutMs: 2500,
      ssl: 'require',
    });
  });

  it('when an instance runs several workers, then they share DB_POOL_MAX between them', () => {
    const pool = (WORKERS: string, DB_POOL_MAX: string) =>
      loadConfig({ DATABASE_URL, WORKERS, DB_POOL_MAX }).database.poolMax;
    expect(pool('1', '10')).toBe(10);
    expect(pool('2', '10')).toBe(5);
    expect(pool('3', '10')).toBe(4);
    expect(pool('4', '2')).toBe(1);
  });

  it('when a variable is empty, then it counts as unset', () => {
    expect(loadConfig({ PORT: '', DB_SECRET_ARN: '', DATABASE_URL })).toMatchObject({
      port: 8080,
      database: { source: { kind: 'url' } },
    });
  });

  it.each([
    [{ PORT: 'eighty' }, /^PORT: .*integer.*"eighty"/],
    [{ PORT: '70000' }, /^PORT:/],
    [{ DB_POOL_MAX: '0' }, /^DB_POOL_MAX:/],
    [
      { LOG_LEVEL: 'loud' },
      /^LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent/,
    ],
    [{ DB_SSL: 'verify-ca' }, /^DB_SSL: must be one of disable, require, verify-full/],
    [{ DB_SSL_CA: '/nonexistent/bundle.pem' }, /^DB_SSL_CA: cannot read/],
    [{ DATABASE_URL: 'mysql://u:secret@h/d' }, /^DATABASE_URL: must be a postgres/],
  ])('when %o, then the error names the variable', (environment, message) => {
    expect(() => loadConfig(environment)).toThrow(message);
  });

  it('when DATABASE_URL is invalid, then its value, which may hold a password, is not echoed', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://u:secret@h/d' })).not.toThrow(/secret/);
  });
});
