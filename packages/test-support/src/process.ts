import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { freePort } from './free-port.js';
import { REPOSITORY_ROOT } from './repository-root.js';

/**
 * One way to run a program for a test, the benchmark or the local stack: spawn it, keep what
 * it writes, wait until it answers, stop it (SIGTERM, then SIGKILL when it overruns).
 */

export interface SpawnOptions {
  /** The program; `node` itself when absent, so the PID held is the server's own. */
  command?: string;
  args: readonly string[];
  /** The whole environment of the process; this process's when absent. */
  env?: NodeJS.ProcessEnv;
  /** The repository root when absent. */
  cwd?: string;
  /** Its own process group, so a terminal's Ctrl-C reaches only the caller. */
  detached?: boolean;
  uid?: number;
  gid?: number;
  /** An IPC channel to the process (it closes, however this process ends). */
  ipc?: boolean;
  /** Called with each line the process writes, stdout and stderr alike. */
  onLine?: (line: string) => void;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves once the process has exited. */
  readonly exited: Promise<Exit>;
  isRunning(): boolean;
  /** The last 64 kB the process wrote, for failure messages. */
  output(): string;
  /** Sends `signal`, escalates to SIGKILL after `graceMs`, and waits for the exit. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<Exit>;
}

const KEPT_OUTPUT = 64 * 1024;

/** `node` arguments that run a TypeScript entry point with workspace packages from src. */
export function fromSource(entry: string, nodeArgs: readonly string[] = []): string[] {
  return [...nodeArgs, '--conditions=source', '--import', 'tsx', entry];
}

export function spawnProcess(options: SpawnOptions): RunningProcess {
  const child = spawn(options.command ?? process.execPath, options.args, {
    cwd: options.cwd ?? REPOSITORY_ROOT,
    env: options.env ?? process.env,
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  let output = '';
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      output = `${output}${line}\n`.slice(-KEPT_OUTPUT);
      options.onLine?.(line);
    });
  }
  let running = true;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
    child.once('error', (error) => {
      output += `${String(error)}\n`;
      running = false;
      resolve({ code: null, signal: null });
    });
  });
  return {
    child,
    pid: child.pid ?? 0,
    exited,
    isRunning: () => running,
    output: () => output,
    async stop(signal = 'SIGTERM', graceMs = 15_000) {
      if (running) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      return exited;
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `url` until it answers 200; throws, with the output, if the process dies first or time runs out. */
export async function waitUntilOk(
  url: string,
  process: RunningProcess,
  options: { deadlineMs?: number; pollMs?: number } = {},
): Promise<void> {
  const deadlineMs = options.deadlineMs ?? 60_000;
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (!process.isRunning()) {
      const { code, signal } = await process.exited;
      throw new Error(
        `exited (${signal ?? `code ${code}`}) before ${url} answered:\n${process.output()}`,
      );
    }
    const status = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
      (response) => {
        void response.body?.cancel();
        return response.status;
      },
      () => 0,
    );
    if (status === 200) return;
    await sleep(options.pollMs ?? 100);
  }
  throw new Error(`${url} did not answer 200 within ${deadlineMs / 1000} s:\n${process.output()}`);
}

export interface ServerOptions extends SpawnOptions {
  /** A free one when absent; the process gets it as PORT. */
  port?: number;
  /** Answers 200 once the server takes traffic, e.g. `/ready`. */
  readyPath: string;
  deadlineMs?: number;
  pollMs?: number;
}

export interface ServerProcess extends RunningProcess {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
}

/** Starts a server on loopback (HOST and PORT set) and waits until `readyPath` answers 200. */
export async function startServer(options: ServerOptions): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const started = spawnProcess({
    ...options,
    env: { HOST: '127.0.0.1', ...(options.env ?? process.env), PORT: String(port) },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilOk(`${url}${options.readyPath}`, started, options);
  } catch (error) {
    await started.stop('SIGKILL');
    throw error;
  }
  return { ...started, port, url };
}

/** A pino line a process wrote: its message and fields. */
export type LogLine = Record<string, unknown> & { msg?: string; pid?: number };

/** The pino (JSON) lines the process has written whose message is `msg`, oldest first. */
export function logLines(process: RunningProcess, msg: string): LogLine[] {
  return process
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine)
    .filter((line) => line.msg === msg);
}

/** Polls `check` until it holds; throws, with the process's output, when time runs out. */
export async function waitUntil(
  check: () => boolean,
  process: RunningProcess,
  deadlineMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting:\n${process.output()}`);
    await sleep(50);
  }
}
