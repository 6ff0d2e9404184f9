/**
 * The writer thread: turns ring buffers and V8 profiles into encoded blocks, and blocks into
 * segment files (rotation, gzip, disk budget). Everything slow happens here, never on the thread
 * that serves requests.
 */
import { mkdirSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { encodeHeader, SegmentEncoder } from '../format/encoder.js';
import { EV, EVENTS, type TraceHeader } from '../format/schema.js';
import { Heartbeat } from './heartbeat.js';
import { INLINE_NUMBERED, InlineReader } from './inline-text.js';
import type { Batch, CpuProfile, FromWriter, HeapProfileNode, ProfileNode, ToWriter, WriterInit } from './protocol.js';
import { RECORD_SLOTS } from './ring.js';
import { SegmentFiles } from './segments.js';
import { nameThisThread } from './thread-name.js';

const init = workerData as WriterInit;
const port = parentPort;
if (port === null) throw new Error('the recorder writer runs in a worker thread');

/**
 * Which fields of each event type are strings (1) or stacks (2): the main thread sends both as its
 * string ids (a stack as V8's text, `at f (file:line:col)` lines), remapped here per segment.
 */
const STRING_FIELDS: (Uint8Array | undefined)[] = [];
for (const spec of EVENTS)
  STRING_FIELDS[spec.id] = Uint8Array.from(spec.fields, (f) => (f.kind === 'string' ? 1 : f.kind === 'stack' ? 2 : 0));
/** `at [async ]name (location)` or `at location`; location is `url:line:column` or a word like `native`. */
const FRAME_LINE = /^\s*at (?:async )?(?:(.*?) \((.*)\)|(.*))$/;
const LOCATION = /^(.*?):(\d+):(\d+)$/;
/** Stack texts already interned in the current segment (reset with it). */
let textStacks = new Map<string, number>();
/**
 * Inline strings (request ids, paths) recently defined in the current segment: a path repeats, a
 * request id never does. Small and cleared when full, so it costs no memory to speak of, unlike
 * remembering every one of them (see SegmentEncoder.stringOnce).
 */
let recentInline = new Map<string, number>();
const MAX_RECENT_INLINE = 1024;

/** The segment's id for an inline string: defined again unless seen among the recent ones. */
function inlineString(text: string): number {
  let id = recentInline.get(text);
  if (id !== undefined) return id;
  id = encoder.stringOnce(text);
  if (recentInline.size >= MAX_RECENT_INLINE) recentInline.clear();
  recentInline.set(text, id);
  return id;
}
/** The segment's id for the inline text a field refers to. */
function inlineText(inline: InlineReader, field: number): number {
  const bytes = inline.textBytes(field);
  if (lastTextId !== 0 && sameBytes(bytes, lastText)) return lastTextId;
  lastTextId = inlineString(inline.text(field));
  lastText = bytes.slice();
  return lastTextId;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = a.length - 1; i >= 0; i--) if (a[i] !== b[i]) return false;
  return true;
}

const MAX_TEXT_STACKS = 10_000;

/** The segment's stack id for a V8 stack text (leaf first), built from its outermost frame up. */
function stackFromText(text: string): number {
  const known = textStacks.get(text);
  if (known !== undefined) return known;
  let id = 0;
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = FRAME_LINE.exec(lines[i] as string);
    if (match === null) continue;
    const where = match[2] ?? match[3] ?? '';
    const location = LOCATION.exec(where);
    const url = location?.[1] ?? where;
    const line = location === null ? -1 : Number(location[2]) - 1;
    const column = location === null ? -1 : Number(location[3]) - 1;
    id = encoder.stack(id, match[1] || '(anonymous)', url, line, column);
  }
  if (textStacks.size < MAX_TEXT_STACKS) textStacks.set(text, id);
  return id;
}

const ROTATION_CHECK_MS = 250;
/** How often the watchdog looks at the main thread's heartbeat. */
const WATCHDOG_CHECK_MS = 50;
/** While the main thread stays stuck, its `stallOngoing` marker is written again this often. */
const WATCHDOG_REPORT_MS = 1000;
const STATS_INTERVAL_MS = 1000;
/** The writer's own memory goes into the trace this often. */
const SELF_REPORT_MS = 10_000;

let encoder = new SegmentEncoder();
const files = new SegmentFiles(init.dir, init);
/** The main thread's interned strings, by its ids. */
let mainStrings = new Map<number, string>();
/**
 * The current segment's string id for a main-thread string id (plain string fields only), so an
 * operation or method name costs an array read per event instead of two Map lookups. Reset with
 * the segment and when the main thread resets its ids.
 */
let segmentIds: number[] = [];
/** The last inline text's bytes and segment id: a path repeated back to back is matched on its bytes. */
let lastText = new Uint8Array(0);
let lastTextId = 0;
const fields = new Float64Array(RECORD_SLOTS);
let closed = false;

function post(message: FromWriter, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

/** A failing disk fails every block: say so once every 10 s, not 5 times a second. */
const ERROR_INTERVAL_MS = 10_000;
let lastErrorMs = Number.NEGATIVE_INFINITY;
function reportError(message: string): void {
  const now = Date.now();
  if (now - lastErrorMs < ERROR_INTERVAL_MS) return;
  lastErrorMs = now;
  post({ op: 'error', message });
}

function header(index: number): Uint8Array {
  const full: TraceHeader = { ...init.header, segment: { index, startWallMs: Date.now() } };
  return encodeHeader(full);
}

const sealedPort = init.sealedPort;
function onSealed(segment: Parameters<Parameters<SegmentFiles['seal']>[0]>[0]): void {
  sealedPort?.postMessage({ op: 'sealed', segment } satisfies FromWriter);
}

/**
 * Writes what the encoder holds as one block. The block's strings and stacks may be defined in
 * earlier blocks of the segment, so it never opens a new segment itself: the segment is sealed once
 * it reaches the size cap (over it by one block at most), and the next starts with fresh tables.
 */
function flushBlock(): void {
  const block = encoder.takeBlock();
  if (block === undefined) return;
  try {
    files.write(block, header, onSealed, false);
  } catch (err) {
    reportError(`cannot write trace segment in ${init.dir}: ${(err as Error).message}`);
  }
  if (files.activeBytes >= init.maxFileBytes) rotate();
}

/** Seals the active segment; the next block starts a new one, with fresh string and stack tables. */
function rotate(): void {
  flushBlock();
  try {
    files.seal(onSealed);
  } catch (err) {
    reportError(`cannot seal trace segment: ${(err as Error).message}`);
  }
  encoder = new SegmentEncoder();
  textStacks = new Map();
  recentInline = new Map();
  segmentIds = [];
  lastTextId = 0;
}

function encodeBatch(batch: Batch): void {
  if (batch.resetStrings) {
    mainStrings = new Map();
    segmentIds = [];
  }
  for (let i = 0; i < batch.defs.length; i += 2) mainStrings.set(batch.defs[i] as number, batch.defs[i + 1] as string);
  if (batch.dropped > 0) encoder.event(EV.dropped, batch.droppedAtMs * 1000, [batch.dropped]);
  const records = new Float64Array(batch.buffer, 0, batch.count * RECORD_SLOTS);
  const inline = new InlineReader(new Uint8Array(batch.buffer, batch.textOffset, batch.textBytes));
  for (let r = 0; r < batch.count; r++) {
    const base = r * RECORD_SLOTS;
    const type = records[base] as number;
    const strings = STRING_FIELDS[type];
    if (strings === undefined) continue;
    for (let f = 0; f < strings.length; f++) {
      let value = records[base + 2 + f] as number;
      if (strings[f] !== 0 && value !== 0) {
        if (value < 0) {
          value =
            inline.kind(value) === INLINE_NUMBERED
              ? encoder.numberedOnce(mainStrings.get(inline.prefixId(value)) ?? '', inline.number(value))
              : inlineText(inline, value);
        } else if (strings[f] === 2) {
          value = stackFromText(mainStrings.get(value) ?? '');
        } else {
          const known = segmentIds[value];
          if (known !== undefined) value = known;
          else {
            const id = encoder.string(mainStrings.get(value) ?? '');
            segmentIds[value] = id;
            value = id;
          }
        }
      }
      fields[f] = value;
    }
    encoder.event(type, (records[base + 1] as number) * 1000, fields);
  }
  post({ op: 'buffer', buffer: batch.buffer }, [batch.buffer]);
}

/** The frames of a profile node, by node id, as segment stack ids (the root frame left out). */
function stackIds(nodes: readonly ProfileNode[]): Map<number, number> {
  const parentOf = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const node of nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  }
  const ids = new Map<number, number>();
  const resolve = (id: number): number => {
    const known = ids.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    const parent = parentOf.get(id);
    if (node === undefined || parent === undefined) {
      ids.set(id, 0); // the root
      return 0;
    }
    const f = node.callFrame;
    const stack = encoder.stack(resolve(parent), f.functionName || '(anonymous)', f.url, f.lineNumber, f.columnNumber);
    ids.set(id, stack);
    return stack;
  };
  for (const node of nodes) resolve(node.id);
  return ids;
}

/** V8 time of the last CPU sample written: consecutive profiles overlap by a moment (hand-over). */
let lastSampleV8Us = Number.NEGATIVE_INFINITY;

function encodeCpuProfile(profile: CpuProfile): void {
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  const stacks = stackIds(profile.nodes);
  let timeUs = profile.startTime;
  const after = lastSampleV8Us;
  for (let i = 0; i < samples.length; i++) {
    timeUs += deltas[i] ?? 0;
    const node = samples[i] as number;
    if (timeUs <= after) continue;
    lastSampleV8Us = Math.max(lastSampleV8Us, timeUs);
    if (idle.has(node)) continue;
    fields[0] = stacks.get(node) ?? 0;
    encoder.event(EV.cpuSample, timeUs - init.hrtimeOffsetUs, fields);
  }
}

function encodeHeapProfile(head: HeapProfileNode, timeMs: number): void {
  const visit = (node: HeapProfileNode, parent: number, depth: number): void => {
    const f = node.callFrame;
    const stack =
      depth === 0 ? 0 : encoder.stack(parent, f.functionName || '(anonymous)', f.url, f.lineNumber, f.columnNumber);
    if (node.selfSize > 0 && depth > 0) {
      fields[0] = stack;
      fields[1] = node.selfSize;
      encoder.event(EV.heapSample, timeMs * 1000, fields);
    }
    for (const child of node.children) visit(child, stack, depth + 1);
  };
  visit(head, 0, 0);
}

function close(done: Int32Array | undefined): void {
  if (!closed) {
    closed = true;
    rotate();
  }
  post({ op: 'stats', diskBytes: files.diskBytes(), evicted: files.evicted, written: files.written });
  post({ op: 'closed' });
  if (done !== undefined) {
    Atomics.store(done, 0, 1);
    Atomics.notify(done, 0);
  }
}

/**
 * mkdir -p, one level at a time. Not `mkdirSync(dir, { recursive: true })`: on Node 20 that loops
 * forever under /proc (ENOENT again and again), and a worker stuck in native code cannot even be
 * terminated, so the process would never exit.
 */
function makeDirs(dir: string): void {
  const parts = resolve(dir).split(sep);
  for (let i = 2; i <= parts.length; i++) {
    const path = parts.slice(0, i).join(sep);
    try {
      mkdirSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

try {
  makeDirs(init.dir);
} catch (err) {
  reportError(`cannot create trace directory ${init.dir}: ${(err as Error).message}`);
}
/** `dial9-writer` in `top -H`: its CPU is measured apart from the service's (bench/recorder-memory.ts). */
nameThisThread('dial9-writer');

port.on('message', (message: ToWriter) => {
  if (closed && message.op !== 'close') {
    if (message.op === 'batch') post({ op: 'buffer', buffer: message.batch.buffer }, [message.batch.buffer]);
    return;
  }
  switch (message.op) {
    case 'batch':
      encodeBatch(message.batch);
      flushBlock();
      break;
    case 'cpu-profile':
      encodeCpuProfile(message.profile);
      flushBlock();
      break;
    case 'heap-profile':
      encodeHeapProfile(message.head, message.timeMs);
      flushBlock();
      break;
    case 'pin':
      files.pin(message.lookbackMs);
      break;
    case 'close':
      close(message.done);
      break;
  }
});

/**
 * The watchdog: a main thread that stops beating for longer than the stall threshold is stuck. Its
 * own `stall` event comes only when it returns, so the marker is written from here and flushed to
 * the `.active` file at once, then again every second with the duration so far: a process that hangs
 * and is killed leaves a trace that shows the hang, its start and how long it had lasted.
 */
const heartbeat = new Heartbeat(init.heartbeat);
/** This thread's performance.now() plus this, in ms: the main thread's clock. */
const toMainMs = performance.timeOrigin - init.header.timeOriginMs;
let lastCount = heartbeat.count();
let nextReportMs = 0;
setInterval(() => {
  const count = heartbeat.count();
  if (count === undefined || closed) return;
  if (count !== lastCount) {
    lastCount = count;
    nextReportMs = 0;
    return;
  }
  const now = performance.now() + toMainMs;
  const stuck = heartbeat.stuck();
  const stuckMs = now - stuck.sinceMs;
  if (stuckMs < init.stallThresholdMs || now < nextReportMs) return;
  nextReportMs = now + WATCHDOG_REPORT_MS;
  fields[0] = stuckMs * 1000;
  fields[1] = stuck.request;
  fields[2] = stuck.inFlight;
  encoder.event(EV.stallOngoing, stuck.sinceMs * 1000, fields);
  flushBlock();
}, WATCHDOG_CHECK_MS).unref();

setInterval(() => {
  if (!closed && files.dueForRotation(Date.now())) rotate();
}, ROTATION_CHECK_MS).unref();
/** This thread's own memory, into the trace: the recorder's footprint outside the main heap. */
setInterval(() => {
  if (closed) return;
  const heap = getHeapStatistics();
  fields[0] = Math.round(heap.used_heap_size / 1024);
  fields[1] = Math.round(heap.total_heap_size / 1024);
  fields[2] = Math.round(heap.external_memory / 1024);
  fields[3] = files.written;
  fields[4] = encoder.stringCount;
  encoder.event(EV.writer, (performance.now() + toMainMs) * 1000, fields);
}, SELF_REPORT_MS).unref();

setInterval(() => {
  post({ op: 'stats', diskBytes: files.diskBytes(), evicted: files.evicted, written: files.written });
}, STATS_INTERVAL_MS).unref();
