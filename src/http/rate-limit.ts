/**
 * The optional rate limit (--rate-limit-rps): one token bucket for the whole service, like tower's
 * RateLimit layer in the Rust template. It runs as an `onRequest` hook right after the recorder's,
 * so a refused request is still one wide event (429, `RateLimited`); /health lives outside that
 * context and is never limited. Off by default, and then no hook is registered at all.
 */
import { performance } from 'node:perf_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface RateLimit {
  /** Tokens added per second: the sustained rate. May be fractional (0.5 is one every 2 s). */
  readonly rps: number;
  /** Bucket size: how many requests may arrive at once after a quiet spell. */
  readonly burst: number;
}

/** A token bucket on a monotonic clock in milliseconds; it starts full. */
export class TokenBucket {
  readonly #perMs: number;
  readonly #burst: number;
  #tokens: number;
  #lastMs: number;

  constructor(limit: RateLimit, nowMs: number) {
    this.#perMs = limit.rps / 1000;
    this.#burst = limit.burst;
    this.#tokens = limit.burst;
    this.#lastMs = nowMs;
  }

  /** Takes a token: 0 when one was there, otherwise the milliseconds until one will be. */
  take(nowMs: number): number {
    let tokens = this.#tokens + (nowMs - this.#lastMs) * this.#perMs;
    if (tokens > this.#burst) tokens = this.#burst;
    this.#lastMs = nowMs;
    if (tokens >= 1) {
      this.#tokens = tokens - 1;
      return 0;
    }
    this.#tokens = tokens;
    return (1 - tokens) / this.#perMs;
  }
}

/**
 * The hook. A refused request gets 429 `SVC_ERR_RATE_LIMITED` with `Retry-After`: the whole
 * seconds until the bucket holds a token again (at least 1, HTTP's smallest delay), so a client
 * that waits that long finds one unless others took it first.
 */
export function rateLimitHook(
  limit: RateLimit,
): (request: FastifyRequest, reply: FastifyReply, done: () => void) => void {
  const bucket = new TokenBucket(limit, performance.now());
  const rate = `${limit.rps} requests a second (burst ${limit.burst})`;
  // Named, so fastify's route printout (printRoutes({ includeHooks: true })) shows it.
  return function rateLimit(request, reply, done) {
    const waitMs = bucket.take(performance.now());
    if (waitMs === 0) return done();
    // (The epsilon absorbs float error: a 2000.0000001 ms wait is 2 s, not 3.)
    const retryAfterSecs = Math.max(1, Math.ceil(waitMs / 1000 - 1e-6));
    request.telemetry.record.values.ErrorKind = 'RateLimited';
    reply
      .code(429)
      .header('retry-after', String(retryAfterSecs))
      .type('application/json; charset=utf-8')
      .send(
        `{"statusCode":429,"code":"SVC_ERR_RATE_LIMITED","error":"Too Many Requests","message":"over the rate limit of ${rate}; retry after ${retryAfterSecs} s"}`,
      );
  };
}
