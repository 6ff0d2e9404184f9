/**
 * Turns decoded segments into what the page draws: per lane, typed arrays of one time window, and
 * the look-ups behind a click (a stall's stack and request, a range's flamegraph).
 */
import { type DecodedSegment, type EventColumns, stackFrames } from '../../../format/decoder.js';
import type { FlameNode, FrameInfo, RequestInfo, StallInfo, WindowData } from './protocol.js';

const f64 = (values: number[]) => Float64Array.from(values);

function col(columns: EventColumns | undefined, field: string): Float64Array {
  return (columns?.fields[field] as Float64Array | undefined) ?? new Float64Array(0);
}

/** Every event of `name` in [fromMs, toMs], across segments, as (segment, index) pairs in time order. */
function* inWindow(
  segments: readonly DecodedSegment[],
  name: string,
  fromMs: number,
  toMs: number,
): Generator<{ seg: DecodedSegment; cols: EventColumns; i: number; ms: number }> {
  for (const seg of segments) {
    const cols = seg.events[name];
    if (cols === undefined) continue;
    for (let i = 0; i < cols.count; i++) {
      const ms = (cols.time[i] as number) / 1000;
      if (ms >= fromMs && ms <= toMs) yield { seg, cols, i, ms };
    }
  }
}

/** Requests of the service (requestOpen/Close), else of any node:http server (httpInStart/End). */
interface Opened {
  requestId: string;
  operation: string;
  method: string;
  path: string;
  startMs: number;
}

function openedRequests(segments: readonly DecodedSegment[]): Map<number, Opened> {
  const opened = new Map<number, Opened>();
  for (const seg of segments) {
    const open = seg.events.requestOpen;
    if (open !== undefined) {
      const [req, id, op, method, path] = ['request', 'requestId', 'operation', 'method', 'path'].map((f) =>
        col(open, f),
      );
      for (let i = 0; i < open.count; i++) {
        opened.set(req?.[i] as number, {
          requestId: seg.strings[id?.[i] as number] ?? '',
          operation: seg.strings[op?.[i] as number] ?? '',
          method: seg.strings[method?.[i] as number] ?? '',
          path: seg.strings[path?.[i] as number] ?? '',
          startMs: (open.time[i] as number) / 1000,
        });
      }
    }
    const start = seg.events.httpInStart;
    if (start !== undefined && open === undefined) {
      const req = col(start, 'request');
      const method = col(start, 'method');
      const url = col(start, 'url');
      for (let i = 0; i < start.count; i++) {
        const path = seg.strings[url[i] as number] ?? '';
        opened.set(req[i] as number, {
          requestId: '',
          operation: `${seg.strings[method[i] as number] ?? ''} ${path.split('?')[0]}`,
          method: seg.strings[method[i] as number] ?? '',
          path,
          startMs: (start.time[i] as number) / 1000,
        });
      }
    }
  }
  return opened;
}

export function buildWindow(
  segments: readonly DecodedSegment[],
  fromMs: number,
  toMs: number,
  decodeMs: number,
  quick = false,
): WindowData {
  let events = 0;
  for (const seg of segments) for (const cols of Object.values(seg.events)) events += cols.count;

  const stalls = { start: [] as number[], dur: [] as number[], req: [] as number[], cpuShare: [] as number[] };
  for (const { cols, i, ms } of inWindow(segments, 'stall', fromMs - 60_000, toMs)) {
    const dur = (cols.fields.durationUs?.[i] as number) / 1000;
    if (ms + dur < fromMs) continue;
    stalls.start.push(ms);
    stalls.dur.push(dur);
    stalls.req.push(cols.fields.request?.[i] as number);
    const window = cols.fields.cpuWindowUs?.[i] as number;
    stalls.cpuShare.push(window > 0 ? (cols.fields.cpuUs?.[i] as number) / window : Number.NaN);
  }
  const gc = { start: [] as number[], dur: [] as number[], kind: [] as number[] };
  for (const { cols, i, ms } of inWindow(segments, 'gc', fromMs, toMs)) {
    gc.start.push(ms);
    gc.dur.push((cols.fields.durationUs?.[i] as number) / 1000);
    gc.kind.push(cols.fields.kind?.[i] as number);
  }
  const callbacks = { start: [] as number[], dur: [] as number[] };
  for (const { cols, i, ms } of inWindow(segments, 'callback', fromMs, toMs)) {
    callbacks.start.push(ms);
    callbacks.dur.push((cols.fields.durationUs?.[i] as number) / 1000);
  }

  // Incoming requests: from their close (it carries the duration), named by their open.
  const opened = openedRequests(segments);
  const ops: string[] = [];
  const opIndex = new Map<string, number>();
  const reqs: { start: number; dur: number; status: number; op: number; seq: number }[] = [];
  const addReq = (seq: number, endMs: number, durMs: number, status: number) => {
    const startMs = endMs - durMs;
    if (endMs < fromMs || startMs > toMs) return;
    const name = opened.get(seq)?.operation || '?';
    let op = opIndex.get(name);
    if (op === undefined) {
      op = ops.length;
      ops.push(name);
      opIndex.set(name, op);
    }
    reqs.push({ start: startMs, dur: durMs, status, op, seq });
  };
  let sawClose = false;
  for (const seg of segments) {
    const close = seg.events.requestClose;
    if (close === undefined) continue;
    sawClose = true;
    const req = col(close, 'request');
    const status = col(close, 'status');
    const dur = col(close, 'durationUs');
    for (let i = 0; i < close.count; i++)
      addReq(req[i] as number, (close.time[i] as number) / 1000, (dur[i] as number) / 1000, status[i] as number);
  }
  if (!sawClose) {
    for (const seg of segments) {
      const end = seg.events.httpInEnd;
      if (end === undefined) continue;
      const req = col(end, 'request');
      const status = col(end, 'status');
      for (let i = 0; i < end.count; i++) {
        const seq = req[i] as number;
        const endMs = (end.time[i] as number) / 1000;
        const startMs = opened.get(seq)?.startMs ?? endMs;
        addReq(seq, endMs, endMs - startMs, status[i] as number);
      }
    }
  }
  reqs.sort((a, b) => a.start - b.start);

  // Outgoing requests: start and end joined by their number.
  const outStart = new Map<number, number>();
  for (const { cols, i, ms } of inWindow(segments, 'httpOutStart', fromMs - 60_000, toMs))
    outStart.set(cols.fields.request?.[i] as number, ms);
  const reqOut = { start: [] as number[], dur: [] as number[], status: [] as number[], failed: [] as number[] };
  for (const { seg, cols, i, ms } of inWindow(segments, 'httpOutEnd', fromMs, toMs + 60_000)) {
    const start = outStart.get(cols.fields.request?.[i] as number) ?? ms;
    if (start > toMs) continue;
    reqOut.start.push(start);
    reqOut.dur.push(ms - start);
    reqOut.status.push(cols.fields.status?.[i] as number);
    reqOut.failed.push((seg.strings[cols.fields.error?.[i] as number] ?? '') === '' ? 0 : 1);
  }

  const fnNames: string[] = [];
  const fnIndex = new Map<string, number>();
  const cpu = { time: [] as number[], fn: [] as number[] };
  for (const seg of segments) {
    const samples = seg.events.cpuSample;
    if (samples === undefined) continue;
    const leafCache = new Map<number, number>();
    const stack = col(samples, 'stack');
    for (let i = 0; i < samples.count; i++) {
      const ms = (samples.time[i] as number) / 1000;
      if (ms < fromMs || ms > toMs) continue;
      const id = stack[i] as number;
      let fn = leafCache.get(id);
      if (fn === undefined) {
        const name = seg.strings[seg.stacks.functionName[id] ?? 0] || '(anonymous)';
        fn = fnIndex.get(name);
        if (fn === undefined) {
          fn = fnNames.length;
          fnNames.push(name);
          fnIndex.set(name, fn);
        }
        leafCache.set(id, fn);
      }
      cpu.time.push(ms);
      cpu.fn.push(fn);
    }
  }

  const loop = { time: [] as number[], elu: [] as number[], delayMs: [] as number[] };
  for (const { cols, i, ms } of inWindow(segments, 'loop', fromMs - 1000, toMs + 1000)) {
    loop.time.push(ms);
    loop.elu.push((cols.fields.eluPermille?.[i] as number) / 10);
    loop.delayMs.push((cols.fields.delayMaxUs?.[i] as number) / 1000);
  }
  const res = { time: [] as number[], rssMb: [] as number[], heapMb: [] as number[] };
  for (const { cols, i, ms } of inWindow(segments, 'resources', fromMs - 1000, toMs + 1000)) {
    res.time.push(ms);
    res.rssMb.push((cols.fields.rssKb?.[i] as number) / 1024);
    res.heapMb.push((cols.fields.heapUsedKb?.[i] as number) / 1024);
  }
  const sortByTime = <T extends { time: number[] }>(series: T): T => {
    const order = series.time.map((_, i) => i).sort((a, b) => (series.time[a] as number) - (series.time[b] as number));
    for (const key of Object.keys(series) as (keyof T)[]) {
      const values = series[key] as unknown as number[];
      (series[key] as unknown as number[]) = order.map((i) => values[i] as number);
    }
    return series;
  };
  sortByTime(loop);
  sortByTime(res);
  // Requests the recorder only counted (fast, successful, past its rate): not among `reqIn`.
  let requestsCounted = 0;
  for (const { cols, i } of inWindow(segments, 'requestsSkipped', fromMs, toMs))
    requestsCounted += cols.fields.count?.[i] as number;

  return {
    fromMs,
    toMs,
    events,
    decodeMs,
    quick,
    ops,
    stalls: { start: f64(stalls.start), dur: f64(stalls.dur), req: f64(stalls.req), cpuShare: f64(stalls.cpuShare) },
    gc: { start: f64(gc.start), dur: f64(gc.dur), kind: f64(gc.kind) },
    callbacks: { start: f64(callbacks.start), dur: f64(callbacks.dur) },
    reqIn: {
      start: Float64Array.from(reqs, (r) => r.start),
      dur: Float64Array.from(reqs, (r) => r.dur),
      status: Float64Array.from(reqs, (r) => r.status),
      op: Float64Array.from(reqs, (r) => r.op),
      seq: Float64Array.from(reqs, (r) => r.seq),
    },
    reqOut: { start: f64(reqOut.start), dur: f64(reqOut.dur), status: f64(reqOut.status), failed: f64(reqOut.failed) },
    cpu: { time: f64(cpu.time), fn: f64(cpu.fn) },
    fnNames,
    loop: { time: f64(loop.time), elu: f64(loop.elu), delayMs: f64(loop.delayMs) },
    res: { time: f64(res.time), rssMb: f64(res.rssMb), heapMb: f64(res.heapMb) },
    inflight: inFlight(reqs, fromMs, toMs),
    requestsCounted,
  };
}

/** Requests open over time, as at most ~1000 steps (the largest count of each step). */
function inFlight(reqs: readonly { start: number; dur: number }[], fromMs: number, toMs: number) {
  const points = reqs.flatMap((r) => [
    [r.start, 1],
    [r.start + r.dur, -1],
  ]) as [number, number][];
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const steps = 1000;
  const width = Math.max((toMs - fromMs) / steps, 1e-3);
  const time: number[] = [];
  const count: number[] = [];
  let open = 0;
  let bucket = -1;
  for (const [t, d] of points) {
    open += d;
    const b = Math.floor((t - fromMs) / width);
    if (b !== bucket) {
      bucket = b;
      time.push(fromMs + b * width);
      count.push(open);
    } else count[count.length - 1] = Math.max(count[count.length - 1] as number, open);
  }
  return { time: f64(time), count: f64(count) };
}

const frameCache = new WeakMap<DecodedSegment, Map<number, FrameInfo[]>>();

function framesOf(seg: DecodedSegment, stackId: number): FrameInfo[] {
  let cache = frameCache.get(seg);
  if (cache === undefined) {
    cache = new Map();
    frameCache.set(seg, cache);
  }
  let frames = cache.get(stackId);
  if (frames === undefined) {
    frames = stackFrames(seg, stackId);
    cache.set(stackId, frames);
  }
  return frames;
}

/** The CPU samples of [fromMs, toMs] as a tree, root first. */
export function flameTree(
  segments: readonly DecodedSegment[],
  fromMs: number,
  toMs: number,
): { root: FlameNode; samples: number } {
  const root: FlameNode = { name: 'all', url: '', line: 0, total: 0, self: 0, children: [] };
  let samples = 0;
  for (const { seg, cols, i } of inWindow(segments, 'cpuSample', fromMs, toMs)) {
    const frames = framesOf(seg, cols.fields.stack?.[i] as number);
    samples++;
    root.total++;
    let node = root;
    for (let f = frames.length - 1; f >= 0; f--) {
      const frame = frames[f] as FrameInfo;
      const name = frame.functionName || '(anonymous)';
      let child = node.children.find((c) => c.name === name && c.url === frame.url && c.line === frame.line);
      if (child === undefined) {
        child = { name, url: frame.url, line: frame.line, total: 0, self: 0, children: [] };
        node.children.push(child);
      }
      child.total++;
      node = child;
    }
    node.self++;
  }
  const sort = (node: FlameNode) => {
    node.children.sort((a, b) => b.total - a.total);
    node.children.forEach(sort);
  };
  sort(root);
  return { root, samples };
}

/** Requests by number, in one pass over the opens and closes of the segments. */
export function requestsBySeq(
  segments: readonly DecodedSegment[],
  seqs: ReadonlySet<number>,
): Map<number, RequestInfo> {
  const found = new Map<number, RequestInfo>();
  const blank = (seq: number): RequestInfo => ({
    seq,
    requestId: '',
    operation: '?',
    method: '',
    path: '',
    status: 0,
    startMs: 0,
    durationMs: 0,
  });
  for (const seg of segments) {
    const open = seg.events.requestOpen ?? seg.events.httpInStart;
    if (open === undefined) continue;
    const req = col(open, 'request');
    const text = (field: string, i: number) => seg.strings[open.fields[field]?.[i] as number] ?? '';
    for (let i = 0; i < open.count; i++) {
      const seq = req[i] as number;
      if (!seqs.has(seq)) continue;
      const method = text('method', i);
      const path = text('path', i) || text('url', i);
      found.set(seq, {
        ...(found.get(seq) ?? blank(seq)),
        requestId: text('requestId', i),
        operation: text('operation', i) || `${method} ${path.split('?')[0]}`,
        method,
        path,
        startMs: (open.time[i] as number) / 1000,
      });
    }
  }
  for (const seg of segments) {
    const close = seg.events.requestClose ?? seg.events.httpInEnd;
    if (close === undefined) continue;
    const req = col(close, 'request');
    for (let i = 0; i < close.count; i++) {
      const seq = req[i] as number;
      if (!seqs.has(seq)) continue;
      const before = found.get(seq) ?? blank(seq);
      const endMs = (close.time[i] as number) / 1000;
      const durUs = close.fields.durationUs?.[i];
      const durationMs = durUs === undefined ? endMs - (before.startMs || endMs) : durUs / 1000;
      found.set(seq, { ...before, status: col(close, 'status')[i] as number, startMs: endMs - durationMs, durationMs });
    }
  }
  return found;
}

/** One request, by its number or its request id. */
export function findRequest(
  segments: readonly DecodedSegment[],
  match: { seq?: number | undefined; requestId?: string | undefined },
): RequestInfo | undefined {
  let seq = match.seq;
  if (seq === undefined && match.requestId !== undefined) {
    for (const seg of segments) {
      const open = seg.events.requestOpen;
      const stringId = seg.strings.indexOf(match.requestId);
      if (open === undefined || stringId <= 0) continue;
      const ids = col(open, 'requestId');
      const i = ids.indexOf(stringId);
      if (i !== -1) seq = col(open, 'request')[i] as number;
    }
  }
  if (seq === undefined) return undefined;
  return requestsBySeq(segments, new Set([seq])).get(seq);
}

export function stallInfo(segments: readonly DecodedSegment[], startMs: number): StallInfo | undefined {
  for (const seg of segments) {
    const stalls = seg.events.stall;
    if (stalls === undefined) continue;
    for (let i = 0; i < stalls.count; i++) {
      const ms = (stalls.time[i] as number) / 1000;
      if (Math.abs(ms - startMs) > 0.002) continue;
      const durationMs = (stalls.fields.durationUs?.[i] as number) / 1000;
      // The stack seen most often during the stall.
      const counts = new Map<string, { seg: DecodedSegment; id: number; n: number; synthetic: boolean }>();
      let samples = 0;
      for (const s of inWindow(segments, 'cpuSample', ms, ms + durationMs)) {
        const id = s.cols.fields.stack?.[s.i] as number;
        const key = framesOf(s.seg, id)
          // By function, not line: samples of one loop land on several lines.
          .map((f) => `${f.functionName} ${f.url}`)
          .join('|');
        const entry = counts.get(key) ?? { seg: s.seg, id, n: 0, synthetic: isSynthetic(key) };
        entry.n++;
        counts.set(key, entry);
        samples++;
      }
      // V8's own entries ("(garbage collector)", "(program)") say no code: a GC inside a stall of a
      // named function must not hide the function. They are shown only when nothing else was seen.
      const candidates = [...counts.values()];
      const code = candidates.filter((c) => !c.synthetic);
      const top = (code.length > 0 ? code : candidates).sort((a, b) => b.n - a.n)[0];
      const window = stalls.fields.cpuWindowUs?.[i] as number;
      const seq = stalls.fields.request?.[i] as number;
      const config = seg.header.config as { cpuProfile?: unknown; cpuSampleHz?: unknown };
      const sampleHz = config.cpuProfile === true && typeof config.cpuSampleHz === 'number' ? config.cpuSampleHz : 0;
      return {
        startMs: ms,
        durationMs,
        cpuShare: window > 0 ? (stalls.fields.cpuUs?.[i] as number) / window : Number.NaN,
        inFlight: stalls.fields.inFlight?.[i] as number,
        samples,
        expectedSamples: sampleHz > 0 ? (durationMs * sampleHz) / 1000 : undefined,
        stack: top === undefined ? [] : framesOf(top.seg, top.id),
        request: seq > 0 ? findRequest(segments, { seq }) : undefined,
      };
    }
  }
  return undefined;
}

/**
 * A one-frame stack V8 writes for time that ran no JavaScript: `(garbage collector)`, `(program)`.
 * They have no script (the key ends in the empty url); an anonymous function of a script does.
 */
function isSynthetic(key: string): boolean {
  return key.startsWith('(') && key.endsWith(' ') && !key.includes('|');
}
