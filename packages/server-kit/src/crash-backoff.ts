/**
 * When a process that was running dies (a tier under `npm start`, a worker under its
 * primary), it is started again after 1, 2, 4, 8 and 16 s; a sixth crash in a row gives up.
 * One that stays up for a minute has recovered, and its next crash counts from one again.
 */
export const RESTART_DELAYS_MS = [1_000, 2_000, 4_000, 8_000, 16_000] as const;
export const STABLE_AFTER_MS = 60_000;

export class CrashBackoff {
  private crashesInARow = 0;
  private upSince: number | undefined;

  constructor(
    private readonly delaysMs: readonly number[] = RESTART_DELAYS_MS,
    private readonly stableAfterMs = STABLE_AFTER_MS,
  ) {}

  /** How many crashes in a row end the restarts. */
  get limit(): number {
    return this.delaysMs.length;
  }

  /** The process answered its ready check. */
  started(now = Date.now()): void {
    this.upSince = now;
  }

  /** The process died: the delay before the next start, or undefined to give up. */
  crashed(now = Date.now()): { delayMs: number; crash: number } | undefined {
    if (this.upSince !== undefined && now - this.upSince >= this.stableAfterMs) {
      this.crashesInARow = 0;
    }
    this.upSince = undefined;
    this.crashesInARow += 1;
    const delayMs = this.delaysMs[this.crashesInARow - 1];
    return delayMs === undefined ? undefined : { delayMs, crash: this.crashesInARow };
  }
}
