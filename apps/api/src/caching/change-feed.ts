import type pg from 'pg';
import type { BaseLogger } from 'pino';
import type { Database, Statement } from '../db/database.js';

type Log = Pick<BaseLogger, 'debug' | 'info' | 'warn'>;

/** The channel every API instance LISTENs on and NOTIFYs after each write to the goals. */
export const GOALS_CHANNEL = 'goals_changed';

/** A topic that stands for every other: whatever was learnt from the database is stale. */
export const EVERYTHING = '*';
/** A NOTIFY payload must stay under 8000 bytes; past this the topics become EVERYTHING. */
const MAX_PAYLOAD = 7000;

/** A NOTIFY payload: the sender, then the topics that changed, space-separated. */
export function changePayload(sender: string, topics: Iterable<string>): string {
  const payload = [sender, ...topics].join(' ');
  return payload.length <= MAX_PAYLOAD ? payload : `${sender} ${EVERYTHING}`;
}

/**
 * A NOTIFY payload as heard: `#NUMBER` first when goals_notify sent it (migration 010), then
 * the sender and the topics.
 */
export function parseChangePayload(payload: string): {
  number: number | undefined;
  sender: string;
  topics: string[];
} {
  const words = payload.split(' ');
  const number = words[0]?.startsWith('#') ? Number(words.shift()?.slice(1)) : undefined;
  const [sender = '', ...topics] = words;
  return { number: Number.isSafeInteger(number) ? number : undefined, sender, topics };
}

export interface ChangeListenerHandlers {
  /** A NOTIFY arrived on the channel; `payload` is what the sender passed. */
  onChange(payload: string): void;
  /**
   * The listening connection is up (true: LISTEN is in place) or down (false). Changes made
   * while it was down were never heard, so whatever was learnt before must be forgotten.
   */
  onListening(listening: boolean): void;
}

export interface ChangeListenerOptions {
  /** Pause between connection attempts while the database is away. */
  reconnectDelayMs?: number;
  /** How often the idle connection is checked, so a silently dead one is noticed. */
  heartbeatMs?: number;
}

const notifyStatement: Statement = { name: 'notify', text: 'SELECT pg_notify($1, $2)' };
/** A NOTIFY numbered in commit order (goals_notify, migration 010), for the event streams. */
const numberedNotifyStatement: Statement = {
  name: 'notify-numbered',
  text: 'SELECT goals_notify($1, $2)',
};

const RECONNECT_DELAY_MS = 250;
const HEARTBEAT_MS = 5000;

/**
 * LISTENs on a channel over a dedicated connection (outside the pool) for as long as it runs,
 * connecting again after any loss: a database restart, a terminated backend, a dead socket
 * (found by a heartbeat query). It says when it starts and stops listening, so a cache built
 * on its notifications is trusted only while no notification can have been missed.
 */
export class ChangeListener {
  readonly #db: Database;
  readonly #channel: string;
  readonly #handlers: ChangeListenerHandlers;
  readonly #log: Log;
  readonly #reconnectDelayMs: number;
  readonly #heartbeatMs: number;
  #client: pg.Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #listening = false;
  #stopped = false;

  constructor(
    db: Database,
    channel: string,
    handlers: ChangeListenerHandlers,
    log: Log,
    options: ChangeListenerOptions = {},
  ) {
    this.#db = db;
    this.#channel = channel;
    this.#handlers = handlers;
    this.#log = log;
    this.#reconnectDelayMs = options.reconnectDelayMs ?? RECONNECT_DELAY_MS;
    this.#heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  }

  get listening(): boolean {
    return this.#listening;
  }

  start(): void {
    void this.#connect();
  }

  /**
   * Sends a numbered NOTIFY on the channel over the listening connection, which no shortage of pooled
   * connections can hold up. Rejects when that connection is not up (or fails doing it).
   */
  async notify(payload: string): Promise<void> {
    const client = this.#listening ? this.#client : undefined;
    if (!client) throw new Error('the change listener is not connected');
    try {
      await client.query({
        ...numberedNotifyStatement,
        values: [this.#channel, payload],
        query_timeout: this.#heartbeatMs,
      } as pg.QueryConfig);
    } catch (error) {
      this.#lost(client);
      throw error;
    }
  }

  async close(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    this.#setListening(false);
    await client?.end().catch(() => undefined);
  }

  #setListening(listening: boolean): void {
    if (this.#listening === listening) return;
    this.#listening = listening;
    this.#handlers.onListening(listening);
  }

  #schedule(next: () => Promise<void>, delayMs: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void next(), delayMs);
    this.#timer.unref();
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    let client: pg.Client;
    try {
      client = await this.#db.connectClient('listener');
    } catch {
      this.#schedule(() => this.#connect(), this.#reconnectDelayMs);
      return;
    }
    if (this.#stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    client.on('notification', (message) => {
      if (message.channel === this.#channel) this.#handlers.onChange(message.payload ?? '');
    });
    client.once('error', () => this.#lost(client));
    client.once('end', () => this.#lost(client));
    try {
      await client.query(`LISTEN ${this.#channel}`);
    } catch {
      this.#lost(client);
      return;
    }
    if (this.#client !== client) return;
    this.#log.debug({ channel: this.#channel }, 'listening for changes');
    this.#setListening(true);
    this.#schedule(() => this.#heartbeat(client), this.#heartbeatMs);
  }

  async #heartbeat(client: pg.Client): Promise<void> {
    if (this.#client !== client) return;
    try {
      await client.query({ text: 'SELECT 1', query_timeout: this.#heartbeatMs } as pg.QueryConfig);
    } catch {
      this.#lost(client);
      return;
    }
    this.#schedule(() => this.#heartbeat(client), this.#heartbeatMs);
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#setListening(false);
    client.end().catch(() => undefined);
    if (this.#stopped) return;
    this.#log.debug({ channel: this.#channel }, 'change listener disconnected; reconnecting');
    this.#schedule(() => this.#connect(), this.#reconnectDelayMs);
  }
}

export interface NotifierOptions {
  /** Pause before sending again after a NOTIFY failed. */
  retryDelayMs?: number;
}

/**
 * NOTIFYs the other instances after writes, with few statements for many writes: a NOTIFY
 * takes a database-wide lock across its commit, so one per write would serialise them all.
 * A call resolves once a NOTIFY that began after the call, and names its topic, has
 * committed, so a write is acknowledged only after the other instances were told; concurrent
 * calls share that NOTIFY, which names all their topics.
 *
 * It goes over the listener's own connection, so a busy pool cannot hold it up, and through
 * the pool only when that connection is down. It never rejects, and never waits for more
 * than one attempt: the write it follows is committed whatever happens here, and a NOTIFY
 * fails mostly when the database is gone, when the other instances' listeners are down too
 * and they serve nothing from memory. A NOTIFY that fails is logged and sent again in the
 * background until one gets through.
 */
export class ChangeNotifier {
  readonly #send: (topics: ReadonlySet<string>) => Promise<void>;
  readonly #log: Log;
  /** Topics for the next NOTIFY. */
  #topics = new Set<string>();
  readonly #retryDelayMs: number;
  #running: Promise<boolean> | undefined;
  #next: Promise<boolean> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #failing = false;
  #closed = false;

  constructor(
    listener: Pick<ChangeListener, 'notify'>,
    db: Pick<Database, 'query'>,
    channel: string,
    sender: string,
    log: Log,
    options: NotifierOptions = {},
  ) {
    this.#send = async (topics) => {
      const payload = changePayload(sender, topics);
      try {
        await listener.notify(payload);
      } catch {
        await db.query(numberedNotifyStatement, [channel, payload], { idempotent: true });
      }
    };
    this.#log = log;
    this.#retryDelayMs = options.retryDelayMs ?? 500;
  }

  /** Tells the other instances that `topic` changed; see the class comment. */
  async announce(topic: string): Promise<void> {
    if (this.#closed) return;
    this.#topics.add(topic);
    if (!this.#next && !this.#running) {
      await this.#run();
      return;
    }
    // The NOTIFY in flight may have been sent before this caller's write committed: wait for
    // the next one, which every caller arriving meanwhile shares.
    this.#next ??= (this.#running ?? Promise.resolve(true)).then(() => {
      this.#next = undefined;
      return this.#run();
    });
    await this.#next;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
  }

  #run(): Promise<boolean> {
    const topics = this.#topics;
    this.#topics = new Set();
    const run: Promise<boolean> = this.#send(topics)
      .then(
        () => {
          if (this.#failing) this.#log.info('notifying the other instances of changes again');
          this.#failing = false;
          clearTimeout(this.#retry);
          this.#retry = undefined;
          return true;
        },
        (error: unknown) => {
          if (!this.#failing) {
            this.#log.warn(
              { err: error instanceof Error ? error.message : String(error) },
              'cannot notify the other instances of a change; retrying until it gets through',
            );
          }
          this.#failing = true;
          // Sent again with the next NOTIFY, whoever calls for it.
          for (const topic of topics) this.#topics.add(topic);
          this.#scheduleRetry();
          return false;
        },
      )
      .finally(() => {
        if (this.#running === run) this.#running = undefined;
      });
    this.#running = run;
    return run;
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.announce(EVERYTHING);
    }, this.#retryDelayMs);
    this.#retry.unref();
  }
}

const ECHO_WAIT_MS = 1000;

/**
 * Sends one NOTIFY now, over a pooled connection: not the listening one, so that its echo
 * comes back to this instance the way it reaches every other (see EchoWatch).
 */
export async function notifyNow(
  db: Pick<Database, 'query'>,
  channel: string,
  sender: string,
  topics: readonly string[],
): Promise<void> {
  await db.query(notifyStatement, [channel, changePayload(sender, topics)], { idempotent: true });
}

/**
 * Waits until this instance's own NOTIFY of a topic, sent over another connection, comes back
 * over its LISTEN connection. PostgreSQL signals every listening connection alike when the
 * NOTIFY commits; once the echo is back here, the other instances' connections have had it as
 * long, so a request reaching another instance after the reply finds it already heard. Used
 * where "at once" matters: an ended session must not work on another instance a moment later.
 */
export class EchoWatch {
  readonly #waiting = new Map<string, Set<() => void>>();

  /** Resolves on the echo of `topic`, at once when not listening, and after a second at most. */
  heardBack(topic: string, listening: boolean): Promise<void> {
    if (!listening) return Promise.resolve();
    return new Promise((resolve) => {
      const waiters = this.#waiting.get(topic) ?? new Set();
      this.#waiting.set(topic, waiters);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiting.get(topic) === waiters) this.#waiting.delete(topic);
        resolve();
      };
      const timer = setTimeout(done, ECHO_WAIT_MS);
      timer.unref();
      waiters.add(done);
    });
  }

  /** This instance's own notification came back with these topics. */
  heard(topics: readonly string[]): void {
    const all = topics.includes(EVERYTHING);
    for (const [topic, waiters] of [...this.#waiting]) {
      if (all || topics.includes(topic)) for (const done of [...waiters]) done();
    }
  }

  /** Not listening any more: nothing will come back. */
  releaseAll(): void {
    for (const waiters of [...this.#waiting.values()]) for (const done of [...waiters]) done();
  }
}
