/**
 * One process of a trace as Chrome trace events, segment by segment: main-thread work (stalls,
 * callbacks, GC) as nested slices, requests and outgoing requests as async begin/end pairs, counters,
 * instants, and the CPU samples as a flame chart. Only what is still open (requests in flight, the
 * current CPU stack) is carried from one segment to the next.
 */
import type { DecodedSegment, EventColumns, TraceHeader } from '../format/index.js';
import { ResourceCounters } from './chrome-counters.js';
import { HangSlices } from './chrome-hangs.js';
import { HttpSlices } from './chrome-http.js';
import { idleSlices } from './chrome-idle.js';
import { instantEvents } from './chrome-instants.js';
import { SpanSlices } from './chrome-spans.js';
import { BATCH_EVENTS, type ExportClock, type OpenSlice, ProcessTracks, type TraceEvent } from './chrome-tracks.js';
import { field } from './columns.js';
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

export class ChromeProcess {
  readonly tracks: ProcessTracks;
  readonly #offsetUs: number;
  readonly #flame: CpuFlame;
  readonly #requests = new Map<number, OpenSlice>();
  readonly #http = new HttpSlices();
  readonly #hangs = new HangSlices();
  readonly #spans = new SpanSlices();
  readonly #counters = new ResourceCounters();
  readonly #clock: ExportClock = (timeUs) => this.#ts(timeUs);
  readonly #requestIds = new Map<number, string>();
  readonly #recentSeqs: number[] = [];
  #recentNext = 0;
  #inFlight = 0;
  firstUs = Number.POSITIVE_INFINITY;
  lastUs = Number.NEGATIVE_INFINITY;
  /** Ends whose beginning is not in the trace (evicted segment): left out, counted. */
  get unpaired(): number {
    return this.#http.unpaired;
  }

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
    this.#hangs.segment(seg);
    yield* idleSlices(seg, this.tracks, this.#clock);
    yield* this.#spans.segment(seg, this.tracks, this.#clock, this.#requestIds);
    yield* this.#http.segment(seg, this.tracks, this.#clock);
    yield* this.#counters.segment(seg, this.tracks.pid, this.#clock);
    yield* instantEvents(seg, this.tracks, this.#clock);
    yield* this.#cpu(seg);
  }

  /** Closes what is still open at the end of the trace (hangs, requests in flight, the CPU flame). */
  finish(): TraceEvent[] {
    const out: TraceEvent[] = [];
    // First: a hang reaches past every other event, and what is still open ends with it.
    this.#hangs.finish(this.tracks, this.#clock, this.#requestIds, out);
    const endUs = this.lastUs;
    for (const [seq, open] of this.#requests)
      this.tracks.asyncPair('requests', 'request', seq, open, endUs, { unfinished: true }, out);
    this.#requests.clear();
    this.#http.finish(this.tracks, endUs, out);
    const closed: FlameSlice[] = [];
    this.#flame.finish(closed);
    this.#flameSlices(closed, out);
    return out;
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
        this.tracks.asyncPair('requests', 'request', seq, open, endUs, endArgs, out);
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
