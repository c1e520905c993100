import { describe, expect, it } from 'vitest';
import { ChangeNotifier } from '../../src/caching/change-feed.js';
import type { Database } from '../../src/db/database.js';
import { silentLog } from '../helpers.js';

/**
 * A stand-in for the listener's connection and the pool: each NOTIFY waits until the test
 * finishes it (or fails it), and every one sent is recorded with its route.
 */
function fakeChannels(options: { listenerUp?: boolean } = {}) {
  const sent: { via: 'listener' | 'pool'; finish: (ok: boolean) => void }[] = [];
  const pending = (via: 'listener' | 'pool') =>
    new Promise<void>((resolve, reject) => {
      sent.push({
        via,
        finish: (ok) => (ok ? resolve() : reject(new Error('notify failed'))),
      });
    });
  const listener = {
    notify: () =>
      options.listenerUp === false
        ? Promise.reject(new Error('not listening'))
        : pending('listener'),
  };
  const db = {
    query: () => pending('pool').then(() => ({ rows: [], rowCount: 1 })),
  } as unknown as Pick<Database, 'query'>;
  return { listener, db, sent };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

function settled(promise: Promise<unknown>) {
  const state = { done: false };
  void promise.then(() => (state.done = true));
  return state;
}

describe('ChangeNotifier', () => {
  it('when writes announce while a NOTIFY is in flight, then they wait for one more, which they all share', async () => {
    const { listener, db, sent } = fakeChannels();
    const notifier = new ChangeNotifier(listener, db, 'goals_changed', 'me', silentLog);
    const first = settled(notifier.announce('g:1'));
    await tick();
    const later = Array.from({ length: 10 }, () => settled(notifier.announce('g:1')));
    await tick();
    expect(sent).toHaveLength(1);
    sent[0]?.finish(true);
    await tick();
    expect(first.done).toBe(true);
    // The first NOTIFY may have gone out before their writes committed: not enough for them.
    expect(later.some((state) => state.done)).toBe(false);
    expect(sent).toHaveLength(2);
    sent[1]?.finish(true);
    await tick();
    expect(later.every((state) => state.done)).toBe(true);
    expect(sent.map((notify) => notify.via)).toEqual(['listener', 'listener']);
    notifier.close();
  });

  it('when the listener is down, then the NOTIFY goes through the pool', async () => {
    const { listener, db, sent } = fakeChannels({ listenerUp: false });
    const notifier = new ChangeNotifier(listener, db, 'goals_changed', 'me', silentLog);
    const announced = notifier.announce('g:1');
    await tick();
    expect(sent.map((notify) => notify.via)).toEqual(['pool']);
    sent[0]?.finish(true);
    await announced;
    notifier.close();
  });

  it('when a NOTIFY fails, then the write is acknowledged at once and the NOTIFY is retried until one gets through', async () => {
    const { listener, db, sent } = fakeChannels({ listenerUp: false });
    const notifier = new ChangeNotifier(listener, db, 'goals_changed', 'me', silentLog, {
      retryDelayMs: 20,
    });
    const announced = settled(notifier.announce('g:1'));
    await tick();
    // The database is gone, say: the write must not wait for it to come back.
    sent[0]?.finish(false);
    await tick();
    expect(announced.done).toBe(true);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const deadline = Date.now() + 1000;
      while (sent.length < attempt + 2 && Date.now() < deadline) await tick();
      expect(sent).toHaveLength(attempt + 2);
      // Fails twice more in the background, then gets through; no more after that.
      sent[attempt + 1]?.finish(attempt === 2);
    }
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(sent).toHaveLength(4);
    notifier.close();
  });
});
