/**
 * Finds the processes and segment files a path names (Node only): a segment file, a process
 * directory (`<service>.<pid>.<start>/trace.<n>...`), a trace directory of process directories, or
 * a capture directory (`<capture>/trace/<process>/...`). Segments are read one at a time, so a long
 * trace never sits in memory whole.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip as gunzipCallback } from 'node:zlib';
import { TraceError } from '../../errors.js';
import { type DecodedSegment, decodeSegment, isGzip, readHeader, type TraceHeader } from '../format/index.js';

const gunzip = promisify(gunzipCallback);

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
  if (info.isFile()) {
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
  return found;
}

async function segmentBytes(path: string): Promise<Uint8Array> {
  try {
    const raw = new Uint8Array(await readFile(path));
    return isGzip(raw) ? new Uint8Array(await gunzip(raw)) : raw;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new TraceError('SVC_ERR_TRACE_UNREADABLE', `cannot read trace segment ${path}: ${why}`, err);
  }
}

/** One segment, decoded; a file that is not a trace gives SVC_ERR_TRACE_UNREADABLE. */
export async function readSegment(path: string): Promise<DecodedSegment> {
  const bytes = await segmentBytes(path);
  try {
    return decodeSegment(bytes);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new TraceError('SVC_ERR_TRACE_UNREADABLE', `${path} is not a readable trace segment: ${why}`, err);
  }
}

/** The header of a process's first segment (to place processes on one time axis before exporting). */
export async function readFirstHeader(process: TraceProcess): Promise<TraceHeader> {
  const first = process.segments[0] as string;
  const bytes = await segmentBytes(first);
  try {
    const read = readHeader(bytes);
    if (read === undefined) throw new Error('the file ends inside its header');
    return read.header;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new TraceError('SVC_ERR_TRACE_UNREADABLE', `${first} is not a readable trace segment: ${why}`, err);
  }
}
