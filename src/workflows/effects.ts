/**
 * What a transaction wants done after it commits: wake-up timers to set or cancel and outbox rows to deliver.
 * PostgreSQL already holds the truth when these run, so losing them (a crash, Redis down) only delays work
 * until the reconciler puts them back.
 */
export type TimerRequest = { jobId: string; ticketId: number; runAt: Date };
export type OutboxRequest = { id: number; notBefore: Date };

export class Effects {
  readonly timers: TimerRequest[] = [];
  readonly cancelled: string[] = [];
  readonly outbox: OutboxRequest[] = [];

  /**
   * The effects of several pieces of work that committed together, in the order they ran: a timer a later piece
   * cancelled is not set at all, and a timer set again after a cancel stays set.
   */
  static merge(list: Effects[]): Effects {
    if (list.length === 1) return list[0] as Effects;
    const timers = new Map<string, TimerRequest>();
    const cancelled = new Set<string>();
    const out = new Effects();
    for (const e of list) {
      for (const id of e.cancelled) {
        if (!timers.delete(id)) cancelled.add(id);
      }
      for (const t of e.timers) {
        cancelled.delete(t.jobId);
        timers.set(t.jobId, t);
      }
      out.outbox.push(...e.outbox);
    }
    out.timers.push(...timers.values());
    out.cancelled.push(...cancelled);
    return out;
  }
}
