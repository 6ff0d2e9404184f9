/**
 * Finds the processes and segment files a path names (Node only): a segment file, a process
 * directory (`<service>.<pid>.<start>/trace.<n>...`), a trace directory of process directories, or
 * a capture directory (`<capture>/trace/<process>/...`). Segments are read one at a time, so a long
 * trace never sits in memory whole. In a directory, a segment whose header cannot be read (an empty
 * `.active` left by a full disk, a `.gz` cut inside its header) is left out with a warning on stderr:
 * one damaged file must not hide the rest of the trace.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { TraceError } from '../../errors.js';
import {
  decodeSegmentFile,
  inflateHead,
  inflateSegment,
  readRawSegment,
  type SegmentBytes,
  unreadable,
} from '../analyze/segment-bytes-node.js';
import { type DecodedSegment, isGzip, readHeader, type TraceHeader } from '../format/index.js';

/** `trace.3.bin.gz`, `trace.4.pinned.bin.gz`, `trace.5.bin.active`, `trace.2.bin`. */
const SEGMENT_FILE = /^trace\.(\d+)(\.pinned)?\.bin(\.gz|\.active)?$/;
/** A capture directory holds the trace one level down, a trace directory its processes: look this deep. */
const MAX_DEPTH = 3;

export interface TraceProcess {
  /** The process directory (or the file's directory for a single segment). */
  readonly dir: string;
  readonly name: string;
  /** Segment files in index order. */
  readonly segments: readonly string[];
}

export function isSegmentFile(name: string): boolean {
  return SEGMENT_FILE.test(name);
}

function segmentIndex(path: string): number {
  return Number(SEGMENT_FILE.exec(basename(path))?.[1] ?? 0);
}

async function segmentsIn(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names
    .filter(isSegmentFile)
    .map((name) => join(dir, name))
    .sort((a, b) => segmentIndex(a) - segmentIndex(b));
}

async function collect(dir: string, depth: number, out: TraceProcess[]): Promise<void> {
  const segments = await segmentsIn(dir);
  if (segments.length > 0) {
    out.push({ dir, name: basename(dir), segments });
    return;
  }
  if (depth >= MAX_DEPTH) return;
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name)))
    if (entry.isDirectory()) await collect(join(dir, entry.name), depth + 1, out);
}

/** The processes under `path`; throws SVC_ERR_TRACE_NOT_FOUND when there is no segment at all. */
export async function findTraceProcesses(path: string): Promise<TraceProcess[]> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new TraceError('SVC_ERR_TRACE_NOT_FOUND', `${path} does not exist`);
  if (!info.isFile() && !info.isDirectory())
    throw new TraceError(
      'SVC_ERR_TRACE_NOT_FOUND',
      `${path} is neither a file nor a directory: give a segment, a process directory, a trace directory or a capture directory`,
    );
  if (info.isFile()) {
    // Named on its own, a damaged file fails when it is read, as the whole trace it is.
    const dir = join(path, '..');
    return [{ dir, name: basename(dir), segments: [path] }];
  }
  const found: TraceProcess[] = [];
  await collect(path, 0, found);
  if (found.length === 0)
    throw new TraceError(
      'SVC_ERR_TRACE_NOT_FOUND',
      `no trace segments (trace.<n>.bin.gz) in ${path} or below it: give a segment, a process directory, a trace directory or a capture directory`,
    );
  return withoutUnreadable(found);
}

/**
 * The processes with only the segments whose header reads (checked before anything is written: the
 * export streams, and a failure halfway would lose it all). Nothing readable at all: the first
 * segment's error, alone, as a trace of that one file would give.
 */
async function withoutUnreadable(processes: readonly TraceProcess[]): Promise<TraceProcess[]> {
  const kept: TraceProcess[] = [];
  const warnings: string[] = [];
  let firstFailure: TraceError | undefined;
  for (const process of processes) {
    const segments: string[] = [];
    for (const segment of process.segments) {
      try {
        await probeHeader(segment);
        segments.push(segment);
      } catch (err) {
        if (!(err instanceof TraceError)) throw err;
        firstFailure ??= err;
        warnings.push(`skipped a damaged segment: ${err.message}`);
      }
    }
    if (segments.length > 0) kept.push({ ...process, segments });
  }
  if (kept.length === 0 && firstFailure !== undefined) throw firstFailure;
  for (const warning of warnings) warn(warning);
  return kept;
}

function warn(message: string): void {
  process.stderr.write(`warning: ${message}\n`);
}

/** The header is at the start of the file: this much of it holds it (compressed or not). */
const PROBE_BYTES = 64 * 1024;

/** Reads a segment's header from the start of the file only; throws what readSegment would. */
async function probeHeader(path: string): Promise<void> {
  const head = readRawSegment(path, PROBE_BYTES);
  // A prefix of a gzip stream is a stream cut short: inflate what is there (a bounded amount).
  const bytes = isGzip(head) ? inflateHead(head) : head;
  if (bytes === undefined) {
    // Not gzip after all, or damaged at once: the whole read says why.
    readHeaderOrThrow(path, await segmentBytes(path));
    return;
  }
  if (headerOf(path, bytes) !== undefined) return;
  // A header longer than the probe (a big recording summary), or none: read it all, for the error
  // readSegment would give (a gzip cut short says so).
  readHeaderOrThrow(path, await segmentBytes(path));
}

async function segmentBytes(path: string): Promise<SegmentBytes> {
  const raw = readRawSegment(path);
  try {
    return inflateSegment(raw);
  } catch (err) {
    throw unreadable(`cannot read trace segment ${path}`, err);
  }
}

/** One segment, decoded; a file that is not a trace gives SVC_ERR_TRACE_UNREADABLE. */
export async function readSegment(path: string): Promise<DecodedSegment> {
  const { segment, cutShort } = decodeSegmentFile(path, readRawSegment(path));
  if (cutShort !== undefined) warn(cutShort);
  return segment;
}

/** The header of a process's first segment (to place processes on one time axis before exporting). */
export async function readFirstHeader(process: TraceProcess): Promise<TraceHeader> {
  const first = process.segments[0] as string;
  return readHeaderOrThrow(first, await segmentBytes(first));
}

function readHeaderOrThrow(path: string, read: SegmentBytes | Uint8Array): TraceHeader {
  const { bytes, damage } = read instanceof Uint8Array ? { bytes: read, damage: undefined } : read;
  const header = headerOf(path, bytes);
  if (header !== undefined) return header;
  if (damage !== undefined) throw unreadable(`cannot read trace segment ${path}`, damage);
  throw unreadable(`${path} is not a readable trace segment`, new Error('the file ends inside its header'));
}

/** The header, or undefined when `bytes` stop inside it; throws SVC_ERR_TRACE_UNREADABLE on a non-trace. */
function headerOf(path: string, bytes: Uint8Array): TraceHeader | undefined {
  try {
    return readHeader(bytes)?.header;
  } catch (err) {
    throw unreadable(`${path} is not a readable trace segment`, err);
  }
}
