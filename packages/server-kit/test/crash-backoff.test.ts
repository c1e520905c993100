import { describe, expect, it } from 'vitest';
import { CrashBackoff, STABLE_AFTER_MS } from '../src/index.js';

describe('CrashBackoff', () => {
  it('when a tier keeps crashing, then it waits 1, 2, 4, 8 and 16 s, and gives up at the sixth crash in a row', () => {
    const backoff = new CrashBackoff();
    const delays: (number | undefined)[] = [];
    for (let crash = 0; crash < 6; crash += 1) {
      backoff.started(1_000 * crash);
      delays.push(backoff.crashed(1_000 * crash + 500)?.delayMs);
    }
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, undefined]);
    expect(backoff.limit).toBe(5);
  });

  it('when a tier stayed up for a minute before crashing, then the count starts again at one', () => {
    const backoff = new CrashBackoff();
    backoff.started(0);
    backoff.crashed(10);
    backoff.started(1_000);
    expect(backoff.crashed(2_000)).toEqual({ delayMs: 2_000, crash: 2 });
    backoff.started(3_000);
    expect(backoff.crashed(3_000 + STABLE_AFTER_MS)).toEqual({ delayMs: 1_000, crash: 1 });
  });

  it('when a restart fails before the tier is ready, then it counts as one more crash in a row', () => {
    const backoff = new CrashBackoff();
    backoff.started(0);
    backoff.crashed(STABLE_AFTER_MS * 2);
    expect(backoff.crashed(STABLE_AFTER_MS * 3)).toEqual({ delayMs: 2_000, crash: 2 });
  });
});
