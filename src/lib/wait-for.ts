/**
 * Start-up waits for PostgreSQL and Redis. Orchestrators differ in whether they order start-up on health
 * (podman-compose ignores `condition: service_healthy`; a plain `docker run` has no ordering at all), so the bot
 * itself waits for its services, with growing pauses and one clear log line per try, instead of exiting and being
 * restarted in a loop. What waiting cannot fix (a wrong password, a database that does not exist) stops at once.
 */
import type { Logger } from "pino";
import { errInfo } from "./errors.js";

export type WaitForOptions = {
  /** "PostgreSQL", "Redis": used in log lines and errors. */
  service: string;
  /** host:port, no credentials: says which one is being waited for. */
  target: string;
  /** Resolves when the service answers; throws otherwise. */
  probe: () => Promise<void>;
  /** Errors that waiting cannot fix: thrown at once. */
  permanent?: (err: unknown) => boolean;
  logger: Logger;
  /** Give up once this much time has gone by since the first try (0: try once). */
  timeoutMs: number;
  /** Aborted (SIGTERM during start-up): stops waiting with a StartupAborted. */
  signal?: AbortSignal;
  firstDelayMs?: number;
  maxDelayMs?: number;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
};

/** Waiting was given up: the service did not answer within the budget, or answered with a permanent error. */
export class StartupWaitError extends Error {}
/** The process was asked to stop while it was still waiting. */
export class StartupAborted extends Error {}

const sleepFor = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new StartupAborted("aborted"));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new StartupAborted("aborted"));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/** The pause before try n (1-based): firstDelay · 2^(n-1), capped. */
export function retryDelayMs(attempt: number, firstDelayMs = 500, maxDelayMs = 10_000): number {
  return Math.min(maxDelayMs, firstDelayMs * 2 ** (attempt - 1));
}

const reason = (err: unknown) => {
  const info = errInfo(err);
  return info.code ?? info.err;
};

export async function waitFor(o: WaitForOptions): Promise<void> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? sleepFor;
  const started = now();
  for (let attempt = 1; ; attempt++) {
    if (o.signal?.aborted) throw new StartupAborted(`stopped while waiting for ${o.service}`);
    try {
      await o.probe();
      if (attempt > 1)
        o.logger.info({ dependency: o.service, target: o.target, attempts: attempt, waitedMs: now() - started }, `${o.service} is reachable`);
      return;
    } catch (err) {
      if (err instanceof StartupAborted) throw err;
      if (o.permanent?.(err))
        throw new StartupWaitError(`${o.service} at ${o.target} refused the bot: ${errInfo(err).err}`, { cause: err });
      const delay = retryDelayMs(attempt, o.firstDelayMs, o.maxDelayMs);
      const waited = now() - started;
      if (waited + delay > o.timeoutMs)
        throw new StartupWaitError(
          `${o.service} at ${o.target} is not reachable (${reason(err)}); gave up after ${Math.round(waited / 1000)}s (STARTUP_WAIT)`,
          { cause: err },
        );
      o.logger.warn(
        { dependency: o.service, target: o.target, attempt, retryInMs: delay, ...errInfo(err) },
        `waiting for ${o.service} at ${o.target} (${reason(err)}); next try in ${delay / 1000}s`,
      );
      await sleep(delay, o.signal);
    }
  }
}

/** host:port of a connection URL, without user or password. */
export function urlTarget(url: string, defaultPort: number): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || defaultPort}`;
}
