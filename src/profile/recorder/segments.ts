/**
 * The segment files of one process, on the writer thread: `trace.<N>.bin.active` while written,
 * renamed to `trace.<N>.bin` when sealed, then gzipped to `trace.<N>.bin.gz`. Rotated by age or
 * size; the oldest evicted so that the directory stays under the disk budget (losing old data is
 * acceptable, filling the disk is not). Pinned segments (a trigger fired) carry `.pinned` in their
 * name and are evicted only when nothing else is left.
 *
 * With `finishedSiblings`, the budget also covers the directories finished processes of this host
 * left in the same trace directory (a service restarting in a loop left one budget per run; see
 * finished-processes.ts): their segments count towards it and go first, the oldest process's first.
 */
import {
  closeSync,
  ftruncateSync,
  openSync,
  readdirSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeSync,
  writevSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { makeDir } from '../../make-dir.js';
import { type FinishedFile, FinishedProcesses, SEGMENT_NAME } from './finished-processes.js';
import { gzipFileSync } from './gzip-file.js';
import type { SealedSegmentInfo } from './protocol.js';

export interface SegmentLimits {
  readonly rotationMs: number;
  readonly maxFileBytes: number;
  readonly maxDiskBytes: number;
  /** Count and evict the segments of finished processes beside this one (the writer thread sets it). */
  readonly finishedSiblings?: boolean;
}

interface SealedFile {
  readonly name: string;
  readonly index: number;
  readonly bytes: number;
  readonly pinned: boolean;
  /** Last modified (wall-clock ms): about when it was sealed. */
  readonly writtenMs: number;
}

interface Active {
  readonly index: number;
  readonly path: string;
  readonly fd: number;
  readonly openedMs: number;
  /** Its header's length: a segment no longer than this holds no block yet. */
  readonly headerBytes: number;
  bytes: number;
  pinned: boolean;
}

export class SegmentFiles {
  #dir: string;
  #limits: SegmentLimits;
  #active: Active | undefined;
  #nextIndex = 0;
  /** Segments still to be pinned as they are sealed (the ones after a trigger). */
  #pinNext = 0;
  /** Sealed segments as last listed (listing the directory for every block would cost a syscall per file). */
  #sealedCache: SealedFile[] | undefined;
  /** Finished processes' directories beside this one (with `finishedSiblings`). */
  #finished: FinishedProcesses | undefined;
  evicted = 0;
  written = 0;

  constructor(dir: string, limits: SegmentLimits) {
    this.#dir = dir;
    this.#limits = limits;
    if (limits.finishedSiblings === true) this.#finished = new FinishedProcesses(dir);
  }

  get dir(): string {
    return this.#dir;
  }

  /** True when the active segment is due for rotation by age. */
  dueForRotation(nowMs: number): boolean {
    return this.#active !== undefined && nowMs - this.#active.openedMs >= this.#limits.rotationMs;
  }

  get hasActive(): boolean {
    return this.#active !== undefined;
  }

  /** Whether the active segment holds a block (not only its header). */
  get activeHoldsBlocks(): boolean {
    return this.#active !== undefined && this.#active.bytes > this.#active.headerBytes;
  }

  /** Bytes of the active segment (0 when none is open). */
  get activeBytes(): number {
    return this.#active?.bytes ?? 0;
  }

  /**
   * Writes a block (whole, or as parts written with one writev), opening a segment (with `header(index)`) when none is open, and rotating first
   * when the block would take the segment past its size cap. `rotateForSize` false leaves that to the
   * caller: a block that refers to strings or stacks defined earlier in the segment must not start a
   * new one (the writer thread seals once the cap is reached, after the block).
   */
  write(
    block: Uint8Array | readonly Uint8Array[],
    header: (index: number) => Uint8Array,
    onSealed: (s: SealedSegmentInfo) => void,
    rotateForSize = true,
  ): void {
    const parts = block instanceof Uint8Array ? undefined : block;
    let length = 0;
    if (parts === undefined) length = (block as Uint8Array).length;
    else for (const part of parts) length += part.length;
    const active = this.#active;
    if (
      rotateForSize &&
      active !== undefined &&
      active.bytes + length > this.#limits.maxFileBytes &&
      active.bytes > 0
    ) {
      this.seal(onSealed);
    }
    const current = this.#active ?? this.#open(header);
    this.#makeRoom(length);
    try {
      // At the segment's own length, never the descriptor's position: a write that failed half-way
      // (a full disk) moved that position past what the truncate below keeps, and the next block
      // would land after a hole of zeros that stops every reader.
      writeAllAt(current.fd, parts ?? [block as Uint8Array], length, current.bytes);
    } catch (err) {
      // A full disk can take part of the block: cut it off, or the blocks written after it (once
      // there is room again) would follow a torn one and a reader would stop at the tear.
      try {
        ftruncateSync(current.fd, current.bytes);
      } catch {
        // The file stays torn; readers still decode it up to the tear.
      }
      throw err;
    }
    current.bytes += length;
    this.written += length;
  }

  /** Seals the active segment: rename, gzip, announce. Nothing happens when none is open. */
  seal(onSealed: (s: SealedSegmentInfo) => void): void {
    const active = this.#active;
    if (active === undefined) return;
    this.#active = undefined;
    closeSync(active.fd);
    const pinned = active.pinned || this.#pinNext > 0;
    if (this.#pinNext > 0 && !active.pinned) this.#pinNext--;
    const base = join(this.#dir, `trace.${active.index}${pinned ? '.pinned' : ''}.bin`);
    renameSync(active.path, base);
    this.#sealedCache = undefined;
    // The gzipped copy grows on disk beside the plain one until that is deleted: room is made for
    // each piece before it is written (the plain file and the .gz so far counted, neither of them
    // evicted), or the total would pass the budget by up to a segment while the gzip runs.
    const keep = [basename(base), `${basename(base)}.gz`];
    let gzipped = 0;
    const beforeWrite = (bytes: number): void => {
      this.#makeRoom(active.bytes + gzipped + bytes, keep);
      gzipped += bytes;
    };
    let path = base;
    try {
      gzipFileSync(base, `${base}.gz`, undefined, beforeWrite);
      unlinkSync(base);
      path = `${base}.gz`;
    } catch {
      // Out of disk: the uncompressed segment stays, still readable.
      try {
        unlinkSync(`${base}.gz`);
      } catch {
        // Never written.
      }
    }
    this.#sealedCache = undefined;
    // Processes may have finished since the last look (their directories are listed once a segment).
    this.#finished?.refresh();
    // No eviction after the gzip: it could take the segment just sealed before its hook sees it.
    // The gzip only shrank what is on disk; the next segment's first write makes room, oldest first.
    onSealed({ path, bytes: statSync(path).size, index: active.index, pinned });
  }

  /**
   * Pins the active segment, the next one, the newest sealed one and every sealed one last written
   * in the last `lookbackMs` (an incident noticed late may span several fast-rotating segments).
   */
  pin(lookbackMs = 0): void {
    this.#sealedCache = undefined;
    if (this.#active !== undefined) this.#active.pinned = true;
    this.#pinNext = 1;
    const sinceMs = Date.now() - lookbackMs;
    const sealed = this.#sealed().filter((s) => !s.pinned);
    sealed.forEach((segment, i) => {
      if (i !== sealed.length - 1 && segment.writtenMs < sinceMs) return;
      const pinnedName = segment.name.replace(/^trace\.(\d+)\.bin/, 'trace.$1.pinned.bin');
      try {
        renameSync(join(this.#dir, segment.name), join(this.#dir, pinnedName));
      } catch {
        // Evicted meanwhile: nothing left to keep.
      }
    });
    this.#sealedCache = undefined;
  }

  /** Bytes of every segment file in the directory, the active one included. */
  diskBytes(): number {
    let total = this.#active?.bytes ?? 0;
    for (const s of this.#sealed()) total += s.bytes;
    return total;
  }

  /**
   * Opens a new segment file, making this process's directory again when it is gone (removed by
   * hand, or by another process that took this one for finished: recording goes on either way).
   */
  #create(path: string): number {
    try {
      return openSync(path, 'w');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // The whole trace directory may have gone too (`rm -rf traces`): made again, parents included
      // (not `mkdirSync(..., { recursive: true })`, which can loop forever: see make-dir.ts).
      makeDir(this.#dir);
      this.#sealedCache = undefined;
      return openSync(path, 'w');
    }
  }

  #open(header: (index: number) => Uint8Array): Active {
    const index = this.#nextIndex++;
    const path = join(this.#dir, `trace.${index}.bin.active`);
    const bytes = header(index);
    this.#makeRoom(bytes.length);
    const fd = this.#create(path);
    try {
      writeAllAt(fd, [bytes], bytes.length, 0);
    } catch (err) {
      // A full disk: no segment without its header, and no descriptor left open (one leaked per
      // block ran a program out of descriptors).
      closeSync(fd);
      try {
        unlinkSync(path);
      } catch {
        // Gone already.
      }
      throw err;
    }
    this.written += bytes.length;
    this.#active = {
      index,
      path,
      fd,
      openedMs: Date.now(),
      headerBytes: bytes.length,
      bytes: bytes.length,
      pinned: false,
    };
    return this.#active;
  }

  /** Sealed segments, oldest first (listed again after every seal, pin or eviction). */
  #sealed(): SealedFile[] {
    this.#sealedCache ??= this.#list();
    return this.#sealedCache;
  }

  #list(): SealedFile[] {
    const out: SealedFile[] = [];
    let names: string[];
    try {
      names = readdirSync(this.#dir);
    } catch {
      return out; // no directory (it could not be created): nothing on disk
    }
    for (const name of names) {
      const match = SEGMENT_NAME.exec(name);
      if (match === null || match[4] !== undefined) continue;
      try {
        const stat = statSync(join(this.#dir, name));
        out.push({
          name,
          index: Number(match[1]),
          bytes: stat.size,
          pinned: match[2] !== undefined,
          writtenMs: stat.mtimeMs,
        });
      } catch {
        // Gone meanwhile (a user's sealed-segment hook moved it).
      }
    }
    return out.sort((a, b) => a.index - b.index);
  }

  /**
   * Evicts until `extra` more bytes fit in the budget: finished processes' segments (the oldest
   * process's first, unpinned before pinned), then this process's unpinned ones, then its pinned
   * ones. The older runs' data goes before any of this run's, so the segment just sealed still has
   * its turn as the size cap promises (at most half the budget: it and the next fit).
   */
  #makeRoom(extra: number, keep: readonly string[] = []): void {
    // Files in `keep` are neither evicted nor counted: the caller counts them in `extra`.
    const sealed = keep.length === 0 ? this.#sealed() : this.#sealed().filter((s) => !keep.includes(s.name));
    const finished = this.#finished?.list() ?? { files: [], bytes: 0 };
    let total = (this.#active?.bytes ?? 0) + extra + finished.bytes;
    for (const s of sealed) total += s.bytes;
    if (total <= this.#limits.maxDiskBytes) return;
    const own = sealed.map((s): FinishedFile => ({ dir: this.#dir, name: s.name, bytes: s.bytes, pinned: s.pinned }));
    const order = [
      ...finished.files.filter((f) => !f.pinned),
      ...finished.files.filter((f) => f.pinned),
      ...own.filter((f) => !f.pinned),
      ...own.filter((f) => f.pinned),
    ];
    this.#sealedCache = undefined;
    const emptied = new Set<string>();
    const gone = new Set<FinishedFile>();
    for (const f of order) {
      if (total <= this.#limits.maxDiskBytes) break;
      const theirs = f.dir !== this.#dir;
      if (theirs && this.#finished?.unchanged(f.dir) !== true) {
        this.#finished?.refuse(f.dir);
        continue;
      }
      try {
        unlinkSync(join(f.dir, f.name));
        this.evicted++;
      } catch (err) {
        // Not ours to delete after all (another user's, a read-only mount): leave that directory be.
        if (theirs && (err as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.#finished?.refuse(f.dir);
          continue;
        }
      }
      total -= f.bytes;
      if (theirs) {
        gone.add(f);
        emptied.add(f.dir);
      }
    }
    this.#finished?.forget(gone);
    // A finished process's directory goes with its last segment (only when empty: nothing else is removed).
    for (const dir of emptied) {
      try {
        rmdirSync(dir);
      } catch {
        // Not empty yet, or gone.
      }
    }
  }
}

/**
 * Writes `parts` (`length` bytes in all) at `position`, over as many calls as it takes: a write to a
 * regular file may be short (a disk filling up), and what it left out follows at its own offset.
 */
function writeAllAt(fd: number, parts: readonly Uint8Array[], length: number, position: number): void {
  let written =
    parts.length === 1
      ? writeSync(fd, parts[0] as Uint8Array, 0, length, position)
      : writevSync(fd, parts as Uint8Array[], position);
  if (written === length) return;
  let at = position + written;
  for (const part of parts) {
    if (written >= part.length) {
      written -= part.length;
      continue;
    }
    let offset = written;
    while (offset < part.length) {
      const n = writeSync(fd, part, offset, part.length - offset, at);
      // No progress and no error: the disk takes nothing more (an error is what ENOSPC gives).
      if (n === 0) throw Object.assign(new Error('write made no progress'), { code: 'ENOSPC' });
      offset += n;
      at += n;
    }
    written = 0;
  }
}
