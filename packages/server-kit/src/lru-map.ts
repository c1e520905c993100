/**
 * A Map that holds at most `capacity` entries and, past it, drops the least recently used.
 * A Map iterates in insertion order, so every `set` moves its key to the end and `use` does
 * the same for a read; the first key is then always the one to drop.
 */
export class LruMap<K, V> extends Map<K, V> {
  constructor(readonly capacity: number) {
    super();
  }

  /** Sets the value as the most recently used; drops the least recently used past capacity. */
  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    if (this.size > this.capacity) super.delete(this.keys().next().value as K);
    return this;
  }

  /** The value, now the most recently used; `get` reads without changing the order. */
  use(key: K): V | undefined {
    const value = super.get(key);
    if (value !== undefined) this.set(key, value);
    return value;
  }
}
