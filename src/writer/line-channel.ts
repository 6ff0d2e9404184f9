/**
 * The request-thread side of one destination. Entries are encoded straight into a batch buffer;
 * full batches are handed to the writer thread (shared memory, neither copied nor transferred: see
 * protocol.ts), which hands the buffer back once written, so steady state allocates nothing. The queue is bounded: once a channel holds
 * `maxQueuedBytes` that the thread has not confirmed, new entries are dropped and counted. So a slow,
 * stuck or full disk costs counted lines, never request latency or unbounded memory.
 */
import type { LineSink } from '../record/sink.js';
import type { DestinationSpec, ToWorker } from './protocol.js';

export interface ChannelOptions {
  /** Per channel: bytes accepted but not yet confirmed written. Default 16 MiB. */
  readonly maxQueuedBytes?: number;
  /** A batch is sent when its buffer is full, or after `flushIntervalMs`, whichever comes first. */
  readonly batchBytes?: number;
  readonly flushIntervalMs?: number;
}

export interface ChannelStats {
  /** Entries the destination confirmed. */
  readonly written: number;
  /** Entries refused because the queue was full (or the writer had closed). */
  readonly dropped: number;
  /** Entries the destination failed to take (disk full, closed pipe, ...). */
  readonly failed: number;
  /** Failure streaks that began (each reported once). */
  readonly ioErrors: number;
  /** Bytes waiting in memory or in flight to the writer thread. */
  readonly queuedBytes: number;
}

/** Sends a message to the writer thread; false when the thread is gone. */
export type PostToWriter = (message: ToWorker) => boolean;

const DEFAULT_MAX_QUEUED_BYTES = 16 * 1024 * 1024;
const DEFAULT_BATCH_BYTES = 256 * 1024;
const DEFAULT_FLUSH_INTERVAL_MS = 20;
/** Spare batch buffers kept for reuse per channel; more come back only under a burst. */
const MAX_SPARE_BUFFERS = 4;
/** UTF-8 needs at most 3 bytes per UTF-16 code unit. */
const MAX_BYTES_PER_CHAR = 3;

/** Send the batch once less than this is left: another line would rarely fit. */
const NEARLY_FULL_BYTES = 256;

export class LineChannel implements LineSink {
  readonly name: string;
  readonly destination: DestinationSpec;
  #id: number;
  #post: PostToWriter;
  #maxQueuedBytes: number;
  #batchBytes: number;
  #flushIntervalMs: number;
  #spare: Buffer[] = [];
  #batch: Buffer | undefined;
  #used = 0;
  #batchEntries = 0;
  #queuedBytes = 0;
  #inFlightEntries = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Set when the writer gave up on what was in flight: late confirmations must not count twice. */
  #abandoned = false;
  #written = 0;
  #dropped = 0;
  #failed = 0;
  #ioErrors = 0;

  /** @internal created by WriterThread.channel */
  constructor(post: PostToWriter, id: number, destination: DestinationSpec, options: ChannelOptions) {
    this.#post = post;
    this.#id = id;
    this.name = destination.name;
    this.destination = destination;
    this.#maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.#batchBytes = options.batchBytes ?? DEFAULT_BATCH_BYTES;
    this.#flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
  }

  write(entry: string, critical = false): void {
    if (this.#closed) {
      this.#dropped++;
      return;
    }
    const room = this.#batch === undefined ? 0 : this.#batch.length - this.#used;
    // Fast path: the entry fits even at 3 bytes a character, so no need to measure it first.
    const fits = entry.length * MAX_BYTES_PER_CHAR <= room;
    const bytes = fits ? entry.length : Buffer.byteLength(entry);
    if (!critical && this.#queuedBytes + bytes > this.#maxQueuedBytes) {
      this.#dropped++;
      return;
    }
    if (!fits && bytes > room) {
      this.send();
      this.#batch = this.#takeBuffer(bytes);
    }
    const batch = this.#batch as Buffer;
    const written = batch.write(entry, this.#used);
    this.#used += written;
    this.#queuedBytes += written;
    this.#batchEntries++;
    if (batch.length - this.#used < NEARLY_FULL_BYTES) {
      this.send();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.send(), this.#flushIntervalMs);
      this.#timer.unref();
    }
  }

  stats(): ChannelStats {
    return {
      written: this.#written,
      dropped: this.#dropped,
      failed: this.#failed,
      ioErrors: this.#ioErrors,
      queuedBytes: this.#queuedBytes,
    };
  }

  #takeBuffer(minBytes: number): Buffer {
    if (minBytes <= this.#batchBytes) {
      const spare = this.#spare.pop();
      if (spare !== undefined) return spare;
    }
    // Its own shared memory (never Node's pool): the writer thread reads it where it is.
    return Buffer.from(new SharedArrayBuffer(Math.max(this.#batchBytes, minBytes)));
  }

  /** @internal hands the current batch to the writer thread */
  send(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const batch = this.#batch;
    if (batch === undefined || this.#batchEntries === 0) return;
    const length = this.#used;
    const entries = this.#batchEntries;
    this.#batch = undefined;
    this.#used = 0;
    this.#batchEntries = 0;
    const message: ToWorker = { op: 'write', channel: this.#id, data: batch, length, entries };
    if (!this.#post(message)) {
      this.#queuedBytes -= length;
      this.#failed += entries;
      return;
    }
    this.#inFlightEntries += entries;
  }

  /** @internal the writer thread confirmed one batch and returned its buffer */
  confirm(data: Uint8Array, length: number, entries: number, failedEntries: number): void {
    if (this.#abandoned) return;
    this.#queuedBytes -= length;
    this.#inFlightEntries -= entries;
    this.#written += entries - failedEntries;
    this.#failed += failedEntries;
    if (data.byteLength === this.#batchBytes && this.#spare.length < MAX_SPARE_BUFFERS && !this.#closed) {
      this.#spare.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    }
  }

  /** @internal a failure streak began */
  noteIoError(): void {
    this.#ioErrors++;
  }

  /** @internal the destination lost `entries` it had confirmed (its file was deleted): a failure */
  noteLost(entries: number): void {
    if (this.#abandoned) return;
    const lost = Math.min(entries, this.#written);
    this.#written -= lost;
    this.#failed += lost;
    this.#ioErrors++;
  }

  /** @internal no more entries are accepted; whatever is still unconfirmed counts as failed */
  seal(abandonInFlight: boolean): void {
    this.send();
    this.#closed = true;
    this.#spare = [];
    if (abandonInFlight && !this.#abandoned) {
      this.#abandoned = true;
      this.#failed += this.#inFlightEntries;
      this.#inFlightEntries = 0;
      this.#queuedBytes = 0;
    }
  }
}
