/**
 * What a transaction wants done after it commits: wake-up timers to set and outbox rows to deliver.
 * PostgreSQL already holds the truth when these run, so losing them (a crash, Redis down) only delays work
 * until the reconciler puts them back.
 */
/** A deadline wake-up slot to set (see wakeSlot): the job id names the slot, `runAt` is its end. */
export type TimerRequest = { jobId: string; runAt: Date };
export type OutboxRequest = { id: number; notBefore: Date };
/** A photo to fetch and clean (a ticket_media row). */
export type MediaRequest = { id: number };

export class Effects {
  readonly timers: TimerRequest[] = [];
  readonly outbox: OutboxRequest[] = [];
  readonly media: MediaRequest[] = [];

  /** The effects of several pieces of work that committed together: each wake-up slot once, every outbox row. */
  static merge(list: Effects[]): Effects {
    if (list.length === 1) return list[0] as Effects;
    const timers = new Map<string, TimerRequest>();
    const out = new Effects();
    for (const e of list) {
      for (const t of e.timers) timers.set(t.jobId, t);
      out.outbox.push(...e.outbox);
      out.media.push(...e.media);
    }
    out.timers.push(...timers.values());
    return out;
  }
}
