/**
 * The whole trace at one-second resolution, folded segment by segment (each decoded, folded and
 * dropped, so memory stays bounded): request rate and worst duration, stalls, GC, counters, the
 * slowest requests, and from them the "worst first" points of interest.
 */
import type { DecodedSegment } from '../../../format/decoder.js';
import type { OverviewData, PointOfInterest, RequestInfo } from './protocol.js';

const SLOWEST_KEPT = 50;

export class OverviewBuilder {
  #startMs: number;
  /** The earliest event: a stall is written when it ends, with the time it began (before the segment's start). */
  #minMs = Number.POSITIVE_INFINITY;
  #endMs: number;
  #events = 0;
  #done = 0;
  #total: number;
  #perSecond = { count: [] as number[], maxDurMs: [] as number[], errors: [] as number[] };
  #stalls: { startMs: number; durationMs: number }[] = [];
  #gc: { startMs: number; durationMs: number; kind: number }[] = [];
  #loop = { time: [] as number[], elu: [] as number[], delayMs: [] as number[] };
  #res = { time: [] as number[], rssMb: [] as number[], heapMb: [] as number[] };
  #slow: RequestInfo[] = [];

  constructor(startMs: number, total: number) {
    this.#startMs = startMs;
    this.#endMs = startMs;
    this.#total = total;
  }

  add(seg: DecodedSegment): void {
    this.#done++;
    for (const block of seg.blocks) if (block.events > 0) this.#minMs = Math.min(this.#minMs, block.minUs / 1000);
    for (const cols of Object.values(seg.events)) {
      this.#events += cols.count;
      if (cols.count > 0) this.#endMs = Math.max(this.#endMs, (cols.time[cols.count - 1] as number) / 1000);
    }
    const second = (ms: number) => Math.max(0, Math.floor((ms - this.#startMs) / 1000));
    const close = seg.events.requestClose ?? seg.events.httpInEnd;
    if (close !== undefined) {
      const dur = close.fields.durationUs;
      const status = close.fields.status as Float64Array;
      const seqs = close.fields.request as Float64Array;
      const { count, maxDurMs, errors } = this.#perSecond;
      let floor = this.#slow.length < SLOWEST_KEPT ? 0 : (this.#slow[this.#slow.length - 1]?.durationMs ?? 0);
      let candidates: { i: number; durMs: number }[] = [];
      for (let i = 0; i < close.count; i++) {
        const endMs = (close.time[i] as number) / 1000;
        const durMs = dur === undefined ? 0 : (dur[i] as number) / 1000;
        const s = second(endMs - durMs);
        count[s] = (count[s] ?? 0) + 1;
        maxDurMs[s] = Math.max(maxDurMs[s] ?? 0, durMs);
        if ((status[i] as number) >= 500) errors[s] = (errors[s] ?? 0) + 1;
        if (durMs > floor) {
          candidates.push({ i, durMs });
          if (candidates.length > SLOWEST_KEPT * 4) {
            candidates = candidates.sort((a, b) => b.durMs - a.durMs).slice(0, SLOWEST_KEPT);
            floor = candidates[candidates.length - 1]?.durMs ?? 0;
          }
        }
      }
      candidates = candidates.sort((a, b) => b.durMs - a.durMs).slice(0, SLOWEST_KEPT);
      const wanted = new Map<number, RequestInfo>();
      for (const { i, durMs } of candidates) {
        const seq = seqs[i] as number;
        const endMs = (close.time[i] as number) / 1000;
        wanted.set(seq, {
          seq,
          requestId: '',
          operation: '?',
          method: '',
          path: '',
          status: status[i] as number,
          startMs: endMs - durMs,
          durationMs: durMs,
        });
      }
      nameRequests(seg, wanted);
      this.#slow.push(...wanted.values());
      this.#slow.sort((a, b) => b.durationMs - a.durationMs);
      this.#slow.length = Math.min(this.#slow.length, SLOWEST_KEPT);
    }
    // Requests the recorder only counted (fast, successful, past its rate): in the rate, not in the lists.
    const skipped = seg.events.requestsSkipped;
    if (skipped !== undefined) {
      const { count, maxDurMs } = this.#perSecond;
      for (let i = 0; i < skipped.count; i++) {
        const s = second((skipped.time[i] as number) / 1000);
        count[s] = (count[s] ?? 0) + (skipped.fields.count?.[i] as number);
        maxDurMs[s] = Math.max(maxDurMs[s] ?? 0, (skipped.fields.maxDurationUs?.[i] as number) / 1000);
      }
    }
    const stall = seg.events.stall;
    if (stall !== undefined)
      for (let i = 0; i < stall.count; i++)
        this.#stalls.push({
          startMs: (stall.time[i] as number) / 1000,
          durationMs: (stall.fields.durationUs?.[i] as number) / 1000,
        });
    const gc = seg.events.gc;
    if (gc !== undefined)
      for (let i = 0; i < gc.count; i++)
        this.#gc.push({
          startMs: (gc.time[i] as number) / 1000,
          durationMs: (gc.fields.durationUs?.[i] as number) / 1000,
          kind: gc.fields.kind?.[i] as number,
        });
    const loop = seg.events.loop;
    if (loop !== undefined)
      for (let i = 0; i < loop.count; i++) {
        this.#loop.time.push((loop.time[i] as number) / 1000);
        this.#loop.elu.push((loop.fields.eluPermille?.[i] as number) / 10);
        this.#loop.delayMs.push((loop.fields.delayMaxUs?.[i] as number) / 1000);
      }
    const res = seg.events.resources;
    if (res !== undefined)
      for (let i = 0; i < res.count; i++) {
        this.#res.time.push((res.time[i] as number) / 1000);
        this.#res.rssMb.push((res.fields.rssKb?.[i] as number) / 1024);
        this.#res.heapMb.push((res.fields.heapUsedKb?.[i] as number) / 1024);
      }
  }

  result(): OverviewData {
    const fill = (values: number[]) => Array.from({ length: values.length }, (_, i) => values[i] ?? 0);
    return {
      segmentsDone: this.#done,
      segmentsTotal: this.#total,
      startMs: Math.min(this.#startMs, this.#minMs),
      perSecondStartMs: this.#startMs,
      endMs: this.#endMs,
      events: this.#events,
      perSecond: {
        count: fill(this.#perSecond.count),
        maxDurMs: fill(this.#perSecond.maxDurMs),
        errors: fill(this.#perSecond.errors),
      },
      stalls: this.#stalls,
      gc: this.#gc,
      loop: this.#loop,
      res: this.#res,
      slowRequests: this.#slow,
      points: pointsOfInterest(this.#stalls, this.#gc, this.#slow, this.#loop),
    };
  }
}

/** Fills in request ids and operations from the segment's opens (one pass, only the wanted ones). */
function nameRequests(seg: DecodedSegment, wanted: Map<number, RequestInfo>): void {
  const open = seg.events.requestOpen;
  if (open === undefined || wanted.size === 0) return;
  const req = open.fields.request as Float64Array;
  for (let i = 0; i < open.count; i++) {
    const request = wanted.get(req[i] as number);
    if (request === undefined) continue;
    const text = (field: string) => seg.strings[open.fields[field]?.[i] as number] ?? '';
    wanted.set(request.seq, {
      ...request,
      requestId: text('requestId'),
      operation: text('operation'),
      method: text('method'),
      path: text('path'),
    });
  }
}

function severity(ms: number, warnMs: number, criticalMs: number): PointOfInterest['severity'] {
  return ms >= criticalMs ? 'critical' : ms >= warnMs ? 'warning' : 'info';
}

const RANK = { critical: 0, warning: 1, info: 2 } as const;

/** Worst first: severity, then duration. Used until (or where) the analysis is not available. */
export function pointsOfInterest(
  stalls: readonly { startMs: number; durationMs: number }[],
  gc: readonly { startMs: number; durationMs: number; kind: number }[],
  slow: readonly RequestInfo[],
  loop: { time: number[]; delayMs: number[] },
): PointOfInterest[] {
  const points: PointOfInterest[] = [];
  for (const s of stalls)
    points.push({
      kind: 'long-callback',
      severity: severity(s.durationMs, 50, 200),
      summary: `main thread busy ${s.durationMs.toFixed(1)} ms`,
      startMs: s.startMs,
      durationMs: s.durationMs,
    });
  for (const g of gc)
    if (g.durationMs >= 10)
      points.push({
        kind: 'gc',
        severity: severity(g.durationMs, 20, 100),
        summary: `GC pause ${g.durationMs.toFixed(1)} ms (${g.kind === 4 ? 'major' : g.kind === 1 ? 'minor' : `kind ${g.kind}`})`,
        startMs: g.startMs,
        durationMs: g.durationMs,
      });
  for (const r of slow.slice(0, 10))
    points.push({
      kind: 'slow-request',
      severity: severity(r.durationMs, 100, 1000),
      summary: `slow request ${r.operation} ${r.status} ${r.durationMs.toFixed(1)} ms`,
      startMs: r.startMs,
      durationMs: r.durationMs,
      requestId: r.requestId,
    });
  for (let i = 0; i < loop.time.length; i++) {
    const delay = loop.delayMs[i] as number;
    if (delay >= 100)
      points.push({
        kind: 'event-loop-delay',
        severity: severity(delay, 100, 500),
        summary: `event loop delay ${delay.toFixed(0)} ms`,
        startMs: (loop.time[i] as number) - 100,
        durationMs: 100,
      });
  }
  return points.sort((a, b) => RANK[a.severity] - RANK[b.severity] || b.durationMs - a.durationMs).slice(0, 200);
}
