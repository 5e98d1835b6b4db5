/**
 * Calls made in the same turn of the event loop go out as one: `add` queues an item, and once the current turn's
 * promise jobs have run (setImmediate), `flush` gets every queued item at once and returns one result per item, in
 * order. Steps of one transaction that run side by side use it to send one multi-row statement instead of one
 * statement each. If `flush` throws, every item of that flush fails with the error.
 */
export class Coalesce<I, O> {
  private queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];

  constructor(private readonly flush: (items: I[]) => Promise<O[]>) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      if (this.queue.push({ item, resolve, reject }) === 1) setImmediate(() => this.run());
    });
  }

  private run(): void {
    const queued = this.queue;
    this.queue = [];
    this.flush(queued.map((q) => q.item))
      .then((out) => {
        if (out.length !== queued.length) throw new Error(`coalesce: ${out.length} results for ${queued.length} items`);
        for (const [i, q] of queued.entries()) q.resolve(out[i] as O);
      })
      .catch((err: unknown) => {
        for (const q of queued) q.reject(err);
      });
  }
}

/**
 * The batcher kept on `holder` (a transaction object) under `key`, made on first use. Kept on the object itself, not
 * in a WeakMap keyed by it: V8 clears WeakMap entries only at a full GC, so a WeakMap held every transaction (and all
 * it reached) through young-generation GCs.
 */
export function coalesceOn<I, O>(holder: object, key: symbol, flush: (items: I[]) => Promise<O[]>): Coalesce<I, O> {
  const slots = holder as Record<symbol, Coalesce<I, O> | undefined>;
  let batcher = slots[key];
  if (!batcher) {
    batcher = new Coalesce(flush);
    slots[key] = batcher;
  }
  return batcher;
}
