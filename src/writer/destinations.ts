/**
 * Where the writer thread puts bytes: stdout or stderr here, files in file-destination.ts, sockets
 * in socket-destinations.ts. Runs only in the writer thread, so a slow or stuck destination stalls
 * this thread, never request handling.
 */
import { write as writeCb } from 'node:fs';
import { promisify } from 'node:util';
import { type DestinationHooks, RotatingFileDestination } from './file-destination.js';
import type { DestinationSpec } from './protocol.js';
import { SerialWrites } from './serial-writes.js';
import { openSocketDestination } from './socket-destinations.js';

const fsWrite = promisify(writeCb);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A full pipe (EAGAIN) is retried after this, doubling up to the maximum while it stays full. */
const FIRST_EAGAIN_RETRY_MS = 2;
const MAX_EAGAIN_RETRY_MS = 100;

export interface DestinationEvents {
  /** A failure streak began (reported once per streak). */
  onError(err: NodeJS.ErrnoException): void;
  onRecovered(): void;
  /** Files only: the open file was deleted; `lostEntries` it had confirmed went with it. */
  onFileDeleted?(lostEntries: number): void;
  /**
   * Files only: the deleted file's last write has come back; `lostEntries` is everything that went
   * with it, the confirmed entries and those still in flight when it was found deleted.
   */
  onFileDeletedSettled?(lostEntries: number): void;
  /** Files only: a torn last line (`cutBytes` long) was cut before writing to the file. */
  onRepaired?(cutBytes: number): void;
}

export interface Destination {
  /**
   * Resolves undefined when every byte was written, or with the error that stopped it. `entries`
   * is how many entries `data` holds (a file counts them, to report what a deletion took).
   */
  write(data: Buffer, entries: number): Promise<Error | undefined>;
  /** Waits for pending writes and releases the destination. */
  close(): Promise<void>;
}

export function openDestination(
  spec: DestinationSpec,
  events: DestinationEvents,
  hooks: DestinationHooks = {},
): Destination {
  if (spec.kind === 'fd') return new FdDestination(spec.fd, events);
  if (spec.kind === 'socket') return openSocketDestination(spec, events);
  return new RotatingFileDestination(spec, events, hooks);
}

/**
 * stdout or stderr. Writes are serialised, one at a time. A pipe whose reader is slow answers
 * EAGAIN (retried here) or, if blocking, holds one libuv pool thread until it drains: at most one
 * pool thread per destination, and never the event loop of the request thread.
 */
class FdDestination implements Destination {
  #fd: number;
  #events: DestinationEvents;
  #serial = new SerialWrites();
  #dead: Error | undefined;
  #failing = false;

  constructor(fd: number, events: DestinationEvents) {
    this.#fd = fd;
    this.#events = events;
  }

  write(data: Buffer): Promise<Error | undefined> {
    return this.#serial.run(() => this.#writeAll(data));
  }

  async #writeAll(data: Buffer): Promise<Error | undefined> {
    if (this.#dead !== undefined) return this.#dead;
    let offset = 0;
    let retryMs = FIRST_EAGAIN_RETRY_MS;
    while (offset < data.length) {
      try {
        const { bytesWritten } = await fsWrite(this.#fd, data, offset, data.length - offset);
        offset += bytesWritten;
        retryMs = FIRST_EAGAIN_RETRY_MS;
      } catch (err) {
        const error = err as NodeJS.ErrnoException;
        if (error.code === 'EAGAIN') {
          // The reader is behind: wait for it, a little longer each time, never in a busy loop.
          await sleep(retryMs);
          retryMs = Math.min(retryMs * 2, MAX_EAGAIN_RETRY_MS);
          continue;
        }
        // A closed pipe or descriptor does not come back: stop trying, keep counting.
        if (error.code === 'EPIPE' || error.code === 'EBADF') this.#dead = error;
        if (!this.#failing) this.#events.onError(error);
        this.#failing = true;
        return error;
      }
    }
    if (this.#failing) {
      this.#failing = false;
      this.#events.onRecovered();
    }
    return undefined;
  }

  async close(): Promise<void> {
    await this.#serial.idle();
  }
}
