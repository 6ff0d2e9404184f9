/**
 * The recorder's side of its writer thread. The thread is unref'd: it never keeps a program alive.
 * `close()` seals asynchronously (service shutdown); `closeSync()` blocks the main thread on a
 * SharedArrayBuffer until the writer has sealed (the 'exit' event, where nothing async runs).
 * Sealed segments are announced on a port of their own, which both read synchronously once the
 * writer is done (`receiveMessageOnPort`): the last segment, sealed at exit, is announced too.
 */
import { performance } from 'node:perf_hooks';
import { MessageChannel, type MessagePort, receiveMessageOnPort, type Worker } from 'node:worker_threads';
import { startWorker } from '../../worker-thread.js';
import type { FromWriter, SealedSegmentInfo, ToWriter, WriterInit } from './protocol.js';

export interface WriterEvents {
  readonly onBuffer: (buffer: SharedArrayBuffer) => void;
  readonly onSealed: (segment: SealedSegmentInfo) => void;
  readonly onError: (message: string) => void;
  /** A message from the writer was handled; it arrived at `startMs` (the recorder's own wake-up). */
  readonly onHandled?: (startMs: number) => void;
}

export class RecorderWriter {
  #worker: Worker;
  /** Where the writer announces sealed segments. */
  #sealed: MessagePort;
  #onSealed: (segment: SealedSegmentInfo) => void;
  #alive = true;
  #closed: Promise<void>;
  #resolveClosed: () => void = () => {};
  diskBytes = 0;
  evicted = 0;
  /** Events the writer could not write (a full or failing disk). */
  lost = 0;
  written = 0;

  constructor(init: WriterInit, events: WriterEvents) {
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    const channel = new MessageChannel();
    this.#sealed = channel.port1;
    this.#onSealed = events.onSealed;
    this.#sealed.on('message', (message: FromWriter) => {
      if (message.op === 'sealed') events.onSealed(message.segment);
    });
    this.#sealed.unref();
    // No execArgv: a preload (--import of the recorder itself) must not run again in the writer.
    this.#worker = startWorker(new URL('./writer-worker.js', import.meta.url), 'dial9-writer', {
      workerData: { ...init, sealedPort: channel.port2 },
      transferList: [channel.port2],
      execArgv: [],
    });
    this.#worker.on('message', (message: FromWriter) => {
      const startMs = performance.now();
      switch (message.op) {
        case 'buffer':
          events.onBuffer(message.buffer);
          break;
        case 'error':
          events.onError(message.message);
          break;
        case 'stats':
          this.diskBytes = message.diskBytes;
          this.evicted = message.evicted;
          this.written = message.written;
          this.lost = message.lost;
          break;
        case 'closed':
          this.#resolveClosed();
          break;
      }
      events.onHandled?.(startMs);
    });
    this.#worker.on('error', (err) => {
      this.#alive = false;
      events.onError(`recorder writer thread failed: ${err.message}`);
      this.#resolveClosed();
    });
    this.#worker.on('exit', () => {
      this.#alive = false;
      this.#resolveClosed();
    });
    this.#worker.unref();
  }

  post(message: ToWriter): boolean {
    if (!this.#alive) return false;
    this.#worker.postMessage(message);
    return true;
  }

  /** Seals the active segment and stops the thread; resolves within `timeoutMs` whatever happens. */
  async close(timeoutMs: number): Promise<void> {
    if (this.post({ op: 'close' })) {
      this.#worker.ref();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#closed, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
    }
    this.#alive = false;
    await this.#worker.terminate();
    this.#drainSealed();
  }

  /** Announces the sealed segments whose messages are still queued (the last one, at close). */
  #drainSealed(): void {
    for (;;) {
      const received = receiveMessageOnPort(this.#sealed) as { message: FromWriter } | undefined;
      if (received === undefined) break;
      if (received.message.op === 'sealed') this.#onSealed(received.message.segment);
    }
    this.#sealed.close();
  }

  /** Seals while blocking this thread (for process 'exit'); false when it gave up after `timeoutMs`. */
  closeSync(timeoutMs: number): boolean {
    const done = new Int32Array(new SharedArrayBuffer(4));
    // A writer already gone has said why (onError): nothing to wait for.
    if (!this.post({ op: 'close', done })) return true;
    this.#alive = false;
    const sealed = Atomics.wait(done, 0, 0, timeoutMs) !== 'timed-out';
    this.#drainSealed();
    return sealed;
  }
}
