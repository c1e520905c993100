import { askPrimary, LruMap } from '@goal-tracker/server-kit';
import { AppError } from '../errors.js';

/** The abuse limits; 0 turns one off. Each is an environment variable of the API. */
export interface AbuseLimits {
  /** SIGNIN_FAILURES_PER_EMAIL: failed sign-ins for one email per 15 minutes. */
  signinFailuresPerEmail: number;
  /** SIGNIN_FAILURES_PER_ADDRESS: failed sign-ins from one client address per 15 minutes. */
  signinFailuresPerAddress: number;
  /** SIGNUPS_PER_ADDRESS_PER_HOUR: sign-ups from one client address per hour. */
  signupsPerAddressPerHour: number;
  /** GOAL_WRITES_PER_MINUTE: creates, changes and deletes of goals per account per minute. */
  goalWritesPerMinute: number;
  /** GOALS_PER_ACCOUNT: most goals one account may hold. */
  goalsPerAccount: number;
}

export const DEFAULT_LIMITS: AbuseLimits = {
  signinFailuresPerEmail: 5,
  signinFailuresPerAddress: 20,
  signupsPerAddressPerHour: 10,
  goalWritesPerMinute: 120,
  goalsPerAccount: 10_000,
};

export const SIGNIN_WINDOW_SECONDS = 15 * 60;
export const SIGNUP_WINDOW_SECONDS = 60 * 60;

export class TooManyRequestsError extends AppError {
  constructor(detail: string, retryAfterSeconds: number) {
    super(429, 'Too Many Requests', detail, {
      retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)),
    });
  }
}

interface Bucket {
  tokens: number;
  /** performance.now() of the last refill. */
  at: number;
}

const MAX_BUCKETS = 100_000;

/** Takes one goal write from an account's allowance, or throws 429 saying when to retry. */
export interface GoalWriteLimiter {
  take(accountId: number): void | Promise<void>;
}

function tooManyWrites(perMinute: number, retryAfterSeconds: number): TooManyRequestsError {
  return new TooManyRequestsError(
    `Too many changes to goals: at most ${perMinute} a minute. Try again shortly.`,
    retryAfterSeconds,
  );
}

/**
 * Goal writes per account, counted in memory (a token bucket: a minute's allowance at once,
 * refilled evenly). Writes are the hot path, and a shared counter would cost a database round
 * trip on each; the hard bound on what an account can store is the goal cap, which PostgreSQL
 * enforces exactly. One bucket per instance: with WORKERS above 1 it lives in the primary and
 * the workers ask it (PrimaryWriteLimiter). Behind N instances an account can write up to N
 * times the limit a minute.
 */
export class WriteLimiter implements GoalWriteLimiter {
  readonly #perMinute: number;
  readonly #buckets = new LruMap<number, Bucket>(MAX_BUCKETS);

  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }

  take(accountId: number): void {
    const wait = this.secondsToWait(accountId);
    if (wait > 0) throw tooManyWrites(this.#perMinute, wait);
  }

  /** Takes one write and answers 0, or answers how long until one is allowed. */
  secondsToWait(accountId: number): number {
    if (this.#perMinute === 0) return 0;
    const now = performance.now();
    const ratePerMs = this.#perMinute / 60_000;
    const bucket = this.#buckets.get(accountId) ?? { tokens: this.#perMinute, at: now };
    bucket.tokens = Math.min(this.#perMinute, bucket.tokens + (now - bucket.at) * ratePerMs);
    bucket.at = now;
    if (bucket.tokens < 1) return (1 - bucket.tokens) / ratePerMs / 1000;
    bucket.tokens -= 1;
    // Past MAX_BUCKETS the least recently active account goes first: it had longest to refill.
    this.#buckets.set(accountId, bucket);
    return 0;
  }
}

/** The name the primary answers goal-write questions by (see WriteLimiter.secondsToWait). */
export const GOAL_WRITE_QUESTION = 'goal-write';

/**
 * A cluster worker's limiter: the instance's one WriteLimiter is in the primary, a message
 * away (tens of microseconds), so the limit holds per instance whatever the number of workers.
 */
export class PrimaryWriteLimiter implements GoalWriteLimiter {
  readonly #perMinute: number;

  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }

  async take(accountId: number): Promise<void> {
    if (this.#perMinute === 0) return;
    const wait = Number(await askPrimary(GOAL_WRITE_QUESTION, accountId));
    if (wait > 0) throw tooManyWrites(this.#perMinute, wait);
  }
}
