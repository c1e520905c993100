import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@goal-tracker/test-support/free-port';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';
import { withClient } from '@goal-tracker/test-support/with-client';
import { afterEach, describe, expect, test } from 'vitest';
import { startDatabaseTier } from './support/database-tier.js';

interface Stack {
  /** `npm start`, or the runner itself. */
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
  apiPort: number;
  webPort: number;
  dataDir: string;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => boolean, stack: Stack, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen:\n${stack.output()}`);
    await sleep(100);
  }
}

/**
 * The local stack on free ports with its own data directory: as `npm start` runs it, or the
 * runner alone (`viaNpm: false`), in a process group of its own as a terminal's job would be.
 */
async function startStack({ viaNpm }: { viaNpm: boolean }): Promise<Stack> {
  const [apiPort, webPort] = [await freePort(), await freePort()];
  const dataRoot = await mkdtemp(join(tmpdir(), 'goal-tracker-stack-'));
  // PostgreSQL runs as the postgres user, which must be able to enter the directory.
  await chmod(dataRoot, 0o755);
  const dataDir = join(dataRoot, 'data');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    API_PORT: String(apiPort),
    WEB_PORT: String(webPort),
    DATA_DIR: dataDir,
    npm_config_update_notifier: 'false',
  };
  delete env.DATABASE_URL;
  const [command, args] = viaNpm
    ? ['npm', ['start', '--silent']]
    : [
        process.execPath,
        ['--conditions=source', '--import', 'tsx', 'scripts/local-stack/start.ts'],
      ];
  const child = spawn(command, args, {
    cwd: REPOSITORY_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const stack: Stack = { child, exited, output: () => output, apiPort, webPort, dataDir };
  cleanups.push(async () => {
    // Whatever a failed test left: the runner's group, then each tier's own group.
    for (const pid of [child.pid, ...tierPids(stack)]) {
      try {
        if (pid) process.kill(-pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await rm(dataRoot, { recursive: true, force: true });
  });
  const banner = `Goal Tracker is running at http://localhost:${webPort}`;
  await until(
    'the start banner',
    () => output.includes(banner) || child.exitCode !== null,
    stack,
    150_000,
  );
  if (!output.includes(banner)) throw new Error(`the runner exited early:\n${output}`);
  return stack;
}

/** The pid the runner last printed for a tier ("api   ready on port N (pid P)"). */
function tierPid(stack: Stack, tier: 'api' | 'web'): number {
  const matches = [
    ...stack.output().matchAll(new RegExp(`^${tier}\\s+ready on port \\d+ \\(pid (\\d+)\\)`, 'gm')),
  ];
  const pid = Number(matches.at(-1)?.[1]);
  if (!pid) throw new Error(`no pid printed for the ${tier}:\n${stack.output()}`);
  return pid;
}

/** Every tier's pid the runner printed, the database's ("db    ready (pid P)") included. */
function tierPids(stack: Stack): number[] {
  return [
    ...stack.output().matchAll(/^(?:db|api|web)\s+ready (?:on port \d+ )?\(pid (\d+)\)/gm),
  ].map((match) => Number(match[1]));
}

function postmasterPid(stack: Stack): number {
  return Number(
    readFileSync(join(stack.dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0],
  );
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function signUp(stack: Stack, email: string): Promise<string> {
  const signedUp = await fetch(`http://127.0.0.1:${stack.webPort}/api/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'a long stack password' }),
  });
  expect(signedUp.status).toBe(201);
  return ((await signedUp.json()) as { token: string }).token;
}

/** Everything the stack started, PostgreSQL included, is gone within `ms`. */
async function expectAllGone(stack: Stack, pids: number[], ms = 20_000) {
  await until('every process stopping', () => pids.every((pid) => !isRunning(pid)), stack, ms);
  // PostgreSQL removes its pid file when it has shut down cleanly.
  expect(existsSync(join(stack.dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  expect(await listening(stack.webPort)).toBe(false);
  expect(await listening(stack.apiPort)).toBe(false);
}

describe('npm start (scripts/local-stack/start.ts)', () => {
  test('when started without DATABASE_URL, then it builds, runs embedded PostgreSQL, the API and the web tier, names the migrations and the docs URL, and Ctrl-C stops all three', async () => {
    const stack = await startStack({ viaNpm: false });
    const output = stack.output();
    // PostgreSQL is a tier of its own, started first; the API is handed its URL.
    expect(output.indexOf('db    ready')).toBeGreaterThan(-1);
    expect(output.indexOf('db    ready')).toBeLessThan(output.indexOf('api   ready'));
    expect(output).toContain(`its docs at http://localhost:${stack.apiPort}/docs`);
    const migrations = [...output.matchAll(/migration applied (\d{3}_\w+)/g)].map((m) => m[1]);
    expect(migrations.length).toBeGreaterThanOrEqual(4);
    expect(new Set(migrations).size).toBe(migrations.length);

    // A person signs up through the web tier's /api, as a script would.
    const token = await signUp(stack, 'stack@example.com');
    const created = await fetch(`http://127.0.0.1:${stack.webPort}/api/goals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: 'Started with one command' }),
    });
    expect(created.status).toBe(201);
    const page = await (
      await fetch(`http://127.0.0.1:${stack.webPort}/`, { headers: { cookie: `session=${token}` } })
    ).text();
    expect(page).toContain('Started with one command');
    const pids = [...tierPids(stack), postmasterPid(stack)];

    process.kill(-stack.child.pid!, 'SIGINT');
    expect(await stack.exited).toBe(0);
    expect(stack.output()).toContain('stopped');
    await expectAllGone(stack, pids);
  }, 180_000);

  test('when the API crashes, then the web tier says goals are unavailable until the API is started again a second later; SIGTERM to npm start stops everything', async () => {
    const stack = await startStack({ viaNpm: true });
    const token = await signUp(stack, 'crash@example.com');
    const firstApi = tierPid(stack, 'api');

    process.kill(firstApi, 'SIGKILL');
    await until(
      'the restart notice',
      () => stack.output().includes('starting it again in 1 s'),
      stack,
    );
    const during = await fetch(`http://127.0.0.1:${stack.webPort}/`, {
      headers: { cookie: `session=${token}` },
    });
    expect(during.status).toBe(200);
    expect(await during.text()).toContain('Goals are unavailable right now');

    await until('the API coming back', () => stack.output().includes('the api is back'), stack);
    expect(tierPid(stack, 'api')).not.toBe(firstApi);
    expect((await fetch(`http://127.0.0.1:${stack.apiPort}/ready`)).status).toBe(200);
    const pids = [tierPid(stack, 'api'), tierPid(stack, 'web'), postmasterPid(stack)];

    process.kill(stack.child.pid!, 'SIGTERM');
    await stack.exited;
    await expectAllGone(stack, pids);
  }, 180_000);

  test('when npm start is hung up on (SIGHUP), then the runner notices and stops everything', async () => {
    const stack = await startStack({ viaNpm: true });
    const pids = [...tierPids(stack), postmasterPid(stack)];
    process.kill(stack.child.pid!, 'SIGHUP');
    await expectAllGone(stack, pids);
    await until('the runner stopping', () => stack.output().includes('stopped'), stack);
  }, 180_000);

  test('when the runner itself is killed outright, then the tiers notice within seconds and stop, PostgreSQL with them', async () => {
    const stack = await startStack({ viaNpm: false });
    const pids = [...tierPids(stack), postmasterPid(stack)];
    process.kill(stack.child.pid!, 'SIGKILL');
    await expectAllGone(stack, pids, 15_000);
  }, 180_000);
});

describe('the db tier (scripts/local-stack/database.ts)', () => {
  test('when stopped and started again on the same DATA_DIR, then the data is still there and SIGTERM stops PostgreSQL cleanly', async () => {
    const dataRoot = await mkdtemp(join(tmpdir(), 'goal-tracker-db-'));
    await chmod(dataRoot, 0o755);
    cleanups.push(() => rm(dataRoot, { recursive: true, force: true }));
    const dataDir = join(dataRoot, 'data');
    const pidFile = join(dataDir, 'postgres', 'postmaster.pid');

    const first = await startDatabaseTier(REPOSITORY_ROOT, dataDir);
    cleanups.push(async () => void (await first.stop()));
    await withClient(first.url, (client) => client.query('CREATE TABLE kept (id int)'));
    expect(await first.stop()).toBe(0);
    expect(existsSync(pidFile)).toBe(false);

    const second = await startDatabaseTier(REPOSITORY_ROOT, dataDir);
    cleanups.push(async () => void (await second.stop()));
    expect(second.url).toBe(first.url);
    const { rowCount } = await withClient(second.url, (client) => client.query('TABLE kept'));
    expect(rowCount).toBe(0);
    expect(await second.stop()).toBe(0);
    expect(existsSync(pidFile)).toBe(false);
  }, 60_000);
});
