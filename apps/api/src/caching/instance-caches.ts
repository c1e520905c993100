import { randomUUID } from 'node:crypto';
import type { BaseLogger } from 'pino';
import type { AccountsRepository } from '../accounts/accounts-repository.js';
import type { Database } from '../db/database.js';
import {
  ChangeListener,
  ChangeNotifier,
  EchoWatch,
  EVERYTHING,
  GOALS_CHANNEL,
  notifyNow,
  parseChangePayload,
  type ChangeListenerOptions,
  type NotifierOptions,
} from './change-feed.js';
import { ReadCache, type ReadCacheStats } from './read-cache.js';
import type { GoalChange } from '../services/goals-service.js';
import { SessionCache, type SessionTimeouts } from './session-cache.js';

/**
 * The topic of a change to an account's goals: `g:ACCOUNT`, and with what changed,
 * `g:ACCOUNT:TYPE:GOAL` (so every instance can tell the account's event streams).
 */
export function goalsTopic(accountId: number, change?: GoalChange): string {
  return change ? `g:${accountId}:${change.type}:${change.goalId}` : `g:${accountId}`;
}

export interface InstanceCachesOptions {
  db: Database;
  accounts: Pick<AccountsRepository, 'useSession'>;
  sessionTimeouts: SessionTimeouts;
  log: Pick<BaseLogger, 'debug' | 'info' | 'warn'>;
  /** The list and summary cache; tests pass their own to drop it after changing rows in SQL. */
  cache?: ReadCache;
  listener?: ChangeListenerOptions;
  notifier?: NotifierOptions;
  /** Told of every NOTIFY heard (this instance's own too) and of the feed going up or down. */
  subscriber?: ChangeSubscriber;
}

/** What else lives on the change feed: the event streams (GET /goals/events). */
export interface ChangeSubscriber {
  heard(number: number | undefined, topics: readonly string[]): void;
  listening(up: boolean): void;
}

/**
 * What one API instance keeps in memory to answer without the database, and how it stays
 * true while several instances write: lists and summaries per account (ReadCache), live
 * sessions (SessionCache), and the change feed that tells every instance what changed.
 *
 * Both caches are trusted only while this instance LISTENs: its own writes drop what they
 * change at once, other instances' writes through a NOTIFY naming the accounts whose goals
 * (`g:ID`) or sessions (`s:ID`) changed, after the sender's id, which lets it skip its own.
 * This is the one seam: buildApp creates it, hands its parts out, and starts and closes it.
 */
export function instanceCaches(options: InstanceCachesOptions) {
  const { db, log } = options;
  const cache = options.cache ?? new ReadCache();
  const sessions = new SessionCache(options.accounts, options.sessionTimeouts);
  const instanceId = randomUUID();
  const echoes = new EchoWatch();

  const heard = (topics: readonly string[]) => {
    const ended = new Set<number>();
    for (const topic of topics) {
      if (topic === EVERYTHING) {
        cache.invalidate();
        sessions.forgetAll();
        return;
      }
      const accountId = Number(topic.split(':')[1]);
      if (topic.startsWith('g:')) cache.invalidate(accountId);
      else if (topic.startsWith('s:')) ended.add(accountId);
    }
    if (ended.size > 0) sessions.forgetAccounts(ended);
  };

  const listener = new ChangeListener(
    db,
    GOALS_CHANNEL,
    {
      onChange: (payload) => {
        const { number, sender, topics } = parseChangePayload(payload);
        options.subscriber?.heard(number, topics);
        if (sender === instanceId) echoes.heard(topics);
        else heard(topics);
      },
      onListening: (listening) => {
        cache.setLive(listening);
        sessions.setLive(listening);
        options.subscriber?.listening(listening);
        if (!listening) echoes.releaseAll();
      },
    },
    log,
    options.listener,
  );
  const notifier = new ChangeNotifier(
    listener,
    db,
    GOALS_CHANNEL,
    instanceId,
    log,
    options.notifier,
  );

  return {
    cache,
    sessions,

    /**
     * An account's goals changed here: drop what this instance kept of them; resolves once
     * the other instances have been told (never rejects).
     */
    async goalsChanged(accountId: number, change?: GoalChange): Promise<void> {
      cache.invalidate(accountId);
      await notifier.announce(goalsTopic(accountId, change));
    },

    /**
     * An account's sessions ended (and, with `goals`, its goals went): resolves once the
     * other instances have surely heard, so the token fails everywhere at once (EchoWatch).
     */
    async sessionsEnded(accountId: number, { goals = false } = {}): Promise<void> {
      sessions.forgetAccounts(new Set([accountId]));
      if (goals) cache.invalidate(accountId);
      const topics = goals ? [`s:${accountId}`, `g:${accountId}`] : [`s:${accountId}`];
      const echoed = topics.map((topic) => echoes.heardBack(topic, listener.listening));
      try {
        await notifyNow(db, GOALS_CHANNEL, instanceId, topics);
      } catch {
        // The database is away: the notifier keeps sending until one gets through.
        await Promise.all(topics.map((topic) => notifier.announce(topic)));
        return;
      }
      await Promise.all(echoed);
    },

    stats(): ReadCacheStats & { listening: boolean } {
      return { ...cache.stats(), listening: listener.listening };
    },

    start(): void {
      listener.start();
    },

    async close(): Promise<void> {
      notifier.close();
      await listener.close();
    },
  };
}

export type InstanceCaches = ReturnType<typeof instanceCaches>;
