import type { BaseLogger } from 'pino';
import type { GoalsRepository } from '../db/goals-repository.js';

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

/**
 * Deletes Idempotency-Keys older than a day, every hour, so the table stays the size of a
 * day's keyed creates. Each run walks the created_at index in bounded batches; instances
 * running it at once skip each other's rows. A run that fails (database away) is logged and
 * the next one tries again. Returns a function that stops it.
 */
export function pruneIdempotencyKeys(
  repository: GoalsRepository,
  log: Log,
  options: PruningOptions = {},
): () => void {
  const maxAgeSeconds = options.maxAgeSeconds ?? IDEMPOTENCY_KEY_MAX_AGE_SECONDS;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    repository.pruneIdempotencyKeys(maxAgeSeconds).then(
      (pruned) => {
        running = false;
        if (pruned > 0) log.info({ pruned }, 'pruned old idempotency keys');
      },
      (error: unknown) => {
        running = false;
        log.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'could not prune old idempotency keys; trying again later',
        );
      },
    );
  }, options.intervalMs ?? PRUNE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
