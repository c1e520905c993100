import type { ServerResponse } from 'node:http';
import { GOAL_CHANGE_TYPES, type GoalEvent } from '@goal-tracker/contract';

export interface GoalEventStreamsOptions {
  /** How often an idle stream gets a comment: under the load balancer's 60 s idle timeout. */
  heartbeatMs?: number;
  /**
   * Most streams one account may hold open in one server process (WORKERS of them per
   * instance). The cap guards a process's sockets and memory, which are the process's own.
   */
  maxStreamsPerAccount?: number;
  /** Most events kept per account for replaying to a client that reconnects. */
  replayPerAccount?: number;
}

export const HEARTBEAT_MS = 20_000;
const MAX_STREAMS_PER_ACCOUNT = 10;
const REPLAY_PER_ACCOUNT = 100;
/** Event ids are the NOTIFY's number × this + the event's place in it. */
const EVENTS_PER_NOTIFY = 1000;
/** How soon a browser should reconnect after the stream ends. */
const RETRY_MS = 1000;

interface Sent {
  id: number;
  text: string;
}

interface Stream {
  response: ServerResponse;
  /** Events up to this id are the client's already (from Last-Event-ID, or sent here). */
  lastId: number;
}

function format(event: GoalEvent, id?: number): string {
  const idLine = id === undefined ? '' : `id: ${id}\n`;
  return `${idLine}event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

const RESET = format({ type: 'reset', id: null });
const CHANGE_TYPES: ReadonlySet<string> = new Set(GOAL_CHANGE_TYPES);

/**
 * The open GET /goals/events streams of this instance, fed by every NOTIFY of the change feed
 * (this instance's and the others'), so each account hears of changes made anywhere.
 *
 * An event's id comes from the NOTIFY's number, which goals_notify gives in commit order and
 * every instance hears alike, so a client can resume on any instance: the events after its
 * Last-Event-ID are replayed from the last ones kept per account, provided this instance heard
 * every NOTIFY since that id; otherwise the client is sent `reset` and reloads its list.
 */
export class GoalEventStreams {
  readonly #heartbeatMs: number;
  readonly #maxStreams: number;
  readonly #replayPerAccount: number;
  readonly #streams = new Map<number, Set<Stream>>();
  readonly #replay = new Map<number, Sent[]>();
  /** Per account: the highest id dropped from its replay window. */
  readonly #dropped = new Map<number, number>();
  /** The first numbered NOTIFY heard since listening began: all later ones were heard too. */
  #heardSince: number | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(options: GoalEventStreamsOptions = {}) {
    this.#heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
    this.#maxStreams = options.maxStreamsPerAccount ?? MAX_STREAMS_PER_ACCOUNT;
    this.#replayPerAccount = options.replayPerAccount ?? REPLAY_PER_ACCOUNT;
  }

  /** Whether the account may open one more stream here. */
  hasRoom(accountId: number): boolean {
    return (this.#streams.get(accountId)?.size ?? 0) < this.#maxStreams;
  }

  /**
   * Starts sending the account's events on `response` (headers already written): first those
   * missed since `lastEventId`, or `reset` when they cannot be told.
   */
  open(accountId: number, response: ServerResponse, lastEventId: string | undefined): void {
    const stream: Stream = { response, lastId: 0 };
    response.write(`retry: ${RETRY_MS}\n\n`);
    if (lastEventId !== undefined) {
      const lastId = /^[0-9]{1,15}$/.test(lastEventId) ? Number(lastEventId) : undefined;
      if (lastId !== undefined && this.#canReplayAfter(accountId, lastId)) {
        stream.lastId = lastId;
        for (const sent of this.#replay.get(accountId) ?? []) this.#send(stream, sent);
      } else {
        response.write(RESET);
      }
    }
    const streams = this.#streams.get(accountId) ?? new Set();
    this.#streams.set(accountId, streams);
    streams.add(stream);
    response.once('close', () => {
      streams.delete(stream);
      if (streams.size === 0 && this.#streams.get(accountId) === streams) {
        this.#streams.delete(accountId);
      }
      if (this.#streams.size === 0) this.#stopHeartbeat();
    });
    this.#startHeartbeat();
  }

  /** A NOTIFY of the change feed arrived (from any instance, this one included). */
  heard(number: number | undefined, topics: readonly string[]): void {
    if (topics.includes('*')) {
      // Too many changes for one NOTIFY: nobody can be told what they were.
      this.#forgetReplay();
      for (const streams of this.#streams.values())
        for (const { response } of streams) response.write(RESET);
      return;
    }
    if (number !== undefined) this.#heardSince ??= number;
    const places = new Map<number, number>();
    for (const topic of topics) {
      const [kind, account, type, goal] = topic.split(':');
      const accountId = Number(account);
      if (kind === 's') this.#endAccount(accountId);
      if (kind !== 'g') continue;
      const place = places.get(accountId) ?? 0;
      places.set(accountId, place + 1);
      const known = type !== undefined && CHANGE_TYPES.has(type) && goal !== undefined;
      const event = known
        ? ({ type, id: Number(goal) } as GoalEvent)
        : ({ type: 'changed', id: null } as GoalEvent);
      this.#publish(
        accountId,
        event,
        number === undefined ? undefined : number * EVENTS_PER_NOTIFY + place,
      );
    }
  }

  /**
   * The change feed's connection went down or came back: NOTIFYs in between were missed, so
   * nothing kept can be replayed, and every open stream is told to reload.
   */
  listening(up: boolean): void {
    this.#forgetReplay();
    if (!up) return;
    for (const streams of this.#streams.values())
      for (const { response } of streams) response.write(RESET);
  }

  /** Ends every stream (shutdown): clients reconnect, to another instance. */
  closeAll(): void {
    this.#stopHeartbeat();
    for (const streams of this.#streams.values())
      for (const { response } of streams) response.end();
    this.#streams.clear();
  }

  #canReplayAfter(accountId: number, lastId: number): boolean {
    const number = Math.floor(lastId / EVENTS_PER_NOTIFY);
    return (
      this.#heardSince !== undefined &&
      number >= this.#heardSince &&
      (this.#dropped.get(accountId) ?? -1) <= lastId
    );
  }

  #publish(accountId: number, event: GoalEvent, id: number | undefined): void {
    const sent = { id: id ?? 0, text: format(event, id) };
    if (id !== undefined) {
      const kept = this.#replay.get(accountId) ?? [];
      this.#replay.set(accountId, kept);
      kept.push(sent);
      if (kept.length > this.#replayPerAccount) {
        this.#dropped.set(accountId, (kept.shift() as Sent).id);
      }
    }
    for (const stream of this.#streams.get(accountId) ?? []) {
      if (id === undefined) stream.response.write(sent.text);
      else this.#send(stream, sent);
    }
  }

  #send(stream: Stream, sent: Sent): void {
    if (sent.id <= stream.lastId) return;
    stream.lastId = sent.id;
    stream.response.write(sent.text);
  }

  /** The account's sessions ended or changed: its streams end, and reconnect only signed in. */
  #endAccount(accountId: number): void {
    for (const { response } of this.#streams.get(accountId) ?? []) response.end();
  }

  #forgetReplay(): void {
    this.#heardSince = undefined;
    this.#replay.clear();
    this.#dropped.clear();
  }

  #startHeartbeat(): void {
    if (this.#heartbeat) return;
    this.#heartbeat = setInterval(() => {
      for (const streams of this.#streams.values()) {
        for (const { response } of streams) response.write(': heartbeat\n\n');
      }
    }, this.#heartbeatMs);
    this.#heartbeat.unref();
  }

  #stopHeartbeat(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }
}
