/**
 * Requests as the recorder sees them: a sequence number per request (server or client side, one
 * numbering), what is in flight, and which request last ran code, so that a stall can name the
 * request it ran for.
 */

/** Window of request durations kept for the p99 trigger. */
const P99_WINDOW = 1024;
/** Fewer requests than this are not a p99 yet: their durations are kept for the next check... */
const P99_MIN_REQUESTS = 20;
/** ...until this long has passed: at low traffic the p99 of what there was (its slowest, under 100). */
const P99_MAX_WAIT_MS = 10_000;

export interface RequestP99 {
  readonly p99Ms: number;
  /** The time the durations were collected over, up to the call. */
  readonly windowMs: number;
}

export class RequestTracker {
  #nextSeq = 1;
  /** Open requests by source: 0 the service's lifecycle channel, 1 node:http. */
  inFlight = [0, 0];
  #lastSeq = [0, 0];
  #lastMs = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  #durationsMs = new Float64Array(P99_WINDOW);
  #durationCount = 0;
  /** The check before the first of the durations kept (undefined: none yet). */
  #durationsSinceMs: number | undefined;
  /** Called on every request event with its time and request: a sign of life of the loop. */
  onAlive: (timeMs: number, seq: number) => void = () => {};

  /** One more (+1) or one fewer (-1) request open on `source`. */
  open(source: 0 | 1, delta: 1 | -1): void {
    this.inFlight[source] = (this.inFlight[source] as number) + delta;
  }

  nextSeq(): number {
    return this.#nextSeq++;
  }

  /** A request ran code at `timeMs` (it opened or closed). */
  touch(source: 0 | 1, seq: number, timeMs: number): void {
    this.#lastSeq[source] = seq;
    this.#lastMs[source] = timeMs;
    this.onAlive(timeMs, seq);
  }

  /** The request that ran code since `sinceMs`, the service's own record preferred; 0 when none. */
  ranSince(sinceMs: number): number {
    if ((this.#lastMs[0] as number) >= sinceMs) return this.#lastSeq[0] as number;
    if ((this.#lastMs[1] as number) >= sinceMs) return this.#lastSeq[1] as number;
    return 0;
  }

  get openRequests(): number {
    return Math.max(this.inFlight[0] as number, this.inFlight[1] as number);
  }

  recordDuration(durationMs: number): void {
    this.#durationsMs[this.#durationCount++ % P99_WINDOW] = durationMs;
  }

  /**
   * The p99 of the durations recorded since the last p99 was given, then forgets them; undefined
   * while there are fewer than P99_MIN_REQUESTS of them and the first is less than P99_MAX_WAIT_MS
   * old (a quiet service's slow requests are still caught, a few seconds later). `nowMs`: this check.
   */
  takeP99(nowMs: number): RequestP99 | undefined {
    const n = Math.min(this.#durationCount, P99_WINDOW);
    if (n === 0) {
      // Nothing yet: the durations to come begin their window at this check (at most a check early).
      this.#durationsSinceMs = nowMs;
      return undefined;
    }
    // Durations from before the first check: their window begins at it.
    const sinceMs = this.#durationsSinceMs ?? nowMs;
    this.#durationsSinceMs = sinceMs;
    if (n < P99_MIN_REQUESTS && nowMs - sinceMs < P99_MAX_WAIT_MS) return undefined;
    this.#durationCount = 0;
    this.#durationsSinceMs = nowMs;
    const sorted = this.#durationsMs.slice(0, n).sort();
    return { p99Ms: sorted[Math.min(n - 1, Math.ceil(n * 0.99) - 1)] as number, windowMs: nowMs - sinceMs };
  }
}
