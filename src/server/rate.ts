/**
 * Per-client rate limits: a token bucket per client address, refilled at `perSecond` up to
 * `burst`. A request that finds the bucket empty is answered 429 with Retry-After, before any
 * work is done. Buckets of idle clients are forgotten, so the table stays bounded.
 */
export interface RateLimitOptions {
  /** Requests per second each client may make on average. */
  readonly perSecond: number;
  /** Requests a client may make at once after being idle. */
  readonly burst: number;
  /** Clients tracked at most; the longest idle are dropped first. */
  readonly maxClients?: number;
  readonly clock?: () => number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly clock: () => number;
  private readonly maxClients: number;

  constructor(private readonly options: RateLimitOptions) {
    this.clock = options.clock ?? Date.now;
    this.maxClients = options.maxClients ?? 100_000;
  }

  /** 0 when the request may go ahead, otherwise the seconds to wait (for Retry-After). */
  take(client: string): number {
    const now = this.clock();
    const { perSecond, burst } = this.options;
    let b = this.buckets.get(client);
    if (b) this.buckets.delete(client);
    else b = { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    // Re-inserted last: the map's first key is always the longest idle client.
    this.buckets.set(client, b);
    if (this.buckets.size > this.maxClients) this.buckets.delete(this.buckets.keys().next().value!);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / perSecond));
  }
}
