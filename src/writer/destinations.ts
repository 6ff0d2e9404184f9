/**
 * Where the writer thread puts bytes. Runs only in the writer thread, so a slow or stuck
 * destination stalls this thread, never request handling.
 */
import { closeSync, ftruncateSync, openSync, readSync, statfsSync, statSync, write as writeCb } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { createStream } from 'rotating-file-stream';
import type { DestinationSpec } from './protocol.js';
import { SerialWrites } from './serial-writes.js';
import { openSocketDestination } from './socket-destinations.js';

const fsWrite = promisify(writeCb);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** How long a broken file stream rests before the writer reopens it. */
const REOPEN_DELAY_MS = 1000;
/** Keep this much free space untouched, so a full disk fails cleanly before a torn write. */
const FREE_SPACE_MARGIN_BYTES = 4096;

export interface DestinationEvents {
  onError(err: NodeJS.ErrnoException): void;
  onRecovered(): void;
}

export interface Destination {
  /** Resolves undefined when every byte was written, or with the error that stopped it. */
  write(data: Buffer): Promise<Error | undefined>;
  /** Waits for pending writes and releases the destination. */
  close(): Promise<void>;
}

type FileSpec = Extract<DestinationSpec, { kind: 'rotating-file' }>;

/** Seams for tests: how a file stream is opened, and how long a broken one rests. */
export interface DestinationHooks {
  readonly openStream?: (spec: FileSpec) => Writable;
  readonly reopenDelayMs?: number;
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
    while (offset < data.length) {
      try {
        const { bytesWritten } = await fsWrite(this.#fd, data, offset, data.length - offset);
        offset += bytesWritten;
      } catch (err) {
        const error = err as NodeJS.ErrnoException;
        if (error.code === 'EAGAIN') {
          await sleep(2);
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

/** The rotated name of `file` for the period starting at `time`, e.g. metrics.log.2026-11-23T20-10Z. */
export function rotatedName(file: string, time: Date, index: number): string {
  const iso = time.toISOString(); // 2026-11-23T20:10:00.000Z
  const stamp = `${iso.slice(0, 13)}-${iso.slice(14, 16)}Z`;
  return index > 1 ? `${file}.${stamp}.${index}` : `${file}.${stamp}`;
}

/**
 * A file rolled by rotating-file-stream. That library closes a stream for good after one
 * write error, so this wrapper drops the broken stream, waits, and opens a new one: when the
 * disk has room again, writing resumes. A free-space check before each write turns a full
 * disk into a clean refusal instead of a torn, half-written batch.
 */
class RotatingFileDestination implements Destination {
  #spec: FileSpec;
  #events: DestinationEvents;
  #openStream: (spec: FileSpec) => Writable;
  #reopenDelayMs: number;
  #path: string;
  #stream: Writable | undefined;
  #reopenAt = 0;
  #failing = false;
  #needsRepair = false;

  constructor(spec: FileSpec, events: DestinationEvents, hooks: DestinationHooks) {
    this.#spec = spec;
    this.#events = events;
    this.#openStream = hooks.openStream ?? rotatingStream;
    this.#reopenDelayMs = hooks.reopenDelayMs ?? REOPEN_DELAY_MS;
    this.#path = join(spec.dir, spec.file);
  }

  write(data: Buffer): Promise<Error | undefined> {
    const refusal = this.#checkSpace(data.length);
    if (refusal !== undefined) return Promise.resolve(this.#fail(refusal));
    const stream = this.#ensureStream();
    if (stream === undefined) {
      return Promise.resolve(this.#fail(Object.assign(new Error('file is being reopened'), { code: 'EAGAIN' })));
    }
    return new Promise((resolve) => {
      stream.write(data, (err) => {
        if (err) {
          this.#dropStream(stream);
          resolve(this.#fail(err as NodeJS.ErrnoException));
          return;
        }
        if (this.#failing) {
          this.#failing = false;
          this.#events.onRecovered();
        }
        resolve(undefined);
      });
    });
  }

  #checkSpace(bytes: number): NodeJS.ErrnoException | undefined {
    let fs: ReturnType<typeof statfsSync>;
    try {
      fs = statfsSync(this.#spec.dir);
    } catch {
      // The directory is gone or unreadable: rotating-file-stream recreates it, or the write
      // itself reports the real problem.
      return undefined;
    }
    const free = fs.bavail * fs.bsize;
    if (free >= bytes + FREE_SPACE_MARGIN_BYTES) return undefined;
    return Object.assign(new Error(`no space left on device (${free} bytes free)`), { code: 'ENOSPC' });
  }

  #fail(err: NodeJS.ErrnoException): NodeJS.ErrnoException {
    if (!this.#failing) {
      this.#failing = true;
      this.#events.onError(err);
    }
    return err;
  }

  #ensureStream(): Writable | undefined {
    if (this.#stream !== undefined) return this.#stream;
    if (Date.now() < this.#reopenAt) return undefined;
    if (this.#needsRepair) {
      repairTail(this.#path);
      this.#needsRepair = false;
    }
    const stream = this.#openStream(this.#spec);
    stream.on('error', (err) => {
      this.#dropStream(stream);
      this.#fail(err as NodeJS.ErrnoException);
    });
    this.#stream = stream;
    return stream;
  }

  #dropStream(stream: Writable): void {
    if (this.#stream !== stream) return;
    this.#stream = undefined;
    this.#reopenAt = Date.now() + this.#reopenDelayMs;
    this.#needsRepair = true;
    stream.destroy();
  }

  close(): Promise<void> {
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream === undefined || stream.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      stream.once('close', () => resolve());
      stream.once('error', () => resolve());
      stream.end();
    });
  }
}

/** The real thing: rotating-file-stream, on the spec's interval, keeping `maxFiles` rotated files if set. */
function rotatingStream(spec: FileSpec): Writable {
  const retention =
    spec.maxFiles > 0
      ? // rotating-file-stream tracks what it keeps in a history file; hide it from `metrics.log*` globs.
        { maxFiles: spec.maxFiles, history: `.${spec.file}.history` }
      : {};
  return createStream(
    (time: Date | null | number, index?: number) =>
      time instanceof Date ? rotatedName(spec.file, time, index ?? 1) : spec.file,
    {
      path: spec.dir,
      interval: spec.interval,
      intervalBoundary: true,
      intervalUTC: true,
      initialRotation: true,
      ...retention,
    },
  );
}

/**
 * After a failed write the file may end in half a line. Cut it back to the last newline so
 * every line in the file stays parseable once writing resumes.
 */
export function repairTail(path: string): void {
  let fd: number | undefined;
  try {
    const size = statSync(path).size;
    if (size === 0) return;
    fd = openSync(path, 'r+');
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const read = readSync(fd, chunk, 0, end - start, start);
      const newline = chunk.subarray(0, read).lastIndexOf(0x0a);
      if (newline !== -1) {
        const keep = start + newline + 1;
        if (keep !== size) ftruncateSync(fd, keep);
        return;
      }
      end = start;
    }
    ftruncateSync(fd, 0);
  } catch {
    // Nothing to repair (the file is gone, or unreadable); the next write reports any real problem.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
