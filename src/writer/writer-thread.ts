/**
 * The request-thread side of the writer. Each channel encodes entries straight into a batch
 * buffer; full batches are transferred (not copied) to one writer thread, which hands the buffer
 * back once written, so steady state allocates nothing. The queue is bounded: once a channel holds
 * `maxQueuedBytes` that the thread has not confirmed, new entries are dropped and counted. So a
 * slow, stuck or full disk costs counted lines, never request latency or unbounded memory.
 */
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { LineSink } from '../record/sink.js';
import type { DestinationSpec, FromWorker, ToWorker } from './protocol.js';

export interface WriterOptions {
  /** Per channel: bytes accepted but not yet confirmed written. Default 16 MiB. */
  readonly maxQueuedBytes?: number;
  /** A batch is sent when its buffer is full, or after `flushIntervalMs`, whichever comes first. */
  readonly batchBytes?: number;
  readonly flushIntervalMs?: number;
  /** Called once when a destination starts failing (the thread rate-limits it). */
  readonly onIoError?: (channel: LineChannel, message: string, code: string | undefined) => void;
  readonly onRecovered?: (channel: LineChannel) => void;
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

const DEFAULT_MAX_QUEUED_BYTES = 16 * 1024 * 1024;
const DEFAULT_BATCH_BYTES = 256 * 1024;
const DEFAULT_FLUSH_INTERVAL_MS = 20;
/** Spare batch buffers kept for reuse per channel; more come back only under a burst. */
const MAX_SPARE_BUFFERS = 4;
/** UTF-8 needs at most 3 bytes per UTF-16 code unit. */
const MAX_BYTES_PER_CHAR = 3;

const FROM_SOURCES = import.meta.url.endsWith('.ts');

/**
 * Starts the writer worker. From the sources (bin/dev.js) it is a .ts file, and a worker does not
 * inherit the parent's TypeScript loader, so a two-line bootstrap registers tsx first.
 */
function startWorker(): Worker {
  const name = 'telemetry-writer';
  if (!FROM_SOURCES) return new Worker(new URL('./worker.js', import.meta.url), { name });
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href;
  const worker = new URL('./worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(worker)}); });`;
  return new Worker(bootstrap, { eval: true, name });
}

export class LineChannel implements LineSink {
  readonly name: string;
  readonly destination: DestinationSpec;
  #id: number;
  #thread: WriterThread;
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
  #written = 0;
  #dropped = 0;
  #failed = 0;
  #ioErrors = 0;

  /** @internal created by WriterThread.channel */
  constructor(thread: WriterThread, id: number, destination: DestinationSpec, options: WriterOptions) {
    this.#thread = thread;
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
    if (batch.length - this.#used < 256) {
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
    // Its own ArrayBuffer (never Node's shared pool), so it can be transferred.
    return Buffer.allocUnsafeSlow(Math.max(this.#batchBytes, minBytes));
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
    if (
      !this.#thread.post({ op: 'write', channel: this.#id, data: batch, length, entries }, [
        batch.buffer as ArrayBuffer,
      ])
    ) {
      this.#queuedBytes -= length;
      this.#failed += entries;
      return;
    }
    this.#inFlightEntries += entries;
  }

  /** @internal the writer thread confirmed one batch and returned its buffer */
  confirm(data: Uint8Array, length: number, entries: number, failedEntries: number): void {
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

  /** @internal no more entries are accepted; whatever is still unconfirmed counts as failed */
  seal(abandonInFlight: boolean): void {
    this.send();
    this.#closed = true;
    this.#spare = [];
    if (abandonInFlight && this.#inFlightEntries > 0) {
      this.#failed += this.#inFlightEntries;
      this.#inFlightEntries = 0;
      this.#queuedBytes = 0;
    }
  }
}

/** One writer thread serving any number of channels (stdout, stderr, rotated files). */
export class WriterThread {
  #worker: Worker;
  #options: WriterOptions;
  #channels: LineChannel[] = [];
  #flushes = new Map<number, () => void>();
  #nextFlushId = 0;
  #onClosed: (() => void) | undefined;
  #alive = true;
  #closing: Promise<void> | undefined;
  #holds = 0;

  constructor(options: WriterOptions = {}) {
    this.#options = options;
    this.#worker = startWorker();
    this.#worker.on('message', (message: FromWorker) => this.#receive(message));
    this.#worker.on('error', (err) => this.#die(err));
    this.#worker.on('exit', () => this.#die(undefined));
    // The writer must never keep the process alive on its own (flush and close hold it while
    // they wait). Unref after adding listeners: a new 'message' listener refs the port again.
    this.#worker.unref();
  }

  channel(destination: DestinationSpec): LineChannel {
    const id = this.#channels.length;
    const channel = new LineChannel(this, id, destination, this.#options);
    this.#channels.push(channel);
    this.post({ op: 'open', channel: id, destination });
    return channel;
  }

  /** @internal */
  post(message: ToWorker, transfer: ArrayBuffer[] = []): boolean {
    if (!this.#alive) return false;
    this.#worker.postMessage(message, transfer);
    return true;
  }

  /** Resolves when everything written to any channel before the call is at its destination. */
  flush(): Promise<void> {
    for (const channel of this.#channels) channel.send();
    if (!this.#alive) return Promise.resolve();
    const id = this.#nextFlushId++;
    return this.#holdingProcess(
      new Promise((resolve) => {
        this.#flushes.set(id, resolve);
        this.post({ op: 'flush', id });
      }),
    );
  }

  /** Keeps the process alive until `promise` settles: an answer from the thread is on its way. */
  async #holdingProcess<T>(promise: Promise<T>): Promise<T> {
    if (this.#holds++ === 0) this.#worker.ref();
    try {
      return await promise;
    } finally {
      if (--this.#holds === 0) this.#worker.unref();
    }
  }

  /**
   * Writes out everything queued, closes the destinations and stops the thread. Gives up after
   * `timeoutMs` (a stuck disk or a stalled stdout reader must not hold the process forever);
   * what was still unconfirmed then is counted as failed.
   */
  close(timeoutMs = 5000): Promise<void> {
    this.#closing ??= this.#close(timeoutMs);
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<void> {
    for (const channel of this.#channels) channel.seal(false);
    let timer: NodeJS.Timeout | undefined;
    const closed = new Promise<boolean>((resolve) => {
      this.#onClosed = () => resolve(true);
      if (!this.post({ op: 'close' })) resolve(true);
    });
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const clean = await this.#holdingProcess(Promise.race([closed, timedOut]));
    clearTimeout(timer);
    for (const channel of this.#channels) channel.seal(!clean);
    this.#alive = false;
    await this.#worker.terminate();
  }

  #receive(message: FromWorker): void {
    switch (message.op) {
      case 'written':
        this.#channels[message.channel]?.confirm(message.data, message.length, message.entries, message.failedEntries);
        break;
      case 'io-error': {
        const channel = this.#channels[message.channel];
        if (channel === undefined) break;
        channel.noteIoError();
        this.#options.onIoError?.(channel, message.message, message.code);
        break;
      }
      case 'recovered': {
        const channel = this.#channels[message.channel];
        if (channel !== undefined) this.#options.onRecovered?.(channel);
        break;
      }
      case 'flushed':
        this.#flushes.get(message.id)?.();
        this.#flushes.delete(message.id);
        break;
      case 'closed':
        this.#onClosed?.();
        break;
    }
  }

  #die(err: Error | undefined): void {
    if (!this.#alive) return;
    this.#alive = false;
    for (const channel of this.#channels) channel.seal(true);
    for (const resolve of this.#flushes.values()) resolve();
    this.#flushes.clear();
    this.#onClosed?.();
    if (err !== undefined) {
      // The log pipeline is what died, so this one line goes straight to stderr.
      try {
        writeSync(
          2,
          `${JSON.stringify({ level: 'error', target: 'service:telemetry', msg: `writer thread failed: ${err.message}` })}\n`,
        );
      } catch {
        // Nothing left to tell.
      }
    }
  }
}
