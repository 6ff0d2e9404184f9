/**
 * Opt-in, full-fidelity callback tracking through async_hooks `before`/`after`: every macrotask
 * callback with its duration, resource type and the request that last ran. Any enabled hook turns
 * on V8's promise hooks, which cost ~12% server CPU per request on `service run`, so this is off
 * unless asked for, and can be a time-boxed burst.
 */
import { createHook, executionAsyncResource } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { EV } from '../../format/schema.js';
import type { RequestTracker } from '../requests.js';
import type { EventRing } from '../ring.js';

/** Log2 buckets of callback duration in µs, for the p99 the runtime record reports. */
const BUCKETS = 32;

export class CallbackTracker {
  #ring: EventRing;
  #requests: RequestTracker;
  #depth = 0;
  #starts = new Float64Array(64);
  #histogram: number[] = new Array<number>(BUCKETS).fill(0);
  #hook = createHook({ before: () => this.#before(), after: () => this.#after() });
  #timer: NodeJS.Timeout | undefined;
  callbacks = 0;

  constructor(ring: EventRing, requests: RequestTracker) {
    this.#ring = ring;
    this.#requests = requests;
  }

  start(forSecs: number): void {
    this.#hook.enable();
    if (forSecs > 0) {
      this.#timer = setTimeout(() => this.stop(), forSecs * 1000);
      this.#timer.unref();
    }
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#hook.disable();
  }

  /** p99 callback duration (ms) since the last call, from the histogram; then resets it. */
  takeP99Ms(): number | undefined {
    let total = 0;
    for (const n of this.#histogram) total += n;
    if (total === 0) return undefined;
    let seen = 0;
    let p99 = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.#histogram[b] as number;
      if (seen >= total * 0.99) {
        p99 = 2 ** b / 1000;
        break;
      }
    }
    this.#histogram.fill(0);
    return p99;
  }

  #before(): void {
    if (this.#depth < this.#starts.length) this.#starts[this.#depth] = performance.now();
    this.#depth++;
  }

  #after(): void {
    this.#depth--;
    if (this.#depth < 0 || this.#depth >= this.#starts.length) {
      this.#depth = Math.max(0, this.#depth);
      return;
    }
    const start = this.#starts[this.#depth] as number;
    const durationUs = (performance.now() - start) * 1000;
    this.callbacks++;
    const bucket = Math.min(BUCKETS - 1, Math.max(0, Math.ceil(Math.log2(durationUs + 1))));
    this.#histogram[bucket] = (this.#histogram[bucket] as number) + 1;
    const resource = executionAsyncResource() as { constructor?: { name?: string } };
    const type = resource.constructor?.name ?? '';
    this.#ring.put(EV.callback, start, durationUs, this.#ring.intern(type), this.#requests.ranSince(start));
  }
}
