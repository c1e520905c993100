/** One caller's outcome within a batch: its own value or its own error. */
export type Outcome<Out> = { ok: true; value: Out } | { ok: false; error: unknown };

export interface BatcherOptions {
  /** Most inputs in one batch. */
  maxBatch: number;
  /** Most batches running at once; inputs arriving meanwhile wait and go in the next one. */
  maxInFlight: number;
  /** Longest an input may wait for its batch to start; then it fails with `expired()`. */
  maxWaitMs: number;
  expired: () => Error;
}

interface Waiting<In, Out> {
  input: In;
  since: number;
  resolve(value: Out): void;
  reject(error: unknown): void;
}

/**
 * Groups calls that arrive together into one call of `run`: the inputs submitted in one turn
 * of the event loop, and those arriving while `maxInFlight` batches are running, go together
 * in the next batch. With no load a call runs alone, one turn later. `run` answers each input
 * with its own outcome, so one caller's failure is not another's.
 */
export class Batcher<In, Out> {
  readonly #run: (inputs: In[]) => Promise<Outcome<Out>[]>;
  readonly #options: BatcherOptions;
  #queue: Waiting<In, Out>[] = [];
  #inFlight = 0;
  #scheduled = false;
  #expiry: NodeJS.Timeout | undefined;

  constructor(run: (inputs: In[]) => Promise<Outcome<Out>[]>, options: BatcherOptions) {
    this.#run = run;
    this.#options = options;
  }

  submit(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.#queue.push({ input, since: performance.now(), resolve, reject });
      if (this.#inFlight >= this.#options.maxInFlight) {
        this.#watchExpiry();
      } else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#flush();
        });
      }
    });
  }

  /**
   * While every batch slot is taken (the database slow, say), inputs wait no longer than a
   * request waits for a pooled connection: then they fail, as such a request would.
   */
  #watchExpiry(): void {
    const oldest = this.#queue[0];
    if (this.#expiry || !oldest) return;
    const delay = Math.max(0, oldest.since + this.#options.maxWaitMs - performance.now());
    this.#expiry = setTimeout(() => {
      this.#expiry = undefined;
      const now = performance.now();
      const stale = this.#queue.findIndex(
        (waiting) => now - waiting.since < this.#options.maxWaitMs,
      );
      const expired = this.#queue.splice(0, stale === -1 ? this.#queue.length : stale);
      for (const waiting of expired) waiting.reject(this.#options.expired());
      this.#watchExpiry();
    }, delay);
    this.#expiry.unref();
  }

  #flush(): void {
    clearTimeout(this.#expiry);
    this.#expiry = undefined;
    while (this.#queue.length > 0 && this.#inFlight < this.#options.maxInFlight) {
      const batch = this.#queue.splice(0, this.#options.maxBatch);
      this.#inFlight += 1;
      void this.#send(batch).finally(() => {
        this.#inFlight -= 1;
        this.#flush();
      });
    }
    if (this.#queue.length > 0) this.#watchExpiry();
  }

  async #send(batch: Waiting<In, Out>[]): Promise<void> {
    let outcomes: Outcome<Out>[];
    try {
      outcomes = await this.#run(batch.map((waiting) => waiting.input));
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    batch.forEach((waiting, index) => {
      const outcome = outcomes[index];
      if (outcome?.ok) waiting.resolve(outcome.value);
      else waiting.reject(outcome ? outcome.error : new Error('the batch gave no result'));
    });
  }
}
