import { spawnProcess, waitUntilOk, type RunningProcess } from '@goal-tracker/test-support/process';
import { formatLogLine, say } from './log-lines.js';

export type StackMode = 'start' | 'dev';

export interface Tier {
  name: 'db' | 'api' | 'web';
  /** The HTTP port; none for the database, which listens on a Unix socket only. */
  port?: number;
  /** Ready when this path answers 200, or once the tier prints a line with this field. */
  ready: { path: string } | { field: string };
  /** Built entry point (start) or TypeScript source (dev). */
  entry: Record<StackMode, string>;
  env: Record<string, string>;
  /** Source folders whose changes restart this tier in dev mode. */
  watches: string[];
}

const EXIT_WITH_RUNNER = new URL('./exit-with-runner.ts', import.meta.url).href;

/** `node` flags per mode; tsx loads the preload in both (and the sources in dev). */
const NODE_ARGS: Record<StackMode, string[]> = {
  start: ['--import', 'tsx', '--import', EXIT_WITH_RUNNER],
  dev: ['--conditions=source', '--import', 'tsx', '--import', EXIT_WITH_RUNNER],
};

/** One tier as a child process: started, waited for, stopped; its log lines on this terminal. */
export class TierProcess {
  private running: RunningProcess | undefined;
  /** What the tier printed in its `ready.field` line (the database's URL). */
  announced: string | undefined;

  constructor(
    readonly tier: Tier,
    private readonly mode: StackMode,
    /** A tier that was ready has exited without being asked to. */
    private readonly onUnexpectedExit: (tier: TierProcess) => void,
  ) {}

  get pid(): number | undefined {
    return this.running?.pid;
  }

  async start(): Promise<void> {
    const { tier } = this;
    const { ready } = tier;
    let announce: (value: string) => void = () => undefined;
    const announced = new Promise<string>((resolve) => (announce = resolve));
    const running = spawnProcess({
      // `node` itself, never a wrapper, so the PID held here is the server's and signals reach it.
      args: [...NODE_ARGS[this.mode], tier.entry[this.mode]],
      env: { ...process.env, HOST: '127.0.0.1', ...tier.env, PORT: String(tier.port ?? '') },
      // Its own process group: Ctrl-C reaches only this runner, which stops the tiers in order.
      detached: true,
      ipc: true,
      onLine: (line) => {
        if ('field' in ready) {
          const value = fieldOf(line, ready.field);
          if (value !== undefined) announce(value);
        }
        const text = formatLogLine(line);
        if (text !== undefined) say(tier.name, text);
      },
    });
    this.running = running;
    try {
      const deadlineMs = tier.name === 'web' ? 30_000 : 120_000;
      if ('path' in ready) {
        const url = `http://127.0.0.1:${tier.port}${ready.path}`;
        await waitUntilOk(url, running, { deadlineMs, pollMs: 200 });
      } else {
        this.announced = await untilAnnounced(announced, running, deadlineMs);
      }
    } catch (error) {
      if (this.running === running) this.running = undefined;
      await running.stop('SIGKILL');
      // The first line says why; the rest is output this terminal has already shown.
      throw new Error(`${tier.name} did not start: ${(error as Error).message.split('\n')[0]}`);
    }
    const where = tier.port === undefined ? '' : ` on port ${tier.port}`;
    say(tier.name, `ready${where} (pid ${running.pid})`);
    void running.exited.then(({ code, signal }) => {
      if (this.running !== running) return;
      this.running = undefined;
      say(tier.name, `exited (${signal ?? `code ${code}`})`);
      this.onUnexpectedExit(this);
    });
  }

  /** SIGTERM and wait (the tiers drain within 10 s); SIGKILL only if that overruns. */
  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.stop('SIGTERM', 15_000);
  }

  /** Last-resort cleanup while the runner itself is exiting: synchronous, no waiting. */
  killNow(): void {
    this.running?.child.kill('SIGTERM');
  }
}

/** A field of a JSON log line, when the line is one and has it as a string. */
function fieldOf(line: string, field: string): string | undefined {
  try {
    const value = (JSON.parse(line) as Record<string, unknown>)[field];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves with what the tier announced; throws if it exits first or time runs out. */
async function untilAnnounced(
  announced: Promise<string>,
  running: RunningProcess,
  deadlineMs: number,
): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const failure = Promise.race([
    running.exited.then(({ code, signal }) => `exited (${signal ?? `code ${code}`})`),
    new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`not ready within ${deadlineMs / 1000} s`), deadlineMs);
    }),
  ]).then((reason) => {
    throw new Error(`${reason}:\n${running.output()}`);
  });
  try {
    return await Promise.race([announced, failure]);
  } finally {
    clearTimeout(timer);
  }
}
