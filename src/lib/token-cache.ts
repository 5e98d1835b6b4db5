/**
 * One cached access token per app (DingTalk's app token, WeCom's 自建应用 token): both platforms say to cache it
 * rather than fetch it per call (fetching too often is throttled), that it lives about 7,200 s, and that it may be
 * revoked early. So: callers share one fetch (single flight), the token is refreshed a little before it expires,
 * and a caller that met an expired-token answer forgets exactly the token it used.
 */
export type FetchedToken = { value: string; ttlMs: number };

export class TokenCache {
  private token: { value: string; refreshAt: number } | null = null;
  private fetching: Promise<string> | null = null;
  /** How many times a token was fetched (for /readyz and tests). */
  fetches = 0;

  constructor(
    private readonly fetchToken: () => Promise<FetchedToken>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The token: cached until shortly before expiry; concurrent callers share one fetch. */
  get(): Promise<string> {
    if (this.token && this.now() < this.token.refreshAt) return Promise.resolve(this.token.value);
    if (!this.fetching) {
      this.fetching = this.refresh().finally(() => {
        this.fetching = null;
      });
    }
    return this.fetching;
  }

  /** Forget the token (the platform said it expired): the next get() fetches a new one. */
  invalidate(stale?: string): void {
    if (!stale || this.token?.value === stale) this.token = null;
  }

  private async refresh(): Promise<string> {
    this.fetches += 1;
    const { value, ttlMs } = await this.fetchToken();
    // Refresh 5 minutes early (or a tenth of the lifetime, if that is shorter).
    this.token = { value, refreshAt: this.now() + ttlMs - Math.min(300_000, ttlMs / 10) };
    return value;
  }
}
