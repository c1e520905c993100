import { spawn, type ChildProcess } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';

/**
 * The whole stack on one machine: the API (which starts its embedded PostgreSQL when
 * DATABASE_URL is absent) and the web tier, started in order, stopped in reverse order.
 * `start` runs the production builds; `dev` runs the sources and restarts what changed.
 */

const TSC = join(REPOSITORY_ROOT, 'node_modules', '.bin', 'tsc');

export type StackMode = 'start' | 'dev';

interface Tier {
  name: 'api' | 'web';
  port: number;
  readyPath: string;
  /** Built entry point (start) or TypeScript source (dev). */
  entry: Record<StackMode, string>;
  env: Record<string, string>;
  /** Source folders whose changes restart this tier in dev mode. */
  watches: string[];
}

const colours = { api: '\x1b[35m', web: '\x1b[36m', stack: '\x1b[32m' } as const;
const useColour = process.stdout.isTTY === true && !process.env.NO_COLOR;

function say(source: keyof typeof colours, text: string): void {
  const label = source.padEnd(5);
  process.stdout.write(`${useColour ? `${colours[source]}${label}\x1b[0m` : label} ${text}\n`);
}

/** pino's JSON made readable in a terminal: level, message, and the error when there is one. */
function formatLogLine(line: string): string | undefined {
  let entry: { level?: number; msg?: string; err?: { message?: string } } & Record<string, unknown>;
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return line;
  }
  // Request lines are noise in a terminal; LOG_LEVEL=debug in the environment shows them raw.
  if (entry.msg === 'incoming request' || entry.msg === 'request completed') return undefined;
  const level = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }[
    entry.level ?? 30
  ];
  const error = entry.err?.message ? `: ${entry.err.message}` : '';
  return `${(level ?? 'info').padEnd(5)} ${entry.msg ?? ''}${error}`;
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePromise(true)));
  });
}

function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { cwd: REPOSITORY_ROOT, stdio: 'inherit' });
    child.once('exit', (code) => resolvePromise(code ?? 1));
  });
}

async function waitForReady(url: string, child: ChildProcess, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('exited');
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (response.status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 200));
  }
  throw new Error(`${url} did not answer within ${deadlineMs / 1000} s`);
}

class TierProcess {
  child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly tier: Tier,
    private readonly mode: StackMode,
    private readonly onUnexpectedExit: (tier: TierProcess) => void,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.tier.port}`;
  }

  async start(): Promise<void> {
    const { tier } = this;
    // `node` itself, never a wrapper, so the PID held here is the server's and signals reach it.
    const args =
      this.mode === 'dev'
        ? ['--conditions=source', '--import', 'tsx', tier.entry.dev]
        : [tier.entry.start];
    const child = spawn(process.execPath, args, {
      cwd: REPOSITORY_ROOT,
      env: { ...process.env, HOST: '127.0.0.1', ...tier.env, PORT: String(tier.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: Ctrl-C reaches only this runner, which stops the tiers in order.
      detached: true,
    });
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        const text = formatLogLine(line);
        if (text !== undefined) say(tier.name, text);
      });
    }
    this.exited = new Promise((resolvePromise) => {
      child.once('exit', (code, signal) => {
        if (this.child === child) {
          this.child = undefined;
          say(tier.name, `exited (${signal ?? `code ${code}`})`);
          this.onUnexpectedExit(this);
        }
        resolvePromise();
      });
    });
    const deadline = tier.name === 'api' ? 120_000 : 30_000;
    try {
      await waitForReady(`${this.url}${tier.readyPath}`, child, deadline);
    } catch (error) {
      throw new Error(`${tier.name} did not start: ${(error as Error).message}`);
    }
  }

  /** SIGTERM and wait (the tiers drain within 10 s); SIGKILL only if that overruns. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Last-resort cleanup while the runner itself is exiting: synchronous, no waiting. */
  killNow(): void {
    this.child?.kill('SIGTERM');
  }
}

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw ? Number(raw) : fallback;
  if (!Number.isInteger(value) || value < 1 || value > 65_535) {
    throw new Error(`${name} must be a port number, not "${raw}"`);
  }
  return value;
}

export async function runStack(mode: StackMode): Promise<void> {
  const apiPort = port('API_PORT', 8080);
  const webPort = port('WEB_PORT', 3000);
  const tiers: Tier[] = [
    {
      name: 'api',
      port: apiPort,
      readyPath: '/ready',
      entry: { start: 'apps/api/dist/main.js', dev: 'apps/api/src/main.ts' },
      env: {
        // The web tier runs here on loopback and says who its clients are in X-Forwarded-For.
        TRUSTED_PROXIES: process.env.TRUSTED_PROXIES ?? '127.0.0.1',
        // Passkeys need a secure context: http://localhost is one, http://127.0.0.1 is not.
        WEBAUTHN_ORIGINS: process.env.WEBAUTHN_ORIGINS ?? `http://localhost:${webPort}`,
      },
      watches: ['apps/api/src', 'apps/api/migrations', 'packages/contract/src'],
    },
    {
      name: 'web',
      port: webPort,
      readyPath: '/health',
      entry: { start: 'apps/web/dist/main.js', dev: 'apps/web/src/main.ts' },
      env: { API_URL: `http://127.0.0.1:${apiPort}` },
      watches: ['apps/web/src', 'apps/web/client', 'apps/web/public', 'packages/contract/src'],
    },
  ];

  for (const tier of tiers) {
    if (!(await isPortFree(tier.port))) {
      const variable = tier.name === 'api' ? 'API_PORT' : 'WEB_PORT';
      throw new Error(`port ${tier.port} is already in use; set ${variable} to another port`);
    }
  }

  // start: the production output of both apps (and what they reference: contract, the page's
  // script). dev: only the page's script, since the servers run from their sources.
  const buildTargets = mode === 'start' ? ['apps/api', 'apps/web'] : ['apps/web/client'];
  say('stack', `building ${buildTargets.join(' and ')}…`);
  if ((await run(TSC, ['-b', ...buildTargets])) !== 0) throw new Error('the build failed');

  let stopping = false;
  const processes: TierProcess[] = [];
  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolvePromise) => (finish = resolvePromise));

  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stack', 'stopping…');
    // Reverse order: the web tier first, then the API, which stops its embedded PostgreSQL.
    for (const tierProcess of [...processes].reverse()) await tierProcess.stop();
    say('stack', 'stopped');
    finish(code);
  };

  const onUnexpectedExit = (tierProcess: TierProcess) => {
    if (stopping) return;
    if (mode === 'start') {
      say('stack', `${tierProcess.tier.name} stopped unexpectedly; stopping the stack`);
      void stopAll(1);
    } else {
      say('stack', `${tierProcess.tier.name} is down; it restarts on the next change`);
    }
  };

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Several copies can arrive (the terminal's, and tsx relaying it); one stop is enough.
    process.on(signal, () => void stopAll(0));
  }
  process.on('exit', () => processes.forEach((tierProcess) => tierProcess.killNow()));

  try {
    for (const tier of tiers) {
      if (stopping) break;
      const tierProcess = new TierProcess(tier, mode, onUnexpectedExit);
      processes.push(tierProcess);
      say('stack', `starting the ${tier.name} on port ${tier.port}…`);
      await tierProcess.start();
    }
  } catch (error) {
    say('stack', (error as Error).message);
    await stopAll(1);
  }

  if (!stopping) {
    say('stack', `Goal Tracker is running at http://localhost:${webPort}`);
    say('stack', `(API at http://localhost:${apiPort}, docs at /docs). Press Ctrl-C to stop.`);
  }

  const watchers = mode === 'dev' && !stopping ? watchForChanges(processes, () => stopping) : [];
  const code = await finished;
  watchers.forEach((watcher) => watcher.close());
  process.exitCode = code;
}

/** dev: restarts a tier when its sources change (rebuilding the page's script first). */
function watchForChanges(processes: TierProcess[], isStopping: () => boolean): FSWatcher[] {
  const pending = new Set<TierProcess>();
  const changed = new Set<string>();
  let clientChanged = false;
  let timer: NodeJS.Timeout | undefined;
  let restarting = Promise.resolve();

  const restart = () => {
    const due = [...pending];
    const rebuildClient = clientChanged;
    say('stack', `changed: ${[...changed].join(', ')}`);
    changed.clear();
    pending.clear();
    clientChanged = false;
    restarting = restarting.then(async () => {
      if (isStopping()) return;
      if (rebuildClient && (await run(TSC, ['-b', 'apps/web/client'])) !== 0) {
        say('stack', 'the page script does not compile; fix it and save again');
        return;
      }
      // API first, so the web tier comes back to a ready API.
      for (const tierProcess of processes.filter((p) => due.includes(p))) {
        if (isStopping()) return;
        say('stack', `restarting the ${tierProcess.tier.name}…`);
        await tierProcess.stop();
        try {
          await tierProcess.start();
          say('stack', `${tierProcess.tier.name} restarted`);
        } catch (error) {
          say('stack', (error as Error).message);
        }
      }
    });
  };

  const watchers: FSWatcher[] = [];
  const folders = new Map<string, TierProcess[]>();
  for (const tierProcess of processes) {
    for (const folder of tierProcess.tier.watches) {
      folders.set(folder, [...(folders.get(folder) ?? []), tierProcess]);
    }
  }
  for (const [folder, affected] of folders) {
    watchers.push(
      watch(join(REPOSITORY_ROOT, folder), { recursive: true }, (_event, file) => {
        if (file && /(^|\/)\.|~$|\.tsbuildinfo$/.test(String(file))) return;
        affected.forEach((tierProcess) => pending.add(tierProcess));
        changed.add(join(folder, String(file ?? '')));
        if (folder === 'apps/web/client') clientChanged = true;
        clearTimeout(timer);
        timer = setTimeout(restart, 250);
      }),
    );
  }
  say('stack', 'watching for changes');
  return watchers;
}

/** The body of scripts/start.ts and scripts/dev.ts: runs the stack, then exits with its code. */
export async function runStackCommand(mode: StackMode): Promise<never> {
  try {
    await runStack(mode);
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  }
  process.exit();
}
