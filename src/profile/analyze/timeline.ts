/**
 * Per-second aggregates of the periodic events (loop, resources, GC, pending operations, drops):
 * what findings about load, GC and growth need, in memory proportional to the trace's length in
 * seconds (600 small records for 10 minutes), never to its event count. GC pauses are also kept
 * one by one (two numbers each) for the request breakdown.
 */
import type { DecodedSegment } from '../format/index.js';
import { GrowingF64 } from './growing.js';
import { lowerBound } from './stacks.js';

export interface Second {
  readonly index: number;
  /** Sum of eluPermille × periodUs, and the periods: ELU = eluWeighted / periodUs / 1000. */
  eluWeighted: number;
  periodUs: number;
  delayMaxUs: number;
  /** Process CPU (user + system) from `resources`, and the time it covers. */
  cpuUs: number;
  cpuPeriodUs: number;
  heapMinKb: number;
  heapMaxKb: number;
  rssMaxKb: number;
  handlesMin: number;
  requestsMin: number;
  gcUs: number;
  gcCount: number;
  gcMaxUs: number;
  dropped: number;
  /** Minimum count per pending-operation type over the second. */
  pending: Map<string, number> | undefined;
}

const US_PER_S = 1_000_000;
/** A loop sample's delay from which it is kept apart: the event-loop-delay finding's warning level. */
export const LONG_DELAY_US = 50_000;
/** Long-delay samples kept (160 KB): later ones only count in their second's maximum. */
const MAX_LONG_DELAYS = 10_000;
/** Idle periods kept (16 MB): over 4 hours of a loop idle in 20 ms pieces. Later ones are dropped. */
export const MAX_IDLE_PERIODS = 1_000_000;

export class Timeline {
  readonly seconds = new Map<number, Second>();
  readonly gcTime = new GrowingF64();
  readonly gcDuration = new GrowingF64();
  #gcSorted = true;
  /**
   * Idle periods of the loop (`idle` events, from the recorder's park/unpark addon): start and end,
   * in time order (the recorder writes them in order and they never overlap). Two numbers each;
   * at most one per ms of idle time.
   */
  readonly idleStart = new GrowingF64();
  readonly idleEnd = new GrowingF64();
  /** Whether the trace records idle periods at all (`parks` samples): no `idle` event then means busy. */
  idleRecorded = false;
  droppedTotal = 0;
  firstDropUs = Number.NaN;
  lastDropUs = Number.NaN;
  minUs = Number.POSITIVE_INFINITY;
  maxUs = Number.NEGATIVE_INFINITY;
  /**
   * Loop samples with a delay of `LONG_DELAY_US` or more (time, delay), at most `MAX_LONG_DELAYS`:
   * the findings tell those of the start-up (before the first request) from the rest.
   */
  readonly longDelayTime = new GrowingF64();
  readonly longDelayUs = new GrowingF64();
  /** The earliest event of the process's first segment (index 0), if the trace has it: the start. */
  processStartUs: number | undefined;
  /** The first request the process served (µs), if any. */
  firstRequestUs = Number.POSITIVE_INFINITY;
  /**
   * The end of the first loop sample (100 ms) in which the loop was busy less than half the time
   * (µs): a start-up is over by then, whether or not a request ever comes (a batch job, a quiet
   * service). Not the first `idle` period: loading ES modules waits on file reads now and then.
   */
  firstIdleUs = Number.POSITIVE_INFINITY;

  add(segment: DecodedSegment): void {
    const e = segment.events;
    for (const columns of Object.values(e)) {
      if (columns.count === 0) continue;
      // cpuSamples arrive late and stalls are written when they end; both stay inside the range.
      this.minUs = Math.min(this.minUs, columns.time[0] as number);
      this.maxUs = Math.max(this.maxUs, columns.time[columns.count - 1] as number);
    }
    // A hang's markers carry its start; the trace runs on to when the last one was written.
    const ongoing = e.stallOngoing;
    if (ongoing !== undefined) {
      const duration = ongoing.fields.durationUs as Float64Array;
      for (let i = 0; i < ongoing.count; i++)
        this.maxUs = Math.max(this.maxUs, (ongoing.time[i] as number) + (duration[i] as number));
    }
    const loop = e.loop;
    if (loop !== undefined) {
      const elu = loop.fields.eluPermille as Float64Array;
      const delay = loop.fields.delayMaxUs as Float64Array;
      const period = loop.fields.periodUs as Float64Array;
      for (let i = 0; i < loop.count; i++) {
        // A loop sample is written at the end of its period.
        if ((elu[i] as number) < 500) this.firstIdleUs = Math.min(this.firstIdleUs, loop.time[i] as number);
        const s = this.#second(loop.time[i] as number);
        const p = period[i] as number;
        s.eluWeighted += (elu[i] as number) * p;
        s.periodUs += p;
        s.delayMaxUs = Math.max(s.delayMaxUs, delay[i] as number);
        if ((delay[i] as number) >= LONG_DELAY_US && this.longDelayTime.length < MAX_LONG_DELAYS) {
          this.longDelayTime.push(loop.time[i] as number);
          this.longDelayUs.push(delay[i] as number);
        }
      }
    }
    for (const name of ['requestOpen', 'httpInStart'] as const) {
      const columns = e[name];
      if (columns !== undefined && columns.count > 0)
        this.firstRequestUs = Math.min(this.firstRequestUs, columns.time[0] as number);
    }
    if (segment.header.segment.index === 0) {
      let start = Number.POSITIVE_INFINITY;
      for (const columns of Object.values(e)) if (columns.count > 0) start = Math.min(start, columns.time[0] as number);
      if (Number.isFinite(start)) this.processStartUs = start;
    }
    const res = e.resources;
    if (res !== undefined) {
      const f = res.fields;
      let previousUs = Number.NaN;
      for (let i = 0; i < res.count; i++) {
        const time = res.time[i] as number;
        const s = this.#second(time);
        s.cpuUs += (f.cpuUserUs?.[i] ?? 0) + (f.cpuSystemUs?.[i] ?? 0);
        // The sample covers the time since the previous one (100 ms nominal).
        s.cpuPeriodUs += Number.isNaN(previousUs) ? 100_000 : Math.min(time - previousUs, 1_000_000);
        previousUs = time;
        const heap = f.heapUsedKb?.[i] ?? 0;
        s.heapMinKb = Math.min(s.heapMinKb, heap);
        s.heapMaxKb = Math.max(s.heapMaxKb, heap);
        s.rssMaxKb = Math.max(s.rssMaxKb, f.rssKb?.[i] ?? 0);
        s.handlesMin = Math.min(s.handlesMin, f.handles?.[i] ?? 0);
        s.requestsMin = Math.min(s.requestsMin, f.requests?.[i] ?? 0);
      }
    }
    const gc = e.gc;
    if (gc !== undefined) {
      const duration = gc.fields.durationUs as Float64Array;
      const last = this.gcTime.length > 0 ? this.gcTime.at(this.gcTime.length - 1) : Number.NEGATIVE_INFINITY;
      let previous = last;
      for (let i = 0; i < gc.count; i++) {
        const time = gc.time[i] as number;
        const d = duration[i] as number;
        if (time < previous) this.#gcSorted = false;
        previous = time;
        this.gcTime.push(time);
        this.gcDuration.push(d);
        const s = this.#second(time);
        s.gcUs += d;
        s.gcCount++;
        s.gcMaxUs = Math.max(s.gcMaxUs, d);
      }
    }
    if ((e.parks?.count ?? 0) > 0) this.idleRecorded = true;
    const idle = e.idle;
    if (idle !== undefined) {
      const duration = idle.fields.durationUs as Float64Array;
      for (let i = 0; i < idle.count; i++) {
        const time = idle.time[i] as number;
        // Out of order only if segments came out of order: keep the list sorted, drop the stray one.
        if (this.idleEnd.length > 0 && time < this.idleEnd.at(this.idleEnd.length - 1)) continue;
        if (this.idleEnd.length >= MAX_IDLE_PERIODS) break;
        this.idleStart.push(time);
        this.idleEnd.push(time + (duration[i] as number));
      }
    }
    const pending = e.pending;
    if (pending !== undefined) {
      const type = pending.fields.type as Float64Array;
      const count = pending.fields.count as Float64Array;
      for (let i = 0; i < pending.count; i++) {
        const s = this.#second(pending.time[i] as number);
        s.pending ??= new Map();
        const name = segment.strings[type[i] as number] ?? '';
        const n = count[i] as number;
        s.pending.set(name, Math.min(s.pending.get(name) ?? Number.POSITIVE_INFINITY, n));
      }
    }
    const dropped = e.dropped;
    if (dropped !== undefined) {
      const count = dropped.fields.count as Float64Array;
      for (let i = 0; i < dropped.count; i++) {
        const time = dropped.time[i] as number;
        const n = count[i] as number;
        this.droppedTotal += n;
        this.#second(time).dropped += n;
        if (Number.isNaN(this.firstDropUs) || time < this.firstDropUs) this.firstDropUs = time;
        if (Number.isNaN(this.lastDropUs) || time > this.lastDropUs) this.lastDropUs = time;
      }
    }
  }

  /** Seconds in time order. */
  ordered(): Second[] {
    return [...this.seconds.values()].sort((a, b) => a.index - b.index);
  }

  /** Loop utilization (0..1) between two times, from the seconds they touch; NaN without loop events. */
  eluBetween(fromUs: number, toUs: number): number {
    let weighted = 0;
    let period = 0;
    for (let i = Math.floor(fromUs / US_PER_S); i <= Math.floor(toUs / US_PER_S); i++) {
      const s = this.seconds.get(i);
      if (s === undefined) continue;
      weighted += s.eluWeighted;
      period += s.periodUs;
    }
    return period === 0 ? Number.NaN : weighted / period / 1000;
  }

  /**
   * µs within [fromUs, toUs] the loop ran without parking for `minGapUs` or more at a stretch (many
   * short callbacks back to back, which make no stall), from the idle periods (park/unpark); NaN
   * when the trace has none recorded. Shorter unparked gaps are not counted: a wake-up to serve one
   * request, or a crowded machine's scheduling delay, is not a busy loop.
   */
  unparkedWithin(fromUs: number, toUs: number, minGapUs: number): number {
    if (!this.idleRecorded) return Number.NaN;
    const starts = this.idleStart.view();
    const ends = this.idleEnd.view();
    let busyUs = 0;
    let lastEndUs = fromUs;
    for (let i = lowerBound(ends, fromUs); i < ends.length && (starts[i] as number) < toUs; i++) {
      const gapUs = (starts[i] as number) - lastEndUs;
      if (gapUs >= minGapUs) busyUs += gapUs;
      lastEndUs = Math.max(lastEndUs, ends[i] as number);
    }
    if (toUs - lastEndUs >= minGapUs) busyUs += toUs - lastEndUs;
    return busyUs;
  }

  /** GC pauses, sorted by start (views valid until the next add). */
  gcPauses(): { time: Float64Array; duration: Float64Array } {
    if (!this.#gcSorted) {
      const t = this.gcTime.view();
      const d = this.gcDuration.view();
      const order = Array.from({ length: t.length }, (_, i) => i).sort((a, b) => (t[a] as number) - (t[b] as number));
      this.gcTime.replace(Float64Array.from(order, (i) => t[i] as number));
      this.gcDuration.replace(Float64Array.from(order, (i) => d[i] as number));
      this.#gcSorted = true;
    }
    return { time: this.gcTime.view(), duration: this.gcDuration.view() };
  }

  #second(timeUs: number): Second {
    const index = Math.floor(timeUs / US_PER_S);
    let s = this.seconds.get(index);
    if (s === undefined) {
      s = {
        index,
        eluWeighted: 0,
        periodUs: 0,
        delayMaxUs: 0,
        cpuUs: 0,
        cpuPeriodUs: 0,
        heapMinKb: Number.POSITIVE_INFINITY,
        heapMaxKb: 0,
        rssMaxKb: 0,
        handlesMin: Number.POSITIVE_INFINITY,
        requestsMin: Number.POSITIVE_INFINITY,
        gcUs: 0,
        gcCount: 0,
        gcMaxUs: 0,
        dropped: 0,
        pending: undefined,
      };
      this.seconds.set(index, s);
    }
    return s;
  }
}
