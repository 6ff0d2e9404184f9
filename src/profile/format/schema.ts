/**
 * The trace format's vocabulary: file and block framing constants and the event table. The table
 * is also written into every file's header, so a reader decodes events it has never heard of.
 * Imports nothing: the browser viewer bundles this folder as is.
 */

/** First 8 bytes of every segment (before gzip): "DIAL9JS" and a NUL. */
export const FILE_MAGIC = [0x44, 0x49, 0x41, 0x4c, 0x39, 0x4a, 0x53, 0x00] as const;
/**
 * Bumped when a reader of the previous version could no longer decode a file. Version 2 added
 * delta-coded fields (`FieldSpec.delta`) and numbered strings (`DEF_NUMBERED`); the decoder still
 * reads version 1, which has neither.
 */
export const FORMAT_VERSION = 2;
/** "D9BK" read as a little-endian u32: the start of every block. */
export const BLOCK_MAGIC = 0x4b423944;
/** magic u32, defs bytes u32, events bytes u32, event count u32, base/min/max time f64 each (µs). */
export const BLOCK_HEADER_BYTES = 40;
/** magic (8) + version u32 + header JSON length u32. */
export const FILE_PREAMBLE_BYTES = 16;

/** Definition kinds in a block's defs section. */
export const DEF_STRING = 1;
export const DEF_STACK = 2;
/**
 * Version 2: a string made of an earlier string (its prefix, 0 for none) and a decimal number, such
 * as a generated request id `<prefix>-<n>`: varint prefix id, then the number as a zigzag delta from
 * the previous numbered string of the same prefix in the block (0 before the first). Gets the next
 * string id, like `DEF_STRING`.
 */
export const DEF_NUMBERED = 3;

/**
 * Field kinds. `u`: unsigned integer, `i`: signed integer, `string`: id into the segment's string
 * table (0 = none), `stack`: id into its stack table (0 = none). All are varints on disk.
 */
export type FieldKind = 'u' | 'i' | 'string' | 'stack';

export interface FieldSpec {
  readonly name: string;
  readonly kind: FieldKind;
  /**
   * Version 2: written as a zigzag varint, the difference from this field of the previous event of
   * the same type in the block (0 before the first). For values that count up (request numbers,
   * ids of strings defined once): a constant small step instead of a growing number gzip cannot
   * predict. Decoded values are the same either way.
   */
  readonly delta?: true;
}

export interface EventSpec {
  readonly id: number;
  readonly name: string;
  readonly fields: readonly FieldSpec[];
  readonly doc: string;
}

const u = (name: string): FieldSpec => ({ name, kind: 'u' });
const i = (name: string): FieldSpec => ({ name, kind: 'i' });
const s = (name: string): FieldSpec => ({ name, kind: 'string' });
const k = (name: string): FieldSpec => ({ name, kind: 'stack' });
/** The same fields, delta-coded (see `FieldSpec.delta`). */
const ud = (name: string): FieldSpec => ({ name, kind: 'u', delta: true });
const sd = (name: string): FieldSpec => ({ name, kind: 'string', delta: true });

/** Event type ids, as the recorder writes them. Never reuse a retired id. */
export const EV = {
  clockSync: 1,
  stall: 2,
  loop: 3,
  resources: 4,
  gc: 5,
  requestOpen: 6,
  requestClose: 7,
  httpInStart: 8,
  httpInEnd: 9,
  httpOutStart: 10,
  httpOutHeaders: 11,
  httpOutEnd: 12,
  cpuSample: 13,
  trigger: 14,
  span: 15,
  mark: 16,
  callback: 17,
  dropped: 18,
  pending: 19,
  heapSample: 20,
  taskStart: 21,
  taskEnd: 22,
  stallOngoing: 23,
  writer: 24,
  pendingOrigin: 25,
  idle: 26,
  parks: 27,
  requestsSkipped: 28,
} as const;

/** Most fields any event has: the recorder's ring reserves this many slots per record. */
export const MAX_FIELDS = 6;

/**
 * Every event the recorder writes. An event's time is the start of what it describes (a stall,
 * a span, a GC pause), in µs of the process's `performance.now()` clock.
 */
export const EVENTS: readonly EventSpec[] = [
  { id: EV.clockSync, name: 'clockSync', fields: [ud('wallMs')], doc: 'wall-clock ms (Unix) at this time' },
  {
    id: EV.stall,
    name: 'stall',
    fields: [u('durationUs'), u('request'), u('inFlight'), u('cpuUs'), u('cpuWindowUs'), u('lateUs')],
    doc: 'a long stretch of main-thread work: its request (seq, 0 none), requests in flight through it (counted where it began), process CPU over the cpuWindowUs ending with it, how late the 10 ms watch timer fired',
  },
  {
    id: EV.loop,
    name: 'loop',
    fields: [u('eluPermille'), u('delayMaxUs'), u('loopCount'), u('uvEvents'), u('uvEventsWaiting'), u('periodUs')],
    doc: 'event loop over the last period: utilization, worst timer delay, libuv iterations and events',
  },
  {
    id: EV.resources,
    name: 'resources',
    fields: [u('cpuUserUs'), u('cpuSystemUs'), u('rssKb'), u('heapUsedKb'), u('handles'), u('requests')],
    doc: 'process resources every 100 ms: CPU since the previous sample, memory, active libuv handles and requests',
  },
  {
    id: EV.gc,
    name: 'gc',
    fields: [u('durationUs'), u('kind'), u('flags')],
    doc: 'a GC pause; kind (perf_hooks.constants): 1 minor, 4 major, 8 incremental, 16 weak callbacks; flags: 4 forced (gc())',
  },
  {
    id: EV.requestOpen,
    name: 'requestOpen',
    fields: [ud('request'), sd('requestId'), s('operation'), s('method'), sd('path')],
    doc: 'a request entered the service (service:request:opened)',
  },
  {
    id: EV.requestClose,
    name: 'requestClose',
    fields: [ud('request'), u('status'), u('durationUs'), s('errorKind')],
    doc: 'its wide event closed (service:request:closed)',
  },
  {
    id: EV.httpInStart,
    name: 'httpInStart',
    fields: [ud('request'), s('method'), sd('url')],
    doc: 'node:http server request started (http.server.request.start)',
  },
  {
    id: EV.httpInEnd,
    name: 'httpInEnd',
    fields: [ud('request'), u('status')],
    doc: 'node:http server response finished',
  },
  {
    id: EV.httpOutStart,
    name: 'httpOutStart',
    fields: [ud('request'), s('client'), s('method'), s('origin'), sd('path')],
    doc: 'an outgoing request was created (undici or node:http client)',
  },
  {
    id: EV.httpOutHeaders,
    name: 'httpOutHeaders',
    fields: [ud('request'), u('status')],
    doc: 'its response headers arrived',
  },
  {
    id: EV.httpOutEnd,
    name: 'httpOutEnd',
    fields: [ud('request'), u('status'), s('error')],
    doc: 'it finished (error names the failure, 0 when none)',
  },
  { id: EV.cpuSample, name: 'cpuSample', fields: [k('stack')], doc: 'a V8 CPU profiler sample of the main thread' },
  {
    id: EV.trigger,
    name: 'trigger',
    fields: [s('reason'), u('valueUs'), u('thresholdUs')],
    doc: 'a trigger fired: the segments around it are pinned',
  },
  {
    id: EV.span,
    name: 'span',
    fields: [ud('id'), s('target'), s('name'), u('durationUs'), u('request')],
    doc: 'a custom span from the recorder API',
  },
  { id: EV.mark, name: 'mark', fields: [s('target'), s('name'), i('value')], doc: 'a custom event' },
  {
    id: EV.callback,
    name: 'callback',
    fields: [u('durationUs'), s('type'), u('request')],
    doc: 'one callback (opt-in per-callback tracking through async_hooks)',
  },
  { id: EV.dropped, name: 'dropped', fields: [u('count')], doc: 'events lost before this point (buffers full)' },
  {
    id: EV.pending,
    name: 'pending',
    fields: [s('type'), u('count')],
    doc: 'pending operations by resource type (task-dump analog), sampled',
  },
  {
    id: EV.heapSample,
    name: 'heapSample',
    fields: [k('stack'), u('bytes')],
    doc: 'sampled allocations still live at the sampling time, by allocation stack',
  },
  { id: EV.taskStart, name: 'taskStart', fields: [ud('task'), s('name')], doc: 'a named background task started' },
  { id: EV.taskEnd, name: 'taskEnd', fields: [ud('task'), u('durationUs'), u('failed')], doc: 'it ended' },
  {
    id: EV.stallOngoing,
    name: 'stallOngoing',
    fields: [u('durationUs'), u('request'), u('inFlight')],
    doc: 'watchdog: the main thread has made no progress since this time, for durationUs so far (rewritten every second)',
  },
  {
    id: EV.writer,
    name: 'writer',
    fields: [u('heapUsedKb'), u('heapTotalKb'), u('externalKb'), ud('bytesWritten'), u('segmentStrings')],
    doc: "the recorder's writer thread every 10 s: its heap, external memory, bytes written, strings in the segment's table",
  },
  {
    id: EV.pendingOrigin,
    name: 'pendingOrigin',
    fields: [s('type'), k('stack'), u('count'), u('oldestAgeUs')],
    doc: 'task dump: sampled resources pending over the threshold, by type and creation stack; count, oldest age',
  },
  {
    id: EV.idle,
    name: 'idle',
    fields: [u('durationUs'), u('waitUs'), u('parks')],
    doc: "the loop parked (waited in the kernel) from this time for durationUs, the recorder's own wake-ups folded in; waitUs of it in the kernel, over parks polls (native addon)",
  },
  {
    id: EV.parks,
    name: 'parks',
    fields: [u('parks'), u('waitUs'), u('idlePeriods'), u('dropped'), u('periodUs')],
    doc: 'every 100 ms: loop polls (parks) over the period, kernel wait in them, idle events written and dropped (native addon)',
  },
  {
    id: EV.requestsSkipped,
    name: 'requestsSkipped',
    fields: [u('count'), u('spanUs'), u('maxDurationUs'), u('totalDurationUs'), u('errors')],
    doc: 'requests served but not written one by one (fast, not failed, over DIAL9_REQUEST_EVENTS_PER_SEC), from this time (the first one closed) over spanUs: how many, the slowest and total duration, how many had status >= 400',
  },
];

/** What the header's JSON holds (besides the schema, free-form metadata under `recording`). */
export interface TraceHeader {
  readonly format: 'dial9-node';
  readonly version: number;
  /** Unit of every time and of fields named `...Us`. */
  readonly timeUnit: 'us';
  /** What the times are measured against. */
  readonly clock: string;
  /** `performance.timeOrigin` of the recorded process: wall-clock ms at time 0. */
  readonly timeOriginMs: number;
  readonly segment: { readonly index: number; readonly startWallMs: number };
  readonly process: {
    readonly pid: number;
    readonly host: string;
    readonly service: string;
    readonly argv: readonly string[];
    readonly node: string;
  };
  /** What is recorded and what is off and why: the same text as the start-up line. */
  readonly recording: {
    readonly summary: string;
    readonly on: readonly string[];
    readonly off: Readonly<Record<string, string>>;
  };
  readonly config: Readonly<Record<string, unknown>>;
  readonly events: readonly EventSpec[];
}
