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
}
