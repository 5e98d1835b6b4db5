/**
 * Runs `work` with a signal that aborts after `ms`, and stops the timer as soon as `work` settles. Used for outgoing
 * HTTP calls instead of `AbortSignal.timeout(ms)`: once fetch listens on a timeout signal, Node keeps that signal (and
 * what its listener reaches) alive until the timer fires, seconds after a reply that took milliseconds — on the
 * message path that was one more set of objects per reply living long enough to fill the old generation.
 */
export async function withTimeout<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")), ms);
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}
