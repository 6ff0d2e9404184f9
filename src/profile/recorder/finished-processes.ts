/**
 * The segment files that finished processes of this host left beside this process's directory in
 * the trace directory (a service restarting in a loop leaves one directory per run). The disk budget
 * covers them too: they are evicted first (see segments.ts).
 *
 * Finished is decided by the process first: the directory's name holds the pid and its segments'
 * header the host. A directory of this host whose pid no longer runs, or is this process's own (a
 * restarted container's pid 1), and in which nothing was written for QUIET_MS, is finished. A live
 * process, even one paused for an hour (SIGSTOP, `docker pause`), is never touched; nor is a
 * directory of another host (a container sharing the volume: its own recorder manages it) or one
 * whose header cannot be read. The quiet period covers a live process this one cannot see under the
 * same host name (containers on the host's network each have their own pids): a live recorder writes
 * every ~200 ms. Only real directories named as the recorder names them are looked into (no
 * symlinks), and only segment files in them are counted and deleted.
 */
import { closeSync, fstatSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import { readHeader } from '../format/decoder.js';

/** `<service>.<pid>.<start, UTC>.<random>`: how the recorder names a process directory. */
const PROCESS_DIR = /^.+\.(\d+)\.(\d{8}T\d{6}Z)(?:\.[0-9a-f]+)?$/;
/** A segment's name: index, pinned. */
export const SEGMENT_NAME = /^trace\.(\d+)(\.pinned)?\.bin(\.gz)?(\.active)?$/;
/** A directory written to this recently is not finished, whatever its pid says. */
const QUIET_MS = 60_000;
/**
 * Bytes read from a segment for its header: the JSON is ~9 KB (~3 KB gzipped), more with a long
 * `process.argv`; a header past this is not judged, and its directory is left alone.
 */
const HEADER_PROBE_BYTES = 1024 * 1024;

export interface FinishedFile {
  readonly dir: string;
  readonly name: string;
  readonly bytes: number;
  readonly pinned: boolean;
}

export class FinishedProcesses {
  readonly #dir: string;
  /** As last listed, oldest process first; evicted files are taken out as they go. */
  #files: FinishedFile[] | undefined;
  #bytes = 0;
  /** Directories whose files could not be deleted (another user's, a read-only mount): left alone. */
  readonly #refused = new Set<string>();
  /**
   * Host and pid per directory name, once read (undefined host: no readable header): a directory's
   * process never changes, and a directory of another host is not even listed again.
   */
  readonly #owners = new Map<string, { host: string | undefined; pid: number }>();
  /** Device and inode of each directory as scanned: a directory swapped for a symlink since is refused. */
  readonly #identity = new Map<string, string>();

  /** `dir`: this process's own directory; its siblings are looked at. */
  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Finished processes' files, oldest process first, each process's in index order; and their bytes. */
  list(): { readonly files: readonly FinishedFile[]; readonly bytes: number } {
    if (this.#files === undefined) this.#files = this.#scan();
    return { files: this.#files, bytes: this.#bytes };
  }

  /** Looks again at the next `list()` (a process may have finished since). */
  refresh(): void {
    this.#files = undefined;
  }

  /**
   * `gone` were evicted: no longer counted. Taken out in one pass after an eviction round, not one
   * search and splice per file (a budget cut after a long restart loop evicts thousands at once).
   */
  forget(gone: ReadonlySet<FinishedFile>): void {
    if (this.#files === undefined || gone.size === 0) return;
    this.#files = this.#files.filter((f) => !gone.has(f));
    this.#bytes = this.#files.reduce((n, f) => n + f.bytes, 0);
  }

  /**
   * Whether `dir` is still the directory scanned (not replaced, by a symlink or anything else, since):
   * checked before each deletion, so no file is ever deleted through a link.
   */
  unchanged(dir: string): boolean {
    try {
      const stat = lstatSync(dir);
      return stat.isDirectory() && this.#identity.get(dir) === `${stat.dev}:${stat.ino}`;
    } catch {
      return false;
    }
  }

  /** `dir`'s files cannot be deleted: not counted from now on. */
  refuse(dir: string): void {
    this.#refused.add(dir);
    if (this.#files === undefined) return;
    this.#files = this.#files.filter((f) => f.dir !== dir);
    this.#bytes = this.#files.reduce((n, f) => n + f.bytes, 0);
  }

  #scan(): FinishedFile[] {
    const parent = dirname(this.#dir);
    const own = basename(this.#dir);
    let names: string[] = [];
    try {
      names = readdirSync(parent).filter((n) => n !== own && PROCESS_DIR.test(n));
    } catch {
      // No parent to list: nothing left by others.
    }
    const started = (name: string) => PROCESS_DIR.exec(name)?.[2] ?? '';
    names.sort((a, b) => started(a).localeCompare(started(b)) || a.localeCompare(b));
    const seen = new Set(names);
    for (const name of this.#owners.keys()) if (!seen.has(name)) this.#owners.delete(name);
    this.#identity.clear();
    const files: FinishedFile[] = [];
    let bytes = 0;
    const host = hostname();
    for (const name of names) {
      const dir = join(parent, name);
      if (this.#refused.has(dir)) continue;
      // Judged before (another host, or no readable header): not listed again, every segment.
      const known = this.#owners.get(name);
      if (known !== undefined && known.host !== host) continue;
      try {
        const stat = lstatSync(dir);
        if (!stat.isDirectory()) continue; // a symlink or a file: not ours to clean
        this.#identity.set(dir, `${stat.dev}:${stat.ino}`);
      } catch {
        continue;
      }
      const found: (FinishedFile & { index: number })[] = [];
      let newestMs = Number.NEGATIVE_INFINITY;
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch {
        continue;
      }
      for (const entry of entries) {
        const match = SEGMENT_NAME.exec(entry);
        if (match === null) continue;
        try {
          const stat = lstatSync(join(dir, entry));
          if (!stat.isFile()) continue;
          newestMs = Math.max(newestMs, stat.mtimeMs);
          found.push({ dir, name: entry, bytes: stat.size, pinned: match[2] !== undefined, index: Number(match[1]) });
        } catch {
          // Gone meanwhile.
        }
      }
      if (found.length === 0 || Date.now() - newestMs < QUIET_MS || !this.#finished(name, dir, found, host)) continue;
      found.sort((a, b) => a.index - b.index);
      for (const file of found) {
        files.push(file);
        bytes += file.bytes;
      }
    }
    this.#bytes = bytes;
    return files;
  }

  /** Whether the quiet directory `name` belongs to a process of `host` (this one's) that no longer runs. */
  #finished(name: string, dir: string, files: readonly FinishedFile[], host: string): boolean {
    let owner = this.#owners.get(name);
    if (owner === undefined) {
      // Only quiet directories get here: a header unreadable now (cut inside it by a kill, or too
      // long) stays so, and the directory is left alone for good.
      owner = { host: hostOf(dir, files), pid: Number(PROCESS_DIR.exec(name)?.[1]) };
      this.#owners.set(name, owner);
    }
    if (owner.host !== host) return false;
    if (owner.pid === process.pid) return true;
    try {
      process.kill(owner.pid, 0);
      return false; // running (or its pid taken by another process: kept, on the safe side)
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }
}

/** The host in the header of one of `files` (plain or gzipped), or undefined when none can be read. */
function hostOf(dir: string, files: readonly FinishedFile[]): string | undefined {
  for (const file of files) {
    try {
      const fd = openSync(join(dir, file.name), 'r');
      let bytes: Uint8Array;
      try {
        const buffer = Buffer.alloc(Math.min(HEADER_PROBE_BYTES, fstatSync(fd).size));
        const read = readSync(fd, buffer, 0, buffer.length, 0);
        bytes = buffer.subarray(0, read);
      } finally {
        closeSync(fd);
      }
      // A gzipped segment cut at the probe's length: what inflates of it is enough for the header.
      if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH });
      const host = readHeader(bytes)?.header.process?.host;
      if (typeof host === 'string') return host;
    } catch {
      // Not a segment after all, or unreadable: try the next.
    }
  }
  return undefined;
}
