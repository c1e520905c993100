import { spawnProcess, waitUntilOk, type RunningProcess } from '@goal-tracker/test-support/process';
import { formatLogLine, say } from './log-lines.js';

export type StackMode = 'start' | 'dev';

export interface Tier {
  name: 'api' | 'web';
  port: number;
  readyPath: string;
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

  constructor(
    readonly tier: Tier,
    private readonly mode: StackMode,
    /** A tier that was ready has exited without being asked to. */
    private readonly onUnexpectedExit: (tier: TierProcess) => void,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.tier.port}`;
  }

  get pid(): number | undefined {
    return this.running?.pid;
  }

  async start(): Promise<void> {
    const { tier } = this;
    const running = spawnProcess({
      // `node` itself, never a wrapper, so the PID held here is the server's and signals reach it.
      args: [...NODE_ARGS[this.mode], tier.entry[this.mode]],
      env: { ...process.env, HOST: '127.0.0.1', ...tier.env, PORT: String(tier.port) },
      // Its own process group: Ctrl-C reaches only this runner, which stops the tiers in order.
      detached: true,
      ipc: true,
      onLine: (line) => {
        const text = formatLogLine(line);
        if (text !== undefined) say(tier.name, text);
      },
    });
    this.running = running;
    try {
      await waitUntilOk(`${this.url}${tier.readyPath}`, running, {
        deadlineMs: tier.name === 'api' ? 120_000 : 30_000,
        pollMs: 200,
      });
    } catch (error) {
      if (this.running === running) this.running = undefined;
      await running.stop('SIGKILL');
      // The first line says why; the rest is output this terminal has already shown.
      throw new Error(`${tier.name} did not start: ${(error as Error).message.split('\n')[0]}`);
    }
    say(tier.name, `ready on port ${tier.port} (pid ${running.pid})`);
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
