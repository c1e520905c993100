import { describe, expect, it } from 'vitest';
import { ReadCache } from '../../src/caching/read-cache.js';

/** A read the test finishes by hand, counting how often it was started. */
function controlledRead(value: unknown = { n: 1 }) {
  let finish: () => void = () => undefined;
  const state = { calls: 0 };
  const read = () => {
    state.calls += 1;
    return new Promise<unknown>((resolve) => {
      finish = () => resolve(value);
    });
  };
  return { read, state, finish: () => finish() };
}

const instant = (value: unknown) => () => Promise.resolve(value);

function liveCache(options: ConstructorParameters<typeof ReadCache>[0] = {}) {
  const cache = new ReadCache(options);
  cache.setLive(true);
  return cache;
}

describe('ReadCache', () => {
  it('when it is live, then a second read of a key is served from memory, with the same body and ETag', async () => {
    const cache = liveCache();
    let reads = 0;
    const read = () => {
      reads += 1;
      return Promise.resolve({ goals: [], next: null });
    };
    const first = await cache.get(1, 'k', read);
    const second = await cache.get(1, 'k', read);
    expect(reads).toBe(1);
    expect(second).toBe(first);
    expect(first.body.toString()).toBe('{"goals":[],"next":null}');
    expect(first.etag).toMatch(/^"[\w-]{27}"$/);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, entries: 1 });
  });

  it('when it is not live (no listener), then every read goes to the source and nothing is kept', async () => {
    const cache = new ReadCache();
    let reads = 0;
    const read = () => Promise.resolve({ n: (reads += 1) });
    expect((await cache.get(1, 'k', read)).body.toString()).toBe('{"n":1}');
    expect((await cache.get(1, 'k', read)).body.toString()).toBe('{"n":2}');
    expect(cache.stats()).toMatchObject({ hits: 0, entries: 0 });
  });

  it('when the listener goes down, then everything known is dropped and stays unused until it is back', async () => {
    const cache = liveCache();
    await cache.get(1, 'k', instant({ v: 'old' }));
    cache.setLive(false);
    expect((await cache.get(1, 'k', instant({ v: 'new' }))).body.toString()).toBe('{"v":"new"}');
    expect((await cache.get(1, 'k', instant({ v: 'newer' }))).body.toString()).toBe(
      '{"v":"newer"}',
    );
    cache.setLive(true);
    expect((await cache.get(1, 'k', instant({ v: 'newest' }))).body.toString()).toBe(
      '{"v":"newest"}',
    );
  });

  it('when a change comes while a read is in flight, then that read is answered but not kept', async () => {
    const cache = liveCache();
    const slow = controlledRead({ v: 'before the change' });
    const pending = cache.get(1, 'k', slow.read);
    cache.invalidate();
    slow.finish();
    expect((await pending).body.toString()).toBe('{"v":"before the change"}');
    expect((await cache.get(1, 'k', instant({ v: 'after' }))).body.toString()).toBe(
      '{"v":"after"}',
    );
  });

  it('when the listener drops while a read is in flight, then that read is not kept', async () => {
    const cache = liveCache();
    const slow = controlledRead({ v: 'old' });
    const pending = cache.get(1, 'k', slow.read);
    cache.setLive(false);
    cache.setLive(true);
    slow.finish();
    await pending;
    expect((await cache.get(1, 'k', instant({ v: 'fresh' }))).body.toString()).toBe(
      '{"v":"fresh"}',
    );
  });

  it('when misses of one key overlap, then they share one read; after a change, a new read starts', async () => {
    const cache = liveCache();
    const slow = controlledRead();
    const a = cache.get(1, 'k', slow.read);
    const b = cache.get(1, 'k', slow.read);
    expect(slow.state.calls).toBe(1);
    cache.invalidate();
    const fresh = controlledRead({ n: 2 });
    const c = cache.get(1, 'k', fresh.read);
    expect(fresh.state.calls).toBe(1);
    slow.finish();
    fresh.finish();
    expect(await a).toBe(await b);
    expect((await c).body.toString()).toBe('{"n":2}');
  });

  it('when a read fails, then its callers get the error and the next read tries again', async () => {
    const cache = liveCache();
    await expect(cache.get(1, 'k', () => Promise.reject(new Error('down')))).rejects.toThrow(
      'down',
    );
    expect((await cache.get(1, 'k', instant({ ok: true }))).body.toString()).toBe('{"ok":true}');
  });

  it('when more keys are read than it may hold, then the least recently used goes first', async () => {
    const cache = liveCache({ maxEntries: 2 });
    await cache.get(1, 'a', instant('a'));
    await cache.get(1, 'b', instant('b'));
    await cache.get(1, 'a', instant('unused'));
    await cache.get(1, 'c', instant('c'));
    expect(cache.stats().entries).toBe(2);
    expect((await cache.get(1, 'a', instant('a again'))).body.toString()).toBe('"a"');
    expect((await cache.get(1, 'b', instant('b again'))).body.toString()).toBe('"b again"');
  });

  it('when the bodies outgrow the byte budget, then old entries go and one too big is never kept', async () => {
    const cache = liveCache({ maxBytes: 100 });
    await cache.get(1, 'a', instant('x'.repeat(40)));
    await cache.get(1, 'b', instant('y'.repeat(40)));
    await cache.get(1, 'c', instant('z'.repeat(40)));
    expect(cache.stats().entries).toBe(2);
    expect(cache.stats().bytes).toBeLessThanOrEqual(100);
    await cache.get(1, 'huge', instant('h'.repeat(200)));
    expect(cache.stats().entries).toBe(2);
    expect((await cache.get(1, 'huge', instant('small'))).body.toString()).toBe('"small"');
  });

  it('when two caches hold equal content, then their ETags are equal', async () => {
    const [one, two] = [liveCache(), liveCache()];
    const value = { goals: [{ id: 1, name: 'x' }], next: null };
    expect((await one.get(1, 'k', instant(value))).etag).toBe(
      (await two.get(2, 'other key', instant(value))).etag,
    );
  });
});
