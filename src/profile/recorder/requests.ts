/**
 * Requests as the recorder sees them: a sequence number per request (server or client side, one
 * numbering), what is in flight, and which request last ran code, so that a stall can name the
 * request it ran for.
 */

/** Window of request durations kept for the p99 trigger. */
const P99_WINDOW = 1024;

export class RequestTracker {
  #nextSeq = 1;
  /** Open requests by source: 0 the service's lifecycle channel, 1 node:http. */
  inFlight = [0, 0];
  #lastSeq = [0, 0];
  #lastMs = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  #durationsMs = new Float64Array(P99_WINDOW);
  #durationCount = 0;
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

  /** p99 of the durations recorded since the last call (undefined when fewer than 20), then forgets them. */
  takeP99(): number | undefined {
    const n = Math.min(this.#durationCount, P99_WINDOW);
    this.#durationCount = 0;
    if (n < 20) return undefined;
    const sorted = this.#durationsMs.slice(0, n).sort();
    return sorted[Math.min(n - 1, Math.ceil(n * 0.99) - 1)];
  }
}
