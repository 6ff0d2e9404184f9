/** Messages between the recorder (main thread) and its writer thread. */
import type { MessagePort } from 'node:worker_threads';
import type { TraceHeader } from '../format/schema.js';

/**
 * One full ring buffer on its way to the writer, and back once encoded. Shared memory, not
 * transferred: transferring detaches the sender's ArrayBuffer, and V8's first detach in a thread
 * takes away, for good, the fast path of every typed-array access in that thread's JavaScript (a
 * Float64Array loop ran 1.45x slower in the service's process after the recorder's first batch).
 * Only one thread uses a buffer at a time: the message hands it over.
 */
export interface Batch {
  readonly buffer: SharedArrayBuffer;
  /** Records in `buffer`, from its start. */
  readonly count: number;
  /** New interned strings: id, text, id, text, ... */
  readonly defs: readonly (number | string)[];
  /**
   * Strings used once (request ids, paths) are bytes in `buffer` from `textOffset`, `textBytes` of
   * them: a field value of -(o + 1) is the entry at offset o of that area (inline-text.ts).
   */
  readonly textOffset: number;
  readonly textBytes: number;
  /** The main thread forgot its interned strings before this batch: forget them too. */
  readonly resetStrings: boolean;
  /** Events lost (no free buffer) since the previous batch. */
  readonly dropped: number;
  readonly droppedAtMs: number;
}

/** A V8 CPU or heap profile: only the parts the writer reads. */
export interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
    readonly columnNumber: number;
  };
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface HeapProfileNode {
  readonly id: number;
  readonly callFrame: ProfileNode['callFrame'];
  readonly selfSize: number;
  readonly children: readonly HeapProfileNode[];
}

export interface WriterInit {
  readonly dir: string;
  readonly rotationMs: number;
  readonly maxFileBytes: number;
  readonly maxDiskBytes: number;
  /** Header of every segment; the writer fills in `segment`. */
  readonly header: Omit<TraceHeader, 'segment'>;
  /** process.hrtime in µs minus performance.now() in µs, on the main thread: V8 profile times → trace times. */
  readonly hrtimeOffsetUs: number;
  /** The main thread's Heartbeat: the watchdog writes `stallOngoing` when it stops for longer than `stallThresholdMs`. */
  readonly heartbeat: SharedArrayBuffer;
  readonly stallThresholdMs: number;
  /** Filled in by RecorderWriter: where `sealed` messages go (read synchronously at close). */
  readonly sealedPort?: MessagePort;
}

export type ToWriter =
  | { readonly op: 'batch'; readonly batch: Batch }
  | { readonly op: 'cpu-profile'; readonly profile: CpuProfile }
  | { readonly op: 'heap-profile'; readonly head: HeapProfileNode; readonly timeMs: number }
  /** Pin the active segment, the next one, and the sealed ones written in the last `lookbackMs` (at least the newest). */
  | { readonly op: 'pin'; readonly lookbackMs: number }
  /** Seal and stop; when `done` is given, store 1 into it and notify (the main thread may be blocked waiting). */
  | { readonly op: 'close'; readonly done?: Int32Array };

export interface SealedSegmentInfo {
  readonly path: string;
  readonly bytes: number;
  readonly index: number;
  readonly pinned: boolean;
}

export type FromWriter =
  | { readonly op: 'buffer'; readonly buffer: SharedArrayBuffer }
  | { readonly op: 'sealed'; readonly segment: SealedSegmentInfo }
  | { readonly op: 'error'; readonly message: string }
  | {
      readonly op: 'stats';
      readonly diskBytes: number;
      readonly evicted: number;
      readonly written: number;
      /** Events in blocks that could not be written (a full or failing disk), since the start. */
      readonly lost: number;
    }
  | { readonly op: 'closed' };
