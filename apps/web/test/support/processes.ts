import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '@goal-tracker/test-postgres';

export const REPOSITORY_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Polls `url` until it answers 200, the process dies, or the deadline passes. */
export async function waitFor200(
  url: string,
  child: ChildProcess,
  deadlineMs: number,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`process exited with ${child.exitCode} before ${url} answered:\n${output()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer 200 within ${deadlineMs} ms:\n${output()}`);
}

/**
 * Starts a TypeScript entry point as its own process: `node --import tsx`, so the PID is the
 * server's, and with the `source` condition so workspace packages load from their src.
 */
export async function startServerProcess(options: {
  entry: string;
  env: Record<string, string>;
  readyPath: string;
  port?: number;
  deadlineMs?: number;
}): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', options.entry], {
    cwd: REPOSITORY_ROOT,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...options.env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor200(
      `${url}${options.readyPath}`,
      child,
      options.deadlineMs ?? 60_000,
      () => output,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url,
    port,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/**
 * The API's abuse limits that tests of the web tier would trip over: every test signs up from
 * one address, and some write dozens of goals a minute. (The limits are the API's to test.)
 */
const UNLIMITED = { SIGNUPS_PER_ADDRESS_PER_HOUR: '0', GOAL_WRITES_PER_MINUTE: '0' };

/**
 * The real API (apps/api main) against the given database, on `port` or a free one, with any
 * other settings in `env` (WEBAUTHN_ORIGINS, say).
 */
export function startApi(
  databaseUrl: string,
  options: { port?: number; env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  return startServerProcess({
    entry: 'apps/api/src/main.ts',
    env: { DATABASE_URL: databaseUrl, ...UNLIMITED, ...options.env },
    readyPath: '/ready',
    ...(options.port === undefined ? {} : { port: options.port }),
  });
}
