import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { resolve } from 'node:path';
import { freePort } from '@goal-tracker/test-support/free-port';
import { spawnProcess, waitUntilOk } from '@goal-tracker/test-support/process';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';
import { MemorySampler, readCpuMs } from './memory.js';

/** The production builds; BENCH_API_MAIN / BENCH_WEB_MAIN point the harness at a candidate build. */
export const API_MAIN = resolve(
  REPOSITORY_ROOT,
  process.env.BENCH_API_MAIN ?? 'apps/api/dist/main.js',
);
export const WEB_MAIN = resolve(
  REPOSITORY_ROOT,
  process.env.BENCH_WEB_MAIN ?? 'apps/web/dist/main.js',
);

export interface ServerOptions {
  /** Short name for messages, e.g. `api` or `api-2`. */
  name: string;
  /** Built entry point run with `node`, so the PID held is the server's own. */
  main: string;
  env: Record<string, string>;
  /** Flags for node itself, e.g. `--max-semi-space-size=4`, before the entry point. */
  nodeArgs?: string[];
  port?: number;
  /** Path that answers 200 once the server can take traffic. */
  readyPath?: string;
  readyTimeoutMs?: number;
}

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  /** Milliseconds from spawn to the first 200 from the ready path. */
  readonly startToReadyMs: number;
  /** CPU milliseconds the process had used by then (less sensitive to a busy machine). */
  readonly startCpuMs: number;
  readonly memory: MemorySampler;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Last lines the server wrote, for diagnostics. */
  output(): string;
  /** Sends a signal and waits for exit, escalating to SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const servers = new Set<ServerProcess>();

/** Kills every server still running, e.g. from a test's afterAll or an error path. */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...servers].map((server) => server.stop('SIGKILL')));
}

/** GET a path and resolve with the status code (0 when the connection failed). */
export function probe(url: string, timeoutMs = 1000): Promise<number> {
  return new Promise((resolvePromise) => {
    const req = request(url, { method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolvePromise(res.statusCode ?? 0));
      res.on('error', () => resolvePromise(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolvePromise(0));
    req.end();
  });
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export async function waitForStatus(
  url: string,
  status: number,
  timeoutMs: number,
  stillAlive: () => boolean = () => true,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && stillAlive()) {
    if ((await probe(url, 500)) === status) return true;
    await sleep(5);
  }
  return false;
}

export async function startServer(options: ServerOptions): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const running = spawnProcess({
    args: [...(options.nodeArgs ?? []), options.main],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // One process, whose pid is the server's: the drills and the bench's scenarios measure
      // that. The bench's --workers section sets WORKERS itself.
      WORKERS: '1',
      ...options.env,
      PORT: String(port),
    },
  });
  try {
    // Polled every 5 ms: startToReadyMs is one of the figures the bench reports.
    await waitUntilOk(`${url}${options.readyPath ?? '/ready'}`, running, {
      deadlineMs: options.readyTimeoutMs ?? 15_000,
      pollMs: 5,
    });
  } catch (error) {
    await running.stop('SIGKILL');
    throw new Error(
      `${options.name} (${options.main}) did not become ready on ${url}: ${(error as Error).message}`,
    );
  }
  const startToReadyMs = performance.now() - started;
  const startCpuMs = readCpuMs(running.pid) ?? 0;

  const server: ServerProcess = {
    name: options.name,
    pid: running.pid,
    port,
    url,
    startToReadyMs,
    startCpuMs,
    memory: new MemorySampler(running.pid),
    child: running.child,
    exited: running.exited,
    output: () => running.output(),
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      server.memory.stop();
      await running.stop(signal, graceMs);
      servers.delete(server);
    },
  };
  servers.add(server);
  return server;
}
