import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createTestServer,
  startPostgres,
  type PostgresServer,
} from '@goal-tracker/test-support/postgres';

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

let server: PostgresServer;

beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await server?.dispose();
});

describe('startPostgres', () => {
  it('when started, then it is a real PostgreSQL 15 that keeps data across stop and start', async () => {
    const url = await server.createDatabase('kept');
    const [version] = await query<{ server_version: string }>(url, 'SHOW server_version');
    expect(version?.server_version).toMatch(/^15\./);
    await query(url, 'CREATE TABLE kept (value int); INSERT INTO kept VALUES (42)');
    await server.stop();
    await server.start();
    expect(await query(url, 'SELECT value FROM kept')).toEqual([{ value: 42 }]);
  });

  it('when two clusters start, then each has its own data', async () => {
    const other = await startPostgres();
    try {
      await query(other.url(), 'CREATE TABLE only_here (id int)');
      const tables = await query(
        server.url(),
        "SELECT 1 FROM pg_tables WHERE tablename = 'only_here'",
      );
      expect(tables).toEqual([]);
    } finally {
      await other.dispose();
    }
  });
});

describe('createTestServer', () => {
  it('when DATABASE_URL is set, then databases are created on that server and dropped at the end', async () => {
    vi.stubEnv('DATABASE_URL', server.url());
    const external = await createTestServer();
    const url = await external.createDatabase('external');
    const name = new URL(url).pathname.slice(1);
    expect(new URL(url).port).toBe(String(server.port));
    expect(await query(url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await external.dispose();
    const left = await query(server.url(), `SELECT 1 FROM pg_database WHERE datname = '${name}'`);
    expect(left).toEqual([]);
    vi.unstubAllEnvs();
  });
});
