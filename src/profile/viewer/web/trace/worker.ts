/**
 * The trace worker: fetches and decodes segments off the page's thread with the shared decoder.
 * The page runs two: one answers window, click and range requests (it keeps the segments of the
 * current window), the other folds the whole trace into the overview and answers searches.
 */
import { type DecodedSegment, stackFrames } from '../../../format/decoder.js';
import type { TraceHeader } from '../../../format/schema.js';
import { OverviewBuilder } from './overview.js';
import type { SearchHit, SegmentRef, TraceInfo, WorkerReply, WorkerRequest } from './protocol.js';
import { fetchHeader, fetchSegment, LATE_EVENTS_MS, segmentStartMs } from './segment-fetch.js';
import { buildWindow, findRequest, flameTree, requestsBySeq, stallInfo } from './window-data.js';

interface WorkerScope {
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
}
const scope = self as unknown as WorkerScope;

let segments: SegmentRef[] = [];
let starts: number[] = [];
/** The decoded segments of the current window (window worker). */
let kept: DecodedSegment[] = [];
/** Small traces are kept whole by the overview worker, so searches need no refetch. */
let whole: DecodedSegment[] | undefined;
const WHOLE_MAX_BYTES = 16 * 1024 * 1024;

/** Every typed array's buffer in a reply, to hand over instead of copying. */
function transferables(value: unknown, out: Transferable[] = []): Transferable[] {
  if (ArrayBuffer.isView(value)) out.push(value.buffer as ArrayBuffer);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) transferables(v, out);
  return out;
}

/** Every segment's header: from the server (it reads only their first bytes), else from the files. */
async function headersOf(traceId: string, refs: SegmentRef[]): Promise<TraceHeader[]> {
  const query = new URLSearchParams({ trace: traceId, segments: refs.map((r) => r.name).join(',') });
  const response = await fetch(`/api/headers?${query}`);
  if (response.ok) return ((await response.json()) as { headers: TraceHeader[] }).headers;
  return Promise.all(refs.map(fetchHeader));
}

async function open(traceId: string, refs: SegmentRef[]): Promise<TraceInfo> {
  segments = refs;
  const headers = await headersOf(traceId, refs);
  starts = headers.map(segmentStartMs);
  const first = headers[0];
  if (first === undefined) throw new Error('the trace has no segments');
  return {
    service: first.process.service,
    pid: first.process.pid,
    node: first.process.node,
    recording: first.recording.summary,
    timeOriginMs: first.timeOriginMs,
    segmentStartMs: starts,
    startMs: Math.min(...starts),
  };
}

/** Segments that may hold events of [fromMs, toMs]: those that overlap it, and the next (late CPU samples). */
function segmentsFor(fromMs: number, toMs: number, lateMs: number): number[] {
  const picked: number[] = [];
  for (let i = 0; i < segments.length; i++) {
    const start = starts[i] as number;
    const next = starts[i + 1] ?? Number.POSITIVE_INFINITY;
    if (start <= toMs + lateMs && next >= fromMs) picked.push(i);
  }
  return picked;
}

/** A quick read stops 1 s past the window (a stall is written when it ends); a full one waits for late CPU samples. */
const QUICK_LATE_MS = 1000;

async function loadWindow(fromMs: number, toMs: number, quick: boolean): Promise<DecodedSegment[]> {
  const lateMs = quick ? QUICK_LATE_MS : LATE_EVENTS_MS;
  return Promise.all(
    segmentsFor(fromMs, toMs, lateMs).map((i) =>
      fetchSegment(segments[i] as SegmentRef, { fromMs, toMs, stopAfterMs: toMs + lateMs }),
    ),
  );
}

async function overview(id: number): Promise<void> {
  const builder = new OverviewBuilder(Math.min(...starts), segments.length);
  const totalBytes = segments.reduce((sum, s) => sum + s.bytes, 0);
  const keep: DecodedSegment[] = [];
  for (const ref of segments) {
    const seg = await fetchSegment(ref);
    builder.add(seg);
    if (totalBytes <= WHOLE_MAX_BYTES) keep.push(seg);
    scope.postMessage({ type: 'overview', id, overview: builder.result() });
  }
  if (totalBytes <= WHOLE_MAX_BYTES) whole = keep;
}

const MAX_HITS = 50;

async function search(query: string): Promise<SearchHit[]> {
  const q = query.trim().toLowerCase();
  if (q === '') return [];
  const hits: SearchHit[] = [];
  const sources = whole ?? segments;
  for (const source of sources) {
    const seg = 'header' in source ? source : await fetchSegment(source);
    // Cheap first: a segment none of whose strings holds the text has no hit.
    const matching = new Set<number>();
    seg.strings.forEach((s, i) => {
      if (i > 0 && s.toLowerCase().includes(q)) matching.add(i);
    });
    if (matching.size === 0) continue;
    const open = seg.events.requestOpen;
    if (open !== undefined) {
      const fields = ['requestId', 'operation', 'path'].map((f) => open.fields[f] as Float64Array);
      const kinds = new Map<number, SearchHit['kind']>();
      for (let i = 0; i < open.count && kinds.size < MAX_HITS - hits.length; i++) {
        const which = fields.findIndex((f) => matching.has(f[i] as number));
        if (which !== -1) kinds.set(open.fields.request?.[i] as number, which === 0 ? 'request' : 'route');
      }
      for (const [seq, request] of requestsBySeq([seg], new Set(kinds.keys()))) {
        hits.push({
          kind: kinds.get(seq) ?? 'route',
          label: `${request.requestId} ${request.operation} ${request.method} ${request.path} → ${request.status} in ${request.durationMs.toFixed(1)} ms`,
          startMs: request.startMs,
          durationMs: request.durationMs,
          requestId: request.requestId,
        });
      }
    }
    const samples = seg.events.cpuSample;
    if (samples !== undefined && hits.length < MAX_HITS) {
      const stackHit = new Map<number, string | undefined>();
      let lastHitMs = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < samples.count && hits.length < MAX_HITS; i++) {
        const id = samples.fields.stack?.[i] as number;
        if (!stackHit.has(id)) {
          const frame = stackFrames(seg, id).find((f) => f.functionName.toLowerCase().includes(q));
          stackHit.set(id, frame?.functionName);
        }
        const name = stackHit.get(id);
        const ms = (samples.time[i] as number) / 1000;
        // One hit per burst of samples (50 ms apart or more), not one per sample.
        if (name === undefined || ms - lastHitMs < 50) continue;
        lastHitMs = ms;
        hits.push({ kind: 'function', label: `${name} on CPU`, startMs: ms, durationMs: 1 });
      }
    }
    if (hits.length >= MAX_HITS) break;
  }
  return hits.sort((a, b) => a.startMs - b.startMs);
}

async function handle(msg: WorkerRequest): Promise<void> {
  const id = msg.id;
  switch (msg.type) {
    case 'open':
      scope.postMessage({ type: 'open', id, info: await open(msg.trace, msg.segments) });
      return;
    case 'overview':
      if (segments.length === 0) await open(msg.trace, msg.segments);
      await overview(id);
      return;
    case 'window': {
      const started = performance.now();
      const quick = msg.quick === true;
      kept = await loadWindow(msg.fromMs, msg.toMs, quick);
      const data = buildWindow(kept, msg.fromMs, msg.toMs, performance.now() - started, quick);
      scope.postMessage({ type: 'window', id, data }, transferables(data));
      return;
    }
    case 'stall':
      scope.postMessage({ type: 'stall', id, stall: stallInfo(kept, msg.startMs) });
      return;
    case 'flame':
      scope.postMessage({ type: 'flame', id, ...flameTree(kept, msg.fromMs, msg.toMs) });
      return;
    case 'request': {
      let request = findRequest(kept, { seq: msg.seq, requestId: msg.requestId });
      if (request === undefined && msg.requestId !== undefined) {
        for (const ref of whole ?? segments) {
          const seg = 'header' in ref ? ref : await fetchSegment(ref);
          request = findRequest([seg], { requestId: msg.requestId });
          if (request !== undefined) break;
        }
      }
      scope.postMessage({ type: 'request', id, request });
      return;
    }
    case 'search':
      scope.postMessage({ type: 'search', id, hits: await search(msg.query) });
      return;
  }
}

scope.onmessage = (event) => {
  handle(event.data).catch((err: unknown) => {
    scope.postMessage({ type: 'error', id: event.data.id, message: (err as Error).message ?? String(err) });
  });
};
