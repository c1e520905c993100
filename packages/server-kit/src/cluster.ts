import cluster, { type Worker } from 'node:cluster';
import { pino, type BaseLogger } from 'pino';
import {
  isClusterMessage as ours,
  KEY,
  type ClusterMessage as Message,
} from './cluster-messages.js';
import { CrashBackoff } from './crash-backoff.js';
import type { LogLevel } from './environment.js';
import { handleShutdown, SHUTDOWN_DEADLINE_MS } from './shutdown.js';

/**
 * One server process per vCPU (node:cluster): one Node process uses one core, so on a
 * 2-vCPU instance a single saturated process reads 50 % CPU and a 70 % scale-out alarm
 * never fires. The primary forks the workers, replaces one that dies, and stops them all on
 * SIGTERM; the workers share the listening socket and run the tier as one process would.
 */

/**
 * A worker that dies is replaced after 1, 2, 4, 8 and 16 s; a sixth death in a row stops the
 * primary with exit code 1 (the orchestrator then replaces the whole instance).
 */
export const WORKER_RESTART_DELAYS_MS = [1_000, 2_000, 4_000, 8_000, 16_000] as const;

type Log = Pick<BaseLogger, 'info' | 'warn' | 'error' | 'fatal'>;

/** What the primary does besides forking: what must happen once per instance. */
export interface PrimaryRole {
  /** Questions the workers ask with askPrimary(), by name; the answer (or its promise) is JSON. */
  answers?: Record<string, (question: unknown) => unknown>;
}

export interface ServeOptions {
  /** WORKERS: 1 runs `serve` in this process, with no primary at all. */
  workers: number;
  /** The primary's log, or the level of a plain pino one made here. */
  log: Log | LogLevel;
  /** The server as a single process runs it: everything main.ts does once config is read. */
  serve(): Promise<void>;
  primary?: PrimaryRole;
  restartDelaysMs?: readonly number[];
}

function send(to: { send?: (message: Message) => unknown } | Worker, message: Message): void {
  // A worker whose channel is already closed is on its way out; nobody awaits this.
  try {
    to.send?.(message);
  } catch {
    // ignored: see above
  }
}

/** True in a worker forked by serveWithWorkers (false with WORKERS=1, or in the primary). */
export function isWorker(): boolean {
  return cluster.isWorker;
}

/**
 * Runs the server with `workers` processes, or, with WORKERS=1, as the one process it always
 * was. In a worker this runs `serve`; in the primary it forks, supervises and stops them.
 */
export async function serveWithWorkers(options: ServeOptions): Promise<void> {
  if (options.workers <= 1 || cluster.isWorker) return options.serve();
  superviseWorkers(options);
}

/** The worker is up (the API: migrated and ready): its next death is a crash, not a failed start. */
export function announceReady(): void {
  if (cluster.isWorker) send(process, { [KEY]: 'up' });
}

/**
 * In a worker, calls the primary's answer named `name` and resolves with what it returns (it
 * rejects if the primary threw). For state that must be one per instance, not per process.
 */
export function askPrimary(name: string, question: unknown): Promise<unknown> {
  if (!cluster.isWorker) return Promise.reject(new Error('askPrimary: not a cluster worker'));
  return questions.ask(name, question);
}

/** The worker's side of askPrimary: outstanding questions by id. */
const questions = new (class {
  #next = 0;
  readonly #waiting = new Map<
    number,
    { resolve(value: unknown): void; reject(error: Error): void }
  >();
  #listening = false;

  ask(name: string, question: unknown): Promise<unknown> {
    if (!this.#listening) {
      this.#listening = true;
      process.on('message', (message) => {
        if (!ours(message) || message[KEY] !== 'answer' || message.id === undefined) return;
        const waiting = this.#waiting.get(message.id);
        this.#waiting.delete(message.id);
        if (message.error !== undefined) waiting?.reject(new Error(message.error));
        else waiting?.resolve(message.answer);
      });
      process.once('disconnect', () => {
        for (const waiting of this.#waiting.values()) waiting.reject(new Error('primary gone'));
        this.#waiting.clear();
      });
    }
    const id = (this.#next += 1);
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      send(process, { [KEY]: 'ask', id, name, question });
    });
  }
})();

interface Slot {
  worker: Worker | undefined;
  /** The worker has announced that it is ready. */
  ready: boolean;
  backoff: CrashBackoff;
  timer: NodeJS.Timeout | undefined;
}

function superviseWorkers(options: ServeOptions): void {
  const { primary = {} } = options;
  const log = typeof options.log === 'string' ? pino({ level: options.log }) : options.log;
  const delays = options.restartDelaysMs ?? WORKER_RESTART_DELAYS_MS;
  const slots: Slot[] = Array.from({ length: options.workers }, () => ({
    worker: undefined,
    ready: false,
    backoff: new CrashBackoff(delays),
    timer: undefined,
  }));
  let stopping = false;
  let anyReady = false;
  let unclean = 0;
  const exits = new Map<Worker, Promise<void>>();

  const shutdown = handleShutdown({
    log,
    // The workers' own deadline runs out first: a worker that overruns exits 1 on its own.
    deadlineMs: SHUTDOWN_DEADLINE_MS + 500,
    async close() {
      stopping = true;
      for (const slot of slots) clearTimeout(slot.timer);
      for (const { worker, ready } of slots) {
        // One still starting may not listen for the message yet; a signal reaches it anyway.
        if (worker && ready) send(worker, { [KEY]: 'stop' });
        else worker?.process.kill('SIGTERM');
      }
      await Promise.all(exits.values());
      if (unclean > 0) throw new Error(`${unclean} worker(s) did not stop cleanly`);
    },
  });

  const fork = (slot: Slot) => {
    slot.timer = undefined;
    if (stopping) return;
    const worker = cluster.fork();
    slot.worker = worker;
    slot.ready = false;
    const pid = worker.process.pid;
    log.info({ workerPid: pid }, 'worker started');
    worker.on('message', (message) => {
      if (!ours(message)) return;
      if (message[KEY] === 'up') {
        anyReady = true;
        slot.ready = true;
        slot.backoff.started();
        log.info({ workerPid: pid }, 'worker ready');
      } else if (message[KEY] === 'ask') {
        answer(worker, message);
      }
    });
    exits.set(
      worker,
      new Promise((resolve) => {
        worker.once('exit', (code, signal) => {
          exits.delete(worker);
          if (slot.worker === worker) slot.worker = undefined;
          resolve();
          if (stopping) {
            // One still starting may die of the signal before it handles it: it served nothing.
            const stoppedStarting = !slot.ready && signal === 'SIGTERM';
            if (code !== 0 && !stoppedStarting) unclean += 1;
            return;
          }
          onDeath(slot, pid, code, signal);
        });
      }),
    );
  };

  const onDeath = (
    slot: Slot,
    pid: number | undefined,
    code: number | null,
    signal: string | null,
  ) => {
    log.error({ workerPid: pid, code, signal }, 'worker exited unexpectedly');
    // Before any worker came up, a death is a failed start (bad settings, a failing migration):
    // every worker shares the code, settings and database, so another would fail alike.
    if (!anyReady) {
      shutdown.fail('a worker failed to start');
      return;
    }
    const next = slot.backoff.crashed();
    if (!next) {
      log.fatal({ crashes: slot.backoff.limit + 1 }, 'workers keep dying; stopping');
      shutdown.fail('workers keep dying');
      return;
    }
    log.warn(
      { delayMs: next.delayMs, crash: next.crash },
      `starting a new worker in ${next.delayMs / 1000} s`,
    );
    slot.timer = setTimeout(() => fork(slot), next.delayMs);
  };

  const answer = (worker: Worker, message: Message) => {
    const reply = (fields: Partial<Message>) =>
      send(worker, { [KEY]: 'answer', id: message.id, ...fields });
    const handler = message.name === undefined ? undefined : primary.answers?.[message.name];
    if (!handler) return reply({ error: `no answer named ${String(message.name)}` });
    const failed = (error: unknown) =>
      reply({ error: error instanceof Error ? error.message : String(error) });
    try {
      Promise.resolve(handler(message.question)).then(
        (answer) => reply({ answer: answer ?? null }),
        failed,
      );
    } catch (error) {
      failed(error);
    }
  };

  if (shutdown.stopping) return;
  log.info({ workers: options.workers }, 'starting workers');
  for (const slot of slots) fork(slot);
}
