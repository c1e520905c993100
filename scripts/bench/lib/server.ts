import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@goal-tracker/test-postgres';
import { MemorySampler, readCpuMs } from './memory.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The production builds; BENCH_API_MAIN / BENCH_WEB_MAIN point the harness at a candidate build. */
export const API_MAIN = resolve(REPO_ROOT, process.env.BENCH_API_MAIN ?? 'apps/api/dist/main.js');
export const WEB_MAIN = resolve(REPO_ROOT, process.env.BENCH_WEB_MAIN ?? 'apps/web/dist/main.js');

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

const running = new Set<ServerProcess>();

/** Kills every server still running, e.g. from a test's afterAll or an error path. */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...running].map((server) => server.stop('SIGKILL')));
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
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  const started = performance.now();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.main], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...options.env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let alive = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.on('exit', (code, signal) => {
      alive = false;
      done({ code, signal });
    });
  });
  if (child.pid === undefined) throw new Error(`${options.name}: could not spawn ${options.main}`);

  const ready = await waitForStatus(
    `${url}${options.readyPath ?? '/ready'}`,
    200,
    options.readyTimeoutMs ?? 15_000,
    () => alive,
  );
  const startToReadyMs = performance.now() - started;
  const startCpuMs = readCpuMs(child.pid) ?? 0;
  const output = () => lines.join('\n');
  if (!ready) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(
      `${options.name} (${options.main}) did not become ready on ${url}; its output:\n${output()}`,
    );
  }

  const server: ServerProcess = {
    name: options.name,
    pid: child.pid,
    port,
    url,
    startToReadyMs,
    startCpuMs,
    memory: new MemorySampler(child.pid),
    child,
    exited,
    output,
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (alive) {
        server.memory.stop();
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      running.delete(server);
    },
  };
  running.add(server);
  return server;
}
