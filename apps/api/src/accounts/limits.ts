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

/**
 * Goal writes per account, counted in this instance's memory (a token bucket: a minute's
 * allowance at once, refilled evenly). Writes are the hot path, and a shared counter would
 * cost a database round trip on each; the hard bound on what an account can store is the
 * goal cap, which PostgreSQL enforces exactly. Behind N instances an account can write up to
 * N times the limit a minute.
 */
export class WriteLimiter {
  readonly #perMinute: number;
  readonly #buckets = new Map<number, Bucket>();

  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }

  /** Takes one write from the account's allowance, or throws 429 saying when to retry. */
  take(accountId: number): void {
    if (this.#perMinute === 0) return;
    const now = performance.now();
    const ratePerMs = this.#perMinute / 60_000;
    const bucket = this.#buckets.get(accountId) ?? { tokens: this.#perMinute, at: now };
    bucket.tokens = Math.min(this.#perMinute, bucket.tokens + (now - bucket.at) * ratePerMs);
    bucket.at = now;
    if (bucket.tokens < 1) {
      throw new TooManyRequestsError(
        `Too many changes to goals: at most ${this.#perMinute} a minute. Try again shortly.`,
        (1 - bucket.tokens) / ratePerMs / 1000,
      );
    }
    bucket.tokens -= 1;
    this.#buckets.delete(accountId);
    this.#buckets.set(accountId, bucket);
    // The least recently active account goes first; it had the longest to refill.
    if (this.#buckets.size > MAX_BUCKETS) {
      this.#buckets.delete(this.#buckets.keys().next().value as number);
    }
  }
}
