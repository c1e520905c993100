import { describe, expect, it } from 'vitest';
import { LruMap } from '../src/index.js';

describe('LruMap', () => {
  it('when more keys are set than it holds, then the least recently set goes first', () => {
    const map = new LruMap<string, number>(2);
    map.set('a', 1).set('b', 2).set('c', 3);
    expect([...map.keys()]).toEqual(['b', 'c']);
  });

  it('when a key is used or set again, then it is the last to go', () => {
    const map = new LruMap<string, number>(2);
    map.set('a', 1).set('b', 2);
    expect(map.use('a')).toBe(1);
    map.set('c', 3);
    expect([...map.entries()]).toEqual([
      ['a', 1],
      ['c', 3],
    ]);
    map.set('a', 10).set('d', 4);
    expect([...map.entries()]).toEqual([
      ['a', 10],
      ['d', 4],
    ]);
  });

  it('when read with get or asked for a missing key, then nothing moves', () => {
    const map = new LruMap<string, number>(2);
    map.set('a', 1).set('b', 2);
    expect(map.get('a')).toBe(1);
    expect(map.use('missing')).toBeUndefined();
    map.set('c', 3);
    expect([...map.keys()]).toEqual(['b', 'c']);
  });
});
