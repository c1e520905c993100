import type { BaseLogger } from 'pino';

type Log = Pick<BaseLogger, 'debug' | 'info' | 'warn'>;

export interface PruningOptions {
  /** How often old Idempotency-Keys are deleted. */
  intervalMs?: number;
  /** Age after which a key is forgotten (a retry with it would then create a new goal). */
  maxAgeSeconds?: number;
}

/** Retries come within minutes; a day leaves a wide margin. */
export const IDEMPOTENCY_KEY_MAX_AGE_SECONDS = 24 * 60 * 60;
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/** A table kept small: deletes what is past keeping (given the key age); says how many. */
export type Pruner = [what: string, prune: (maxAgeSeconds: number) => Promise<number>];

/**
 * Every hour, deletes what is past keeping: Idempotency-Keys older than a day (so the table
 * stays the size of a day's keyed creates), ended sessions, old sign-in attempts. Each run
 * walks an index in bounded batches; instances running it at once skip each other's rows. A
 * run that fails (database away) is logged and the next one tries again. Returns a function
 * that stops it.
 */
export function pruneRegularly(pruners: Pruner[], log: Log, options: PruningOptions = {}) {
  const maxAgeSeconds = options.maxAgeSeconds ?? IDEMPOTENCY_KEY_MAX_AGE_SECONDS;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void (async () => {
      for (const [what, prune] of pruners) {
        try {
          const pruned = await prune(maxAgeSeconds);
          if (pruned > 0) log.info({ pruned }, `pruned ${what}`);
        } catch (error) {
          log.warn(
            { err: error instanceof Error ? error.message : String(error) },
            `could not prune ${what}; trying again later`,
          );
        }
      }
      running = false;
    })();
  }, options.intervalMs ?? PRUNE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
