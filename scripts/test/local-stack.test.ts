import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@goal-tracker/test-support/free-port';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';
import { afterAll, describe, expect, test } from 'vitest';

let runner: ChildProcess | undefined;
let dataRoot: string | undefined;

afterAll(async () => {
  // The runner leads its own process group; on failure, take the whole group down.
  if (runner?.pid && runner.exitCode === null) process.kill(-runner.pid, 'SIGKILL');
  if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
});

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

describe('npm start (scripts/local-stack/start.ts)', () => {
  test('when started without DATABASE_URL, then it builds, runs embedded PostgreSQL, the API and the web tier, prints the URL, and Ctrl-C stops all three', async () => {
    const [apiPort, webPort] = [await freePort(), await freePort()];
    dataRoot = await mkdtemp(join(tmpdir(), 'goal-tracker-stack-'));
    await chmod(dataRoot, 0o755);
    const dataDir = join(dataRoot, 'data');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      API_PORT: String(apiPort),
      WEB_PORT: String(webPort),
      DATA_DIR: dataDir,
    };
    delete env.DATABASE_URL;
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', 'scripts/local-stack/start.ts'],
      {
        cwd: REPOSITORY_ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        // Like a terminal's foreground job: Ctrl-C goes to this group.
        detached: true,
      },
    );
    runner = child;
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

    const url = `http://localhost:${webPort}`;
    const deadline = Date.now() + 150_000;
    while (!output.includes(`Goal Tracker is running at ${url}`)) {
      if (child.exitCode !== null) throw new Error(`the runner exited early:\n${output}`);
      if (Date.now() > deadline) throw new Error(`no URL printed:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    // A person signs up through the web tier's /api, as a script would.
    const signedUp = await fetch(`http://127.0.0.1:${webPort}/api/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'stack@example.com', password: 'a long stack password' }),
    });
    expect(signedUp.status).toBe(201);
    const { token } = (await signedUp.json()) as { token: string };
    const created = await fetch(`http://127.0.0.1:${webPort}/api/goals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: 'Started with one command' }),
    });
    expect(created.status).toBe(201);
    const page = await (
      await fetch(`http://127.0.0.1:${webPort}/`, { headers: { cookie: `session=${token}` } })
    ).text();
    expect(page).toContain('Started with one command');
    const postmasterPid = join(dataDir, 'postgres', 'postmaster.pid');
    expect(existsSync(postmasterPid)).toBe(true);

    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('stopped');
    expect(await listening(webPort)).toBe(false);
    expect(await listening(apiPort)).toBe(false);
    // PostgreSQL removes its pid file when it has shut down cleanly.
    expect(existsSync(postmasterPid)).toBe(false);
  }, 180_000);
});
