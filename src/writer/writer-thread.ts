/**
 * One writer thread serving any number of channels (stdout, stderr, rotated files). The thread does
 * every write, so a slow destination stalls it, never request handling; see line-channel.ts for
 * the request side.
 */
import { stderrLine } from '../stderr.js';
import { startWorker } from '../worker-thread.js';
import { startInThreadWriter, traceEventsRecorded, type WriterEndpoint } from './in-thread.js';
import { type ChannelOptions, LineChannel } from './line-channel.js';
import type { DestinationSpec, FromWorker, ToWorker } from './protocol.js';

export type { ChannelStats } from './line-channel.js';
export { LineChannel } from './line-channel.js';

export interface WriterOptions extends ChannelOptions {
  /** Called once when a destination starts failing (the thread rate-limits it). */
  readonly onIoError?: (channel: LineChannel, message: string, code: string | undefined) => void;
  readonly onRecovered?: (channel: LineChannel) => void;
}

/** Default for close(): a stuck disk or a stalled stdout reader must not hold the process forever. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5000;
/** terminate() cannot interrupt a thread blocked in a system call; do not wait on it longer. */
const TERMINATE_WAIT_MS = 1000;

/** One writer thread serving any number of channels (stdout, stderr, rotated files). */
export class WriterThread {
  #worker: WriterEndpoint;
  /** False when the writer runs on the main thread because trace events are recorded (in-thread.ts). */
  readonly ownThread: boolean;
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
    this.ownThread = !traceEventsRecorded();
    this.#worker = this.ownThread
      ? startWorker(new URL('./worker.js', import.meta.url), 'telemetry-writer')
      : startInThreadWriter();
    this.#worker.on('message', (message: FromWorker) => this.#receive(message));
    this.#worker.on('error', (err) => this.#die(err));
    this.#worker.on('exit', () => this.#die(undefined));
    // The writer must never keep the process alive on its own (flush and close hold it while
    // they wait). Unref after adding listeners: a new 'message' listener refs the port again.
    this.#worker.unref();
  }

  channel(destination: DestinationSpec): LineChannel {
    const id = this.#channels.length;
    const channel = new LineChannel((message) => this.post(message), id, destination, this.#options);
    this.#channels.push(channel);
    this.post({ op: 'open', channel: id, destination });
    return channel;
  }

  /** @internal */
  post(message: ToWorker): boolean {
    if (!this.#alive) return false;
    this.#worker.postMessage(message);
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
  close(timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
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
    await Promise.race([
      this.#worker.terminate(),
      new Promise((resolve) => setTimeout(resolve, TERMINATE_WAIT_MS).unref()),
    ]);
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
      case 'lost':
        this.#channels[message.channel]?.noteLost(message.entries);
        break;
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
    // The log pipeline is what died, so this one line goes straight to stderr.
    if (err !== undefined)
      void stderrLine({ level: 'error', target: 'service:telemetry', msg: `writer thread failed: ${err.message}` });
  }
}
