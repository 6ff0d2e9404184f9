/**
 * A file rolled by rotating-file-stream, kept honest: every line in it parses, and a file deleted
 * under the writer is noticed, recreated and its loss counted. Runs only in the writer thread.
 */
import { closeSync, fstatSync, openSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { finished, type Writable } from 'node:stream';
import { createStream } from 'rotating-file-stream';
import { makeDir } from '../make-dir.js';
import type { Destination, DestinationEvents } from './destinations.js';
import type { DestinationSpec } from './protocol.js';
import { repairTail } from './repair-tail.js';

export type FileSpec = Extract<DestinationSpec, { kind: 'rotating-file' }>;

/** How long a broken file stream rests before the writer reopens it. */
const REOPEN_DELAY_MS = 1000;
/** Keep this much free space untouched, so a full disk fails cleanly before a torn write. */
const FREE_SPACE_MARGIN_BYTES = 4096;
/** How often the writer checks that the path still names the file it writes to. */
const VERIFY_INTERVAL_MS = 1000;
/** A roll normally takes milliseconds; one still unfinished after this is checked like any file. */
const ROLL_GRACE_MS = 5000;

/** Seams for tests: how a file stream is opened, and how long a broken one rests. */
export interface DestinationHooks {
  readonly openStream?: (spec: FileSpec) => Writable;
  readonly reopenDelayMs?: number;
}

/** The stream's current file, as far as the writer can tell. */
interface OpenFile {
  readonly stream: Writable;
  /**
   * A read-only descriptor on the file the stream opened: its link count says whether the file
   * still exists under some name once the path stops naming it. Undefined until the stream opens.
   */
  witness: number | undefined;
  dev: number;
  ino: number;
  /** Set between rotating-file-stream's 'rotation' and its 'open': the path is in flux. */
  rollingSinceMs: number | undefined;
  /** Entries confirmed in this file since a check last found it under its path. */
  unverifiedEntries: number;
  /** The file was found deleted: what is still in flight to it is lost with it. */
  deleted: boolean;
  /** Entries whose writes were still in flight when the file was found deleted (lost with it). */
  lostInFlight: number;
  /** Once deleted: settles when its last write has come back and the loss has been reported. */
  settled: Promise<void> | undefined;
}

/** The outcome of a write that went to a deleted file: lost, but not a new failure streak. */
function lostWithFile(entries: number): Error {
  return Object.assign(new Error('the file was deleted while open'), { code: 'ENOENT', failedLines: entries });
}

/**
 * rotating-file-stream closes a stream for good after one write error, so this wrapper drops the
 * broken stream, waits, and opens a new one: when the disk has room again, writing resumes. A
 * free-space check before each write turns a full disk into a clean refusal instead of a torn,
 * half-written batch; whatever tail a crash or a failed write left is cut before a file is written to.
 *
 * An open file can vanish under its path (`rm -r` of the directory, a cleanup job): writes then go
 * to an unlinked inode, silently. At most once a second (on a timer, and before a write when due)
 * the path's inode is compared with the open file's; when they differ the file is reopened, and if
 * the old one is deleted (no links left), the entries confirmed since the last good check are
 * reported lost. They are all the writer can know about: everything written after the file vanished,
 * and possibly a little from just before.
 */
export class RotatingFileDestination implements Destination {
  #spec: FileSpec;
  #events: DestinationEvents;
  #openStream: (spec: FileSpec) => Writable;
  #reopenDelayMs: number;
  #path: string;
  #file: OpenFile | undefined;
  #reopenAt = 0;
  #failing = false;
  #verifiedAtMs = 0;
  #verifyTimer: NodeJS.Timeout;

  constructor(spec: FileSpec, events: DestinationEvents, hooks: DestinationHooks = {}) {
    this.#spec = spec;
    this.#events = events;
    this.#openStream = hooks.openStream ?? rotatingStream;
    this.#reopenDelayMs = hooks.reopenDelayMs ?? REOPEN_DELAY_MS;
    this.#path = join(spec.dir, spec.file);
    // Also when idle: so the window of uncertainty before a deletion stays one interval wide, and
    // a deleted file (application.log is written rarely) comes back without waiting for a line.
    this.#verifyTimer = setInterval(() => this.#verifyIfDue(true), VERIFY_INTERVAL_MS);
    this.#verifyTimer.unref();
  }

  write(data: Buffer, entries: number): Promise<Error | undefined> {
    const refusal = this.#checkSpace(data.length);
    if (refusal !== undefined) return Promise.resolve(this.#fail(refusal));
    this.#verifyIfDue();
    const file = this.#ensureFile();
    if (file === undefined) {
      return Promise.resolve(this.#fail(Object.assign(new Error('file is being reopened'), { code: 'EAGAIN' })));
    }
    return new Promise((resolve) => {
      file.stream.write(data, (err) => {
        if (err && !file.deleted) this.#checkDeleted(file, true);
        if (file.deleted) {
          file.lostInFlight += entries;
          resolve(lostWithFile(entries));
          return;
        }
        if (err) {
          this.#drop(file, this.#reopenDelayMs, 'destroy');
          resolve(this.#fail(err as NodeJS.ErrnoException));
          return;
        }
        file.unverifiedEntries += entries;
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
      // The directory is gone or unreadable: it is recreated on the next open, or the write
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

  #ensureFile(): OpenFile | undefined {
    if (this.#file !== undefined) return this.#file;
    if (Date.now() < this.#reopenAt) return undefined;
    try {
      // Ourselves, not rotating-file-stream: its recursive mkdir never returns on some paths.
      makeDir(this.#spec.dir);
    } catch (err) {
      this.#reopenAt = Date.now() + this.#reopenDelayMs;
      this.#fail(err as NodeJS.ErrnoException);
      return undefined;
    }
    // A crash, or a failed write, can leave half a line: cut it before appending to the file.
    const cutBytes = repairTail(this.#path);
    if (cutBytes > 0) this.#events.onRepaired?.(cutBytes);
    const stream = this.#openStream(this.#spec);
    const file: OpenFile = {
      stream,
      witness: undefined,
      dev: 0,
      ino: 0,
      rollingSinceMs: undefined,
      unverifiedEntries: 0,
      deleted: false,
      lostInFlight: 0,
      settled: undefined,
    };
    stream.on('error', (err) => {
      if (this.#file !== file) return;
      this.#checkDeleted(file, true);
      if (file.deleted) return;
      this.#drop(file, this.#reopenDelayMs, 'destroy');
      this.#fail(err as NodeJS.ErrnoException);
    });
    stream.on('rotation', () => {
      file.rollingSinceMs = Date.now();
    });
    stream.on('open', () => this.#identify(file));
    this.#file = file;
    return file;
  }

  /** The stream opened a file (at start, or after a roll): remember which one. */
  #identify(file: OpenFile): void {
    if (this.#file !== file) return;
    closeQuietly(file.witness);
    file.witness = undefined;
    try {
      file.witness = openSync(this.#path, 'r');
      const stat = fstatSync(file.witness);
      file.dev = stat.dev;
      file.ino = stat.ino;
    } catch {
      // Unreadable, or gone within microseconds of the open: this file goes unchecked (reopening
      // here could loop on an unreadable one); a roll or a failed write still replaces it.
      closeQuietly(file.witness);
      file.witness = undefined;
    }
    file.rollingSinceMs = undefined;
    // A roll moved what came before into the rotated file, where it is safe.
    file.unverifiedEntries = 0;
    this.#verifiedAtMs = Date.now();
  }

  #verifyIfDue(force = false): void {
    const now = Date.now();
    if (!force && now - this.#verifiedAtMs < VERIFY_INTERVAL_MS) return;
    this.#verifiedAtMs = now;
    const file = this.#file;
    if (file === undefined || file.witness === undefined) return;
    if (file.rollingSinceMs !== undefined && now - file.rollingSinceMs < ROLL_GRACE_MS) return;
    if (this.#stillUnderPath(file)) {
      file.unverifiedEntries = 0;
      return;
    }
    this.#checkDeleted(file, true);
    if (this.#file !== file) return;
    // Moved aside, not deleted: what is in it is safe, and what is in flight still lands there.
    this.#drop(file, 0, 'end');
    this.#ensureFile();
  }

  #stillUnderPath(file: OpenFile): boolean {
    try {
      const stat = statSync(this.#path, { throwIfNoEntry: false });
      return stat !== undefined && stat.ino === file.ino && stat.dev === file.dev;
    } catch {
      // Cannot tell (EACCES on the directory, ...): leave it to the writes to report.
      return true;
    }
  }

  /**
   * If the open file has no name left, reports what went with it, drops it, and (unless closing)
   * opens a new one at once: so the file and its directory are back even if nothing is written.
   */
  #checkDeleted(file: OpenFile, reopen: boolean): void {
    if (file.deleted || file.witness === undefined || this.#stillUnderPath(file)) return;
    let links: number;
    try {
      links = fstatSync(file.witness).nlink;
    } catch {
      return;
    }
    if (links > 0) return;
    file.deleted = true;
    const lostEntries = file.unverifiedEntries;
    file.unverifiedEntries = 0;
    // The whole loss is known once the writes in flight have come back (they finish into the
    // deleted file): only then does the notice say how many entries went with it.
    file.settled = new Promise((resolve) =>
      finished(file.stream, () => {
        this.#events.onFileDeletedSettled?.(lostEntries + file.lostInFlight);
        resolve();
      }),
    );
    // Ended, not destroyed: writes in flight finish into the deleted file and are counted lost.
    this.#drop(file, 0, 'end');
    this.#events.onFileDeleted?.(lostEntries);
    if (reopen) this.#ensureFile();
  }

  #drop(file: OpenFile, reopenDelayMs: number, how: 'end' | 'destroy'): void {
    if (this.#file !== file) return;
    this.#file = undefined;
    this.#reopenAt = Date.now() + reopenDelayMs;
    closeQuietly(file.witness);
    file.witness = undefined;
    if (how === 'end') file.stream.end();
    else file.stream.destroy();
  }

  close(): Promise<void> {
    clearInterval(this.#verifyTimer);
    const file = this.#file;
    // The last check: a file deleted since the previous one took its last entries with it.
    if (file !== undefined) this.#checkDeleted(file, false);
    if (file === undefined) return Promise.resolve();
    if (file.deleted) return file.settled ?? Promise.resolve();
    this.#file = undefined;
    closeQuietly(file.witness);
    file.witness = undefined;
    if (file.stream.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      file.stream.once('close', () => resolve());
      file.stream.once('error', () => resolve());
      file.stream.end();
    });
  }
}

function closeQuietly(fd: number | undefined): void {
  if (fd === undefined) return;
  try {
    closeSync(fd);
  } catch {}
}

/** The rotated name of `file` for the period starting at `time`, e.g. metrics.log.2026-11-23T20-10Z. */
export function rotatedName(file: string, time: Date, index: number): string {
  const iso = time.toISOString(); // 2026-11-23T20:10:00.000Z
  const stamp = `${iso.slice(0, 13)}-${iso.slice(14, 16)}Z`;
  return index > 1 ? `${file}.${stamp}.${index}` : `${file}.${stamp}`;
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
