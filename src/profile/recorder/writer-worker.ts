/**
 * The writer thread: has ring buffers and V8 profiles encoded (batch-encoder.ts), and writes the
 * blocks into segment files (rotation, gzip, disk budget), with the watchdog beside it. Everything slow happens here, never on the thread
 * that serves requests.
 */
import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { makeDir } from '../../make-dir.js';
import { encodeHeader } from '../format/encoder.js';
import { EV, type TraceHeader } from '../format/schema.js';
import { BatchEncoder } from './batch-encoder.js';
import { Heartbeat } from './heartbeat.js';
import type { FromWriter, ToWriter, WriterInit } from './protocol.js';
import { RECORD_SLOTS } from './ring.js';
import { SegmentFiles } from './segments.js';
import { nameThisThread } from './thread-name.js';

const init = workerData as WriterInit;
const port = parentPort;
if (port === null) throw new Error('the recorder writer runs in a worker thread');

/**
 * The writer's one timer: the watchdog's look at the heartbeat and the rotation check. Its period
 * only sets how soon a hang's first marker reaches the file, not the start the marker gives (that
 * comes from the heartbeat). Four wake-ups a second instead of the 25 that separate timers made
 * (watchdog every 50 ms, rotation every 250, stats every 1,000): each wake-up costs the thread a
 * scheduling round trip, on the service's own CPU where the two share one.
 */
const TICK_MS = 250;
/** While the main thread stays stuck, its `stallOngoing` marker is written again this often. */
const WATCHDOG_REPORT_MS = 1000;
/** Disk usage goes to the main thread (the RuntimeMetrics record) every this many ticks: 1 s. */
const STATS_EVERY_TICKS = 4;
/** The writer's own memory goes into the trace every this many ticks: 10 s. */
const SELF_REPORT_EVERY_TICKS = 40;

/** This thread's performance.now() plus this, in ms: the main thread's clock. */
const toMainMs = performance.timeOrigin - init.header.timeOriginMs;
const encoder = new BatchEncoder(init.hrtimeOffsetUs);
const files = new SegmentFiles(init.dir, {
  rotationMs: init.rotationMs,
  maxFileBytes: init.maxFileBytes,
  maxDiskBytes: init.maxDiskBytes,
  finishedSiblings: true,
});
const fields = new Float64Array(RECORD_SLOTS);
let closed = false;
/** Events in blocks that could not be written, since the start (the RuntimeMetrics record counts them as dropped). */
let lost = 0;
/** Of those, the ones no `dropped` event in the trace accounts for yet, and when the first was lost (µs). */
let unrecordedLoss = 0;
let lossStartedUs = 0;

function post(message: FromWriter): void {
  port?.postMessage(message);
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
  if (unrecordedLoss > 0) {
    // Blocks lost since the last one written: the trace says how many events are missing, and when.
    fields[0] = unrecordedLoss;
    encoder.event(EV.dropped, lossStartedUs, fields);
  }
  const events = encoder.pendingEvents;
  // `dropped` events in the block: the ring's, and this function's own for an earlier loss.
  const markers = encoder.pendingDrops.markers + (unrecordedLoss > 0 ? 1 : 0);
  const ringDropped = encoder.pendingDrops.count;
  const block = encoder.takeBlockParts();
  if (block === undefined) return;
  try {
    files.write(block, header, onSealed, false);
    unrecordedLoss = 0;
  } catch (err) {
    reportError(`cannot write trace segment in ${init.dir}: ${(err as Error).message}`);
    // The block's data events are lost (counted once, here); the drops its `dropped` events
    // reported (the ring's, already counted by the main thread, and an earlier loss of this
    // thread's) go into the next `dropped` event instead, so the trace still adds up.
    const lostNow = events - markers;
    if (unrecordedLoss === 0) lossStartedUs = (performance.now() + toMainMs) * 1000;
    unrecordedLoss += lostNow + ringDropped;
    lost += lostNow;
    // Later blocks may use strings and stacks this one defined: a segment holding blocks ends with
    // what it has (all of it decodes). One holding only its header stays open (sealing it would
    // hand an empty segment to the hook, and count against the budget, at every refused block).
    // Either way the next block starts with fresh tables.
    if (files.activeHoldsBlocks) {
      try {
        files.seal(onSealed);
      } catch (sealErr) {
        reportError(`cannot seal trace segment: ${(sealErr as Error).message}`);
      }
    }
    encoder.newSegment();
    return;
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
  encoder.newSegment();
}

function close(done: Int32Array | undefined): void {
  if (!closed) {
    closed = true;
    rotate();
  }
  post({ op: 'stats', diskBytes: files.diskBytes(), evicted: files.evicted, written: files.written, lost });
  post({ op: 'closed' });
  if (done !== undefined) {
    Atomics.store(done, 0, 1);
    Atomics.notify(done, 0);
  }
}

try {
  // One level at a time (make-dir.ts): Node 20's recursive mkdir loops forever under /proc, and a
  // worker stuck in native code cannot even be terminated.
  makeDir(init.dir);
} catch (err) {
  reportError(`cannot create trace directory ${init.dir}: ${(err as Error).message}`);
}
/** `dial9-writer` in `top -H`: its CPU is measured apart from the service's (bench/recorder-memory.ts). */
nameThisThread('dial9-writer');

port.on('message', (message: ToWriter) => {
  if (closed && message.op !== 'close') {
    if (message.op === 'batch') post({ op: 'buffer', buffer: message.batch.buffer });
    return;
  }
  switch (message.op) {
    case 'batch':
      encoder.batch(message.batch);
      post({ op: 'buffer', buffer: message.batch.buffer });
      flushBlock();
      break;
    case 'cpu-profile':
      encoder.cpuProfile(message.profile);
      flushBlock();
      break;
    case 'heap-profile':
      encoder.heapProfile(message.head, message.timeMs);
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
let lastCount = heartbeat.count();
let nextReportMs = 0;
function watch(): void {
  const count = heartbeat.count();
  if (count === undefined) return;
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
}

/** This thread's own memory, into the trace: the recorder's footprint outside the main heap. */
function reportSelf(): void {
  const heap = getHeapStatistics();
  fields[0] = Math.round(heap.used_heap_size / 1024);
  fields[1] = Math.round(heap.total_heap_size / 1024);
  fields[2] = Math.round(heap.external_memory / 1024);
  fields[3] = files.written;
  fields[4] = encoder.stringCount;
  encoder.event(EV.writer, (performance.now() + toMainMs) * 1000, fields);
}

let ticks = 0;
setInterval(() => {
  ticks++;
  if (ticks % STATS_EVERY_TICKS === 0)
    post({ op: 'stats', diskBytes: files.diskBytes(), evicted: files.evicted, written: files.written, lost });
  if (closed) return;
  watch();
  if (files.dueForRotation(Date.now())) rotate();
  if (ticks % SELF_REPORT_EVERY_TICKS === 0) reportSelf();
}, TICK_MS).unref();
