/**
 * Process resources (every 100 ms), requests only counted, and pending operations by type (every
 * second) as counters.
 */
import type { DecodedSegment } from '../format/index.js';
import { BATCH_EVENTS, type ExportClock, type TraceEvent } from './chrome-tracks.js';
import { field } from './columns.js';
import { timeOrder } from './lanes.js';

const mb = (kb: number) => Math.round(kb / 102.4) / 10;

export class ResourceCounters {
  /** CPU is reported per sample as time used since the previous one: the share needs its period. */
  #lastResourcesUs = Number.NaN;

  *segment(seg: DecodedSegment, pid: number, ts: ExportClock): Generator<TraceEvent[]> {
    let out: TraceEvent[] = [];
    const res = seg.events.resources;
    if (res !== undefined)
      for (const i of timeOrder(res.time)) {
        if (out.length >= BATCH_EVENTS) {
          yield out;
          out = [];
        }
        const timeUs = res.time[i] as number;
        const at = ts(timeUs);
        const counter = (name: string, args: Record<string, number>) => out.push({ ph: 'C', name, pid, ts: at, args });
        const periodUs = timeUs - this.#lastResourcesUs;
        if (periodUs > 0) {
          const cpuUs = field(res, 'cpuUserUs', i) + field(res, 'cpuSystemUs', i);
          counter('process CPU (%)', { cpu: Math.round((cpuUs / periodUs) * 1000) / 10 });
        }
        this.#lastResourcesUs = timeUs;
        counter('RSS (MB)', { rss: mb(field(res, 'rssKb', i)) });
        counter('heap used (MB)', { heap: mb(field(res, 'heapUsedKb', i)) });
        counter('active handles', { handles: field(res, 'handles', i) });
        counter('libuv requests', { requests: field(res, 'requests', i) });
      }
    // Requests the recorder counted instead of writing (fast, successful, past its rate): each run
    // of them as a count, so the request tracks' gaps at full load read as sampled, not idle.
    const skipped = seg.events.requestsSkipped;
    if (skipped !== undefined)
      for (const i of timeOrder(skipped.time)) {
        if (out.length >= BATCH_EVENTS) {
          yield out;
          out = [];
        }
        out.push({
          ph: 'C',
          name: 'requests only counted (fast, successful)',
          pid,
          ts: ts(skipped.time[i] as number),
          args: { requests: field(skipped, 'count', i) },
        });
      }
    const pending = seg.events.pending;
    if (pending !== undefined) {
      // One counter event per sampling time, one series per type.
      let args: Record<string, number> = {};
      let at = Number.NaN;
      for (const i of timeOrder(pending.time)) {
        if (out.length >= BATCH_EVENTS) {
          yield out;
          out = [];
        }
        const t = pending.time[i] as number;
        if (t !== at && !Number.isNaN(at)) out.push({ ph: 'C', name: 'pending operations', pid, ts: ts(at), args });
        if (t !== at) args = {};
        at = t;
        args[seg.strings[field(pending, 'type', i)] || 'unknown'] = field(pending, 'count', i);
      }
      if (!Number.isNaN(at)) out.push({ ph: 'C', name: 'pending operations', pid, ts: ts(at), args });
    }
    yield out;
  }
}
