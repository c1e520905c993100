import { createHash } from 'node:crypto';

/** A response body ready to send, with its strong validator. */
export interface Representation {
  /** The value as JSON. */
  readonly body: Buffer;
  /** A hash of the body: equal on every instance for equal content, so it survives a balancer. */
  readonly etag: string;
}

export function represent(value: unknown): Representation {
  const body = Buffer.from(JSON.stringify(value));
  return { body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
}

export interface ReadCacheOptions {
  /** Most entries kept; the least recently used goes first. */
  maxEntries?: number;
  /** Most body bytes kept in all. */
  maxBytes?: number;
}

export interface ReadCacheStats {
  hits: number;
  misses: number;
  entries: number;
  bytes: number;
}

const MAX_ENTRIES = 64;
const MAX_BYTES = 2 * 1024 * 1024;

interface Loading {
  generation: number;
  promise: Promise<Representation>;
}

/**
 * Read results kept in memory as sent (JSON and ETag), bounded by entries and bytes (LRU).
 *
 * It is trusted only while it is `live`, that is while this instance hears about every
 * change made anywhere (its LISTEN connection is up); otherwise every read goes to the
 * database. A change to an account's goals drops what is kept of them; a read that began
 * before any change is never kept,
 * because the generation it began in is gone; concurrent misses of one key in one generation
 * share a single database read.
 */
export class ReadCache {
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Representation>();
  readonly #loading = new Map<string, Loading>();
  #bytes = 0;
  #generation = 0;
  #live = false;
  #hits = 0;
  #misses = 0;

  constructor(options: ReadCacheOptions = {}) {
    this.#maxEntries = options.maxEntries ?? MAX_ENTRIES;
    this.#maxBytes = options.maxBytes ?? MAX_BYTES;
  }

  get live(): boolean {
    return this.#live;
  }

  stats(): ReadCacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      entries: this.#entries.size,
      bytes: this.#bytes,
    };
  }

  /** An account's read named `name`, from memory, or `read()`'s result, kept if still current. */
  async get(
    accountId: number,
    name: string,
    read: () => Promise<unknown>,
  ): Promise<Representation> {
    const key = `${accountId}:${name}`;
    if (this.#live) {
      const hit = this.#entries.get(key);
      if (hit) {
        this.#hits += 1;
        // Most recently used last: Map keeps insertion order.
        this.#entries.delete(key);
        this.#entries.set(key, hit);
        return hit;
      }
      const loading = this.#loading.get(key);
      if (loading?.generation === this.#generation) return loading.promise;
    }
    this.#misses += 1;
    const generation = this.#generation;
    const promise = read().then((value) => {
      const representation = represent(value);
      if (this.#live && generation === this.#generation) this.#keep(key, representation);
      return representation;
    });
    if (this.#live) {
      this.#loading.set(key, { generation, promise });
      const forget = () => {
        if (this.#loading.get(key)?.promise === promise) this.#loading.delete(key);
      };
      promise.then(forget, forget);
    }
    return promise;
  }

  /**
   * An account's goals changed (or, with no account, anything may have): forget what was
   * kept of them, and every read still in flight.
   */
  invalidate(accountId?: number): void {
    this.#generation += 1;
    this.#loading.clear();
    if (accountId === undefined) {
      this.#entries.clear();
      this.#bytes = 0;
      return;
    }
    const prefix = `${accountId}:`;
    for (const [key, entry] of this.#entries) {
      if (!key.startsWith(prefix)) continue;
      this.#entries.delete(key);
      this.#bytes -= entry.body.length;
    }
  }

  /** Whether every change will be heard about from now on; either way, forget what was known. */
  setLive(live: boolean): void {
    this.#live = live;
    this.invalidate();
  }

  #keep(key: string, representation: Representation): void {
    const size = representation.body.length;
    if (size > this.#maxBytes) return;
    const previous = this.#entries.get(key);
    if (previous) {
      this.#entries.delete(key);
      this.#bytes -= previous.body.length;
    }
    this.#entries.set(key, representation);
    this.#bytes += size;
    for (const [oldest, evicted] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= evicted.body.length;
    }
  }
}
