/**
 * Outgoing requests, summarized per origin in bounded memory: counts, a duration reservoir and the
 * slowest few (with the request each was sent for). "Waiting on the downstream" is judged on these.
 */
import type { Out } from './model.js';
import { Reservoir, TopK } from './reservoir.js';

export interface OriginStats {
  readonly origin: string;
  count: number;
  errors: number;
  slow: number;
  slowUs: number;
  readonly durations: Reservoir;
  readonly slowest: TopK<Out>;
  firstUs: number;
  lastUs: number;
}

const SLOWEST_KEPT = 64;

export class OutgoingStats {
  readonly byOrigin = new Map<string, OriginStats>();
  readonly #slowUs: number;

  constructor(slowMs: number) {
    this.#slowUs = slowMs * 1000;
  }

  add(out: Out): void {
    let stats = this.byOrigin.get(out.origin);
    if (stats === undefined) {
      stats = {
        origin: out.origin,
        count: 0,
        errors: 0,
        slow: 0,
        slowUs: 0,
        durations: new Reservoir(2048),
        slowest: new TopK(SLOWEST_KEPT),
        firstUs: out.startUs,
        lastUs: out.endUs,
      };
      this.byOrigin.set(out.origin, stats);
    }
    const durationUs = out.endUs - out.startUs;
    stats.count++;
    if (out.error !== '') stats.errors++;
    stats.durations.add(durationUs / 1000);
    if (durationUs >= this.#slowUs) {
      stats.slow++;
      stats.slowUs += durationUs;
      stats.slowest.add(durationUs, out);
    }
    stats.firstUs = Math.min(stats.firstUs, out.startUs);
    stats.lastUs = Math.max(stats.lastUs, out.endUs);
  }

  get total(): number {
    let n = 0;
    for (const s of this.byOrigin.values()) n += s.count;
    return n;
  }
}
