/**
 * Group commit: work submitted while earlier batches are in flight waits and then goes together, so many
 * messages share one transaction, one BEGIN/COMMIT and one statement per step instead of one each. Under light load
 * every item runs at once on its own (a batch of one); under heavy load batches grow by themselves, up to
 * `maxBatch`, with at most `maxInFlight` running.
 */
export type Outcome<O> = { ok: true; value: O } | { ok: false; error: unknown };

export type GroupCommitOptions = {
  maxInFlight: number;
  maxBatch: number;
  /**
   * A batch still running after this long fails (its items reject) and frees its slot: a net for a transaction that
   * never settles (postgres.js left one unsettled when its connection was killed under it, fixed in patches/, see
   * docs/stability.md); without it, a few such batches would stop the pipeline for good. Safe because each item is
   * idempotent: if the batch does commit later, a redelivery gets the stored answer.
   */
  timeoutMs?: number;
};

type Waiting<I, O> = { item: I; resolve: (o: O | PromiseLike<O>) => void; reject: (e: unknown) => void };

export class GroupCommit<I, O> {
  private readonly waiting: Waiting<I, O>[] = [];
  private inFlight = 0;

  constructor(
    /**
     * Runs one batch; returns one outcome per item, in order (it may also throw: then every item fails). A value may
     * be a promise: its caller waits for it, the next batch does not.
     */
    private readonly runBatch: (items: I[]) => Promise<Outcome<O | PromiseLike<O>>[]>,
    private readonly opts: GroupCommitOptions,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.opts.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.opts.maxBatch);
      this.inFlight += 1;
      let timer: NodeJS.Timeout | undefined;
      const limit = this.opts.timeoutMs;
      const watchdog = new Promise<never>((_, reject) => {
        if (limit) timer = setTimeout(() => reject(new Error(`group commit: a batch ran longer than ${limit} ms`)), limit);
      });
      Promise.race([this.runBatch(batch.map((w) => w.item)), watchdog])
        .then(
          (outcomes) =>
            batch.forEach((w, i) => {
              const o = outcomes[i];
              if (o?.ok) w.resolve(o.value);
              else w.reject(o ? o.error : new Error("group commit: no outcome for an item"));
            }),
          (err) => {
            for (const w of batch) w.reject(err);
          },
        )
        .finally(() => {
          clearTimeout(timer);
          this.inFlight -= 1;
          this.pump();
        });
    }
  }
}
