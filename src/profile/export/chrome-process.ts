/**
 * One process of a trace as Chrome trace events, segment by segment: main-thread work (stalls,
 * callbacks, GC) as nested slices, requests and outgoing requests as async begin/end pairs, counters,
 * instants, and the CPU samples as a flame chart. Only what is still open (requests in flight, the
 * current CPU stack) is carried from one segment to the next.
 */
import type { DecodedSegment, EventColumns, TraceHeader } from '../format/index.js';
import { ProcessTracks, type TraceEvent } from './chrome-tracks.js';
import { CpuFlame, type FlameSlice } from './cpu-flame.js';
import { startOrder, timeOrder } from './lanes.js';
import { SegmentStacks } from './stacks.js';

const GC_KINDS: Readonly<Record<number, string>> = {
  1: 'minor',
  2: 'mark-compact',
  4: 'major',
  8: 'incremental',
  16: 'weak callbacks',
};
/** Request ids kept after their request closed, so a stall written later can still name it. */
const RECENT_REQUEST_IDS = 100_000;
/** Events handed on at a time: a segment's millions of events never sit in one array. */
const BATCH_EVENTS = 4096;

interface OpenRequest {
  readonly timeUs: number;
  readonly name: string;
  readonly args: Record<string, unknown>;
}

const field = (columns: EventColumns, name: string, i: number): number =>
  (columns.fields[name] as Float64Array)[i] as number;

export class ChromeProcess {
  readonly tracks: ProcessTracks;
  readonly #offsetUs: number;
  readonly #flame: CpuFlame;
  readonly #requests = new Map<number, OpenRequest>();
  readonly #httpIn = new Map<number, OpenRequest>();
  readonly #httpOut = new Map<number, OpenRequest & { headersUs?: number }>();
  readonly #tasks = new Map<number, string>();
  readonly #requestIds = new Map<number, string>();
  readonly #recentSeqs: number[] = [];
  #recentNext = 0;
  #inFlight = 0;
  #lastResourcesUs = Number.NaN;
  firstUs = Number.POSITIVE_INFINITY;
  lastUs = Number.NEGATIVE_INFINITY;
  /** Ends whose beginning is not in the trace (evicted segment): left out, counted. */
  unpaired = 0;

  constructor(pid: number, header: TraceHeader, offsetUs: number) {
    this.tracks = new ProcessTracks(pid);
    this.#offsetUs = offsetUs;
    const hz = Number(header.config.cpuSampleHz);
    this.#flame = new CpuFlame(Number.isFinite(hz) ? hz : 99);
  }

  get cpuSamples(): { placed: number; skipped: number } {
    return { placed: this.#flame.samples, skipped: this.#flame.skipped };
  }

  /** Trace-clock µs to the export's integer µs. */
  #ts(timeUs: number): number {
    const ts = Math.round(timeUs + this.#offsetUs);
    if (ts < this.firstUs) this.firstUs = ts;
    if (ts > this.lastUs) this.lastUs = ts;
    return ts;
  }

  /** The events of one segment, in chunks (each chunk a list of events). */
  *segment(seg: DecodedSegment): Generator<TraceEvent[]> {
    yield* this.#requestsAndLoad(seg);
    yield* this.#mainThread(seg);
    yield* this.#spansAndTasks(seg);
    yield* this.#http(seg);
    yield* this.#counters(seg);
    yield* this.#instants(seg);
    yield* this.#cpu(seg);
  }

  /** Closes what is still open at the end of the trace (requests in flight, the CPU flame). */
  finish(): TraceEvent[] {
    const out: TraceEvent[] = [];
    const endUs = this.lastUs;
    const unfinished = [
      ['requests', 'request', this.#requests],
      ['httpIn', 'http.in', this.#httpIn],
      ['httpOut', 'http.out', this.#httpOut],
    ] as const;
    for (const [group, cat, open] of unfinished) {
      for (const [seq, request] of open) this.#asyncPair(group, cat, seq, request, endUs, { unfinished: true }, out);
      open.clear();
    }
    const closed: FlameSlice[] = [];
    this.#flame.finish(closed);
    this.#flameSlices(closed, out);
    return out;
  }

  #asyncPair(
    group: 'requests' | 'httpIn' | 'httpOut',
    cat: string,
    seq: number,
    open: OpenRequest,
    endUs: number,
    endArgs: Record<string, unknown>,
    out: TraceEvent[],
  ): void {
    const tid = this.tracks.tid(group, out);
    const id = `${this.tracks.pid}:${seq}`;
    const pid = this.tracks.pid;
    out.push({ ph: 'b', cat, name: open.name, id, pid, tid, ts: open.timeUs, args: open.args });
    out.push({ ph: 'e', cat, name: open.name, id, pid, tid, ts: Math.max(endUs, open.timeUs), args: endArgs });
  }

  /** Requests (wide events) in time order, and at every loop sample the number in flight. */
  *#requestsAndLoad(seg: DecodedSegment): Generator<TraceEvent[]> {
    let out: TraceEvent[] = [];
    const opens = seg.events.requestOpen;
    const closes = seg.events.requestClose;
    const loop = seg.events.loop;
    const openOrder = opens ? timeOrder(opens.time) : new Uint32Array(0);
    const closeOrder = closes ? timeOrder(closes.time) : new Uint32Array(0);
    const loopOrder = loop ? timeOrder(loop.time) : new Uint32Array(0);
    let o = 0;
    let c = 0;
    let l = 0;
    const timeAt = (cols: EventColumns | undefined, order: Uint32Array, k: number) =>
      cols !== undefined && k < order.length ? (cols.time[order[k] as number] as number) : Number.POSITIVE_INFINITY;
    for (;;) {
      if (out.length >= BATCH_EVENTS) {
        yield out;
        out = [];
      }
      const to = timeAt(opens, openOrder, o);
      const tc = timeAt(closes, closeOrder, c);
      const tl = timeAt(loop, loopOrder, l);
      if (to === Number.POSITIVE_INFINITY && tc === Number.POSITIVE_INFINITY && tl === Number.POSITIVE_INFINITY) break;
      if (opens !== undefined && to <= tc && to <= tl) {
        const i = openOrder[o++] as number;
        const seq = field(opens, 'request', i);
        const requestId = seg.strings[field(opens, 'requestId', i)] ?? '';
        const operation = seg.strings[field(opens, 'operation', i)] ?? '';
        this.#rememberRequestId(seq, requestId);
        this.#requests.set(seq, {
          timeUs: this.#ts(to),
          name: operation || 'request',
          args: {
            requestId,
            method: seg.strings[field(opens, 'method', i)] ?? '',
            path: seg.strings[field(opens, 'path', i)] ?? '',
          },
        });
        this.#inFlight++;
      } else if (closes !== undefined && tc <= tl) {
        const i = closeOrder[c++] as number;
        const seq = field(closes, 'request', i);
        const durationUs = field(closes, 'durationUs', i);
        const status = field(closes, 'status', i);
        const errorKind = seg.strings[field(closes, 'errorKind', i)] ?? '';
        const endUs = this.#ts(tc);
        let open = this.#requests.get(seq);
        if (open === undefined) {
          // Opened in a segment no longer on disk: its duration says when it began.
          open = {
            timeUs: this.#ts(tc - durationUs),
            name: 'request',
            args: { requestId: this.#requestIds.get(seq) ?? '' },
          };
        } else this.#inFlight = Math.max(0, this.#inFlight - 1);
        this.#requests.delete(seq);
        const endArgs = { status, durationMs: durationUs / 1000, ...(errorKind ? { errorKind } : {}) };
        this.#asyncPair('requests', 'request', seq, open, endUs, endArgs, out);
      } else if (loop !== undefined) {
        const i = loopOrder[l++] as number;
        const ts = this.#ts(tl);
        const pid = this.tracks.pid;
        out.push({ ph: 'C', name: 'requests in flight', pid, ts, args: { requests: this.#inFlight } });
        out.push({
          ph: 'C',
          name: 'event loop delay (ms)',
          pid,
          ts,
          args: { max: field(loop, 'delayMaxUs', i) / 1000 },
        });
        out.push({
          ph: 'C',
          name: 'event loop utilization (%)',
          pid,
          ts,
          args: { elu: field(loop, 'eluPermille', i) / 10 },
        });
      }
    }
    yield out;
  }

  #rememberRequestId(seq: number, requestId: string): void {
    // A ring of the last ids rather than Map insertion order: deleting a Map's oldest key over and
    // over makes finding the next oldest slower and slower (V8 keeps the holes until it rehashes).
    const evicted = this.#recentSeqs[this.#recentNext];
    if (evicted !== undefined) this.#requestIds.delete(evicted);
    this.#recentSeqs[this.#recentNext] = seq;
    this.#recentNext = (this.#recentNext + 1) % RECENT_REQUEST_IDS;
    this.#requestIds.set(seq, requestId);
  }

  /** Stalls, callbacks and GC pauses on the main thread, in start order so that they nest per lane. */
  *#mainThread(seg: DecodedSegment): Generator<TraceEvent[]> {
    let out: TraceEvent[] = [];
    const kinds = ['stall', 'callback', 'gc'] as const;
    const total = kinds.reduce((n, kind) => n + (seg.events[kind]?.count ?? 0), 0);
    if (total === 0) return;
    const start = new Float64Array(total);
    const end = new Float64Array(total);
    const kindOf = new Uint8Array(total);
    const indexOf = new Uint32Array(total);
    let n = 0;
    kinds.forEach((kind, k) => {
      const cols = seg.events[kind];
      if (cols === undefined) return;
      for (let i = 0; i < cols.count; i++, n++) {
        start[n] = this.#ts(cols.time[i] as number);
        end[n] = this.#ts((cols.time[i] as number) + field(cols, 'durationUs', i));
        kindOf[n] = k;
        indexOf[n] = i;
      }
    });
    for (const e of startOrder(start, end)) {
      if (out.length >= BATCH_EVENTS) {
        yield out;
        out = [];
      }
      const kind = kinds[kindOf[e] as number] as (typeof kinds)[number];
      const cols = seg.events[kind] as EventColumns;
      const i = indexOf[e] as number;
      const durationMs = field(cols, 'durationUs', i) / 1000;
      let name: string;
      let args: Record<string, unknown>;
      if (kind === 'stall') {
        const cpuWindowUs = field(cols, 'cpuWindowUs', i);
        const cpuUs = field(cols, 'cpuUs', i);
        const requestId = this.#requestIds.get(field(cols, 'request', i));
        name = 'stall';
        args = {
          durationMs,
          ...(requestId ? { requestId } : {}),
          inFlight: field(cols, 'inFlight', i),
          cpuShare: cpuWindowUs > 0 ? Math.round((cpuUs / cpuWindowUs) * 100) / 100 : null,
          lateMs: field(cols, 'lateUs', i) / 1000,
        };
      } else if (kind === 'callback') {
        const requestId = this.#requestIds.get(field(cols, 'request', i));
        name = `callback ${seg.strings[field(cols, 'type', i)] ?? ''}`.trim();
        args = { durationMs, ...(requestId ? { requestId } : {}) };
      } else {
        const gcKind = field(cols, 'kind', i);
        name = `GC ${GC_KINDS[gcKind] ?? `kind ${gcKind}`}`;
        args = { durationMs, forced: (field(cols, 'flags', i) & 4) !== 0 };
      }
      this.tracks.complete('main', start[e] as number, end[e] as number, name, kind, args, out);
    }
    yield out;
  }

  *#spansAndTasks(seg: DecodedSegment): Generator<TraceEvent[]> {
    let out: TraceEvent[] = [];
    const spans = seg.events.span;
    if (spans !== undefined) {
      const start = new Float64Array(spans.count);
      const end = new Float64Array(spans.count);
      for (let i = 0; i < spans.count; i++) {
        start[i] = this.#ts(spans.time[i] as number);
        end[i] = this.#ts((spans.time[i] as number) + field(spans, 'durationUs', i));
      }
      for (const i of startOrder(start, end)) {
        if (out.length >= BATCH_EVENTS) {
          yield out;
          out = [];
        }
        const target = seg.strings[field(spans, 'target', i)] ?? '';
        const requestId = this.#requestIds.get(field(spans, 'request', i));
        const name = `${target}: ${seg.strings[field(spans, 'name', i)] ?? ''}`;
        const args = { durationMs: field(spans, 'durationUs', i) / 1000, ...(requestId ? { requestId } : {}) };
        this.tracks.complete('spans', start[i] as number, end[i] as number, name, 'span', args, out);
      }
    }
    const starts = seg.events.taskStart;
    if (starts !== undefined)
      for (let i = 0; i < starts.count; i++)
        this.#tasks.set(field(starts, 'task', i), seg.strings[field(starts, 'name', i)] ?? 'task');
    const ends = seg.events.taskEnd;
    if (ends !== undefined) {
      const start = new Float64Array(ends.count);
      const end = new Float64Array(ends.count);
      for (let i = 0; i < ends.count; i++) {
        end[i] = this.#ts(ends.time[i] as number);
        start[i] = this.#ts((ends.time[i] as number) - field(ends, 'durationUs', i));
      }
      for (const i of startOrder(start, end)) {
        if (out.length >= BATCH_EVENTS) {
          yield out;
          out = [];
        }
        const task = field(ends, 'task', i);
        const name = this.#tasks.get(task) ?? 'task';
        this.#tasks.delete(task);
        const args = { durationMs: field(ends, 'durationUs', i) / 1000, failed: field(ends, 'failed', i) === 1 };
        this.tracks.complete('tasks', start[i] as number, end[i] as number, name, 'task', args, out);
      }
    }
    yield out;
  }

  /** Incoming (node:http) and outgoing requests: starts first, so an end finds its start in the same segment. */
  *#http(seg: DecodedSegment): Generator<TraceEvent[]> {
    let out: TraceEvent[] = [];
    const s = (cols: EventColumns, name: string, i: number) => seg.strings[field(cols, name, i)] ?? '';
    const inStart = seg.events.httpInStart;
    if (inStart !== undefined)
      for (let i = 0; i < inStart.count; i++) {
        const method = s(inStart, 'method', i);
        const url = s(inStart, 'url', i);
        this.#httpIn.set(field(inStart, 'request', i), {
          timeUs: this.#ts(inStart.time[i] as number),
          name: `${method} ${url}`.slice(0, 120),
          args: { method, url },
        });
      }
    const inEnd = seg.events.httpInEnd;
    if (inEnd !== undefined)
      for (let i = 0; i < inEnd.count; i++) {
        if (out.length >= BATCH_EVENTS) {
          yield out;
          out = [];
        }
        const seq = field(inEnd, 'request', i);
        const open = this.#httpIn.get(seq);
        if (open === undefined) {
          this.unpaired++;
          continue;
        }
        this.#httpIn.delete(seq);
        const endUs = this.#ts(inEnd.time[i] as number);
        this.#asyncPair('httpIn', 'http.in', seq, open, endUs, { status: field(inEnd, 'status', i) }, out);
      }
    const outStart = seg.events.httpOutStart;
    if (outStart !== undefined)
      for (let i = 0; i < outStart.count; i++) {
        const method = s(outStart, 'method', i);
        const origin = s(outStart, 'origin', i);
        const path = s(outStart, 'path', i);
        const client = s(outStart, 'client', i);
        this.#httpOut.set(field(outStart, 'request', i), {
          timeUs: this.#ts(outStart.time[i] as number),
          name: `${method} ${origin}${path}`.slice(0, 120),
          args: { client, method, origin, path },
        });
      }
    const headers = seg.events.httpOutHeaders;
    if (headers !== undefined)
      for (let i = 0; i < headers.count; i++) {
        const open = this.#httpOut.get(field(headers, 'request', i));
        if (open !== undefined) open.headersUs = this.#ts(headers.time[i] as number);
      }
    const outEnd = seg.events.httpOutEnd;
    if (outEnd !== undefined)
      for (let i = 0; i < outEnd.count; i++) {
        if (out.length >= BATCH_EVENTS) {
          yield out;
          out = [];
        }
        const seq = field(outEnd, 'request', i);
        const open = this.#httpOut.get(seq);
        if (open === undefined) {
          this.unpaired++;
          continue;
        }
        this.#httpOut.delete(seq);
        const endUs = this.#ts(outEnd.time[i] as number);
        const error = s(outEnd, 'error', i);
        const args = {
          status: field(outEnd, 'status', i),
          ...(error && error !== '0' ? { error } : {}),
          ...(open.headersUs === undefined ? {} : { headersAfterMs: (open.headersUs - open.timeUs) / 1000 }),
        };
        this.#asyncPair('httpOut', 'http.out', seq, open, endUs, args, out);
      }
    yield out;
  }

  /** Process resources every 100 ms and pending operations by type every second. */
  *#counters(seg: DecodedSegment): Generator<TraceEvent[]> {
    let out: TraceEvent[] = [];
    const pid = this.tracks.pid;
    const res = seg.events.resources;
    if (res !== undefined)
      for (const i of timeOrder(res.time)) {
        if (out.length >= BATCH_EVENTS) {
          yield out;
          out = [];
        }
        const timeUs = res.time[i] as number;
        const ts = this.#ts(timeUs);
        const counter = (name: string, args: Record<string, number>) => out.push({ ph: 'C', name, pid, ts, args });
        const periodUs = timeUs - this.#lastResourcesUs;
        if (periodUs > 0) {
          const cpuUs = field(res, 'cpuUserUs', i) + field(res, 'cpuSystemUs', i);
          counter('process CPU (%)', { cpu: Math.round((cpuUs / periodUs) * 1000) / 10 });
        }
        this.#lastResourcesUs = timeUs;
        counter('RSS (MB)', { rss: Math.round(field(res, 'rssKb', i) / 102.4) / 10 });
        counter('heap used (MB)', { heap: Math.round(field(res, 'heapUsedKb', i) / 102.4) / 10 });
        counter('active handles', { handles: field(res, 'handles', i) });
        counter('libuv requests', { requests: field(res, 'requests', i) });
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
        if (t !== at && !Number.isNaN(at))
          out.push({ ph: 'C', name: 'pending operations', pid, ts: this.#ts(at), args });
        if (t !== at) args = {};
        at = t;
        args[seg.strings[field(pending, 'type', i)] || 'unknown'] = field(pending, 'count', i);
      }
      if (!Number.isNaN(at)) out.push({ ph: 'C', name: 'pending operations', pid, ts: this.#ts(at), args });
    }
    yield out;
  }

  *#instants(seg: DecodedSegment): Generator<TraceEvent[]> {
    let out: TraceEvent[] = [];
    const pid = this.tracks.pid;
    const triggers = seg.events.trigger;
    if (triggers !== undefined)
      for (let i = 0; i < triggers.count; i++) {
        if (out.length >= BATCH_EVENTS) {
          yield out;
          out = [];
        }
        const reason = seg.strings[field(triggers, 'reason', i)] ?? '';
        const args = {
          reason,
          valueMs: field(triggers, 'valueUs', i) / 1000,
          thresholdMs: field(triggers, 'thresholdUs', i) / 1000,
        };
        const tid = this.tracks.tid('main', out);
        out.push({
          ph: 'i',
          s: 'p',
          name: `trigger: ${reason}`,
          cat: 'trigger',
          pid,
          tid,
          ts: this.#ts(triggers.time[i] as number),
          args,
        });
      }
    const marks = seg.events.mark;
    if (marks !== undefined)
      for (let i = 0; i < marks.count; i++) {
        if (out.length >= BATCH_EVENTS) {
          yield out;
          out = [];
        }
        const name = `${seg.strings[field(marks, 'target', i)] ?? ''}: ${seg.strings[field(marks, 'name', i)] ?? ''}`;
        const tid = this.tracks.tid('main', out);
        const ts = this.#ts(marks.time[i] as number);
        out.push({ ph: 'i', s: 't', name, cat: 'mark', pid, tid, ts, args: { value: field(marks, 'value', i) } });
      }
    const dropped = seg.events.dropped;
    if (dropped !== undefined)
      for (let i = 0; i < dropped.count; i++) {
        if (out.length >= BATCH_EVENTS) {
          yield out;
          out = [];
        }
        const tid = this.tracks.tid('main', out);
        const ts = this.#ts(dropped.time[i] as number);
        out.push({
          ph: 'i',
          s: 'p',
          name: 'dropped events',
          cat: 'dropped',
          pid,
          tid,
          ts,
          args: { count: field(dropped, 'count', i) },
        });
      }
    yield out;
  }

  *#cpu(seg: DecodedSegment): Generator<TraceEvent[]> {
    const samples = seg.events.cpuSample;
    if (samples === undefined) return;
    const stacks = new SegmentStacks(seg);
    const closed: FlameSlice[] = [];
    let out: TraceEvent[] = [];
    for (const i of timeOrder(samples.time)) {
      this.#flame.sample(samples.time[i] as number, stacks.rootFirst(field(samples, 'stack', i)), closed);
      if (closed.length > 4096) {
        this.#flameSlices(closed.splice(0), out);
        yield out;
        out = [];
      }
    }
    this.#flameSlices(closed, out);
    yield out;
  }

  #flameSlices(closed: readonly FlameSlice[], out: TraceEvent[]): void {
    if (closed.length === 0) return;
    const tid = this.tracks.tid('cpu', out);
    for (const { frame, startUs, endUs } of closed) {
      const ts = this.#ts(startUs);
      const args = { url: frame.url, line: frame.line, column: frame.column };
      out.push({
        ph: 'X',
        name: frame.functionName || '(anonymous)',
        cat: 'cpu',
        pid: this.tracks.pid,
        tid,
        ts,
        dur: this.#ts(endUs) - ts,
        args,
      });
    }
  }
}
