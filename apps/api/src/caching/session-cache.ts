import type { Account } from '@goal-tracker/contract';
import { LruMap } from '@goal-tracker/server-kit';
import type { AccountsRepository } from '../accounts/accounts-repository.js';
import { SESSION_TOKEN_PATTERN, sha256 } from '../accounts/secrets.js';

export interface SessionTimeouts {
  /** A session ends this long after it began, used or not. */
  absoluteSeconds: number;
  /** A session ends once unused this long. */
  idleSeconds: number;
}

interface Known {
  account: Account;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** When this instance last recorded a use in the database. */
  recordedAt: number;
}

/** A use is written to the database at most this often, so the idle expiry is minutes exact. */
const RECORD_USE_EVERY_MS = 60_000;
const MAX_ENTRIES = 10_000;

/**
 * Tells which account a session token belongs to, without a database round trip per request:
 * live sessions are remembered by token hash. The memory is trusted only while this instance
 * hears every session ended anywhere (its LISTEN connection is up): an ended session is then
 * forgotten on every instance before the request that ended it is answered. Otherwise every
 * token is checked in the database.
 */
export class SessionCache {
  readonly #repository: Pick<AccountsRepository, 'useSession'>;
  readonly #timeouts: SessionTimeouts;
  readonly #known = new LruMap<string, Known>(MAX_ENTRIES);
  #live = false;
  /** Bumped whenever sessions are forgotten, so a check in flight then is not remembered. */
  #generation = 0;

  constructor(repository: Pick<AccountsRepository, 'useSession'>, timeouts: SessionTimeouts) {
    this.#repository = repository;
    this.#timeouts = timeouts;
  }

  /** The account a token signs in, or undefined for a malformed, unknown or ended session. */
  async accountFor(token: string): Promise<Account | undefined> {
    if (!SESSION_TOKEN_PATTERN.test(token)) return undefined;
    const tokenHash = sha256(token);
    const key = tokenHash.toString('base64');
    const now = Date.now();
    const known = this.#live ? this.#known.get(key) : undefined;
    if (
      known &&
      now < known.expiresAt &&
      now - known.recordedAt < this.#timeouts.idleSeconds * 1000
    ) {
      if (now - known.recordedAt >= RECORD_USE_EVERY_MS) {
        known.recordedAt = now;
        // The idle clock restarts in the database too; a session found gone is forgotten.
        void this.#check(key, tokenHash, now).catch(() => undefined);
      }
      return known.account;
    }
    return this.#check(key, tokenHash, now);
  }

  async #check(key: string, tokenHash: Buffer, now: number): Promise<Account | undefined> {
    const generation = this.#generation;
    const session = await this.#repository.useSession(tokenHash, this.#timeouts.idleSeconds);
    if (!session) {
      this.#known.delete(key);
      return undefined;
    }
    if (this.#live && generation === this.#generation) {
      this.#known.set(key, { ...session, recordedAt: now });
    }
    return session.account;
  }

  /** The sessions of these accounts ended or changed somewhere: forget them. */
  forgetAccounts(accountIds: ReadonlySet<number>): void {
    this.#generation += 1;
    for (const [key, known] of this.#known) {
      if (accountIds.has(known.account.id)) this.#known.delete(key);
    }
  }

  forgetAll(): void {
    this.#generation += 1;
    this.#known.clear();
  }

  /** Whether every ended session will be heard about from now on; either way, forget. */
  setLive(live: boolean): void {
    this.#live = live;
    this.forgetAll();
  }
}
