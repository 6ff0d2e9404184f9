/**
 * Node-only loading for the CLI: finds the segments under a path (one segment file, a process
 * directory, a trace directory of process directories, or a capture directory), decodes them one at
 * a time into the analyzer (in index order per process, so memory holds one segment at a time), and
 * streams a metrics.log (or a directory of rolled ones) into the join. In a directory, a segment that
 * cannot be read at all (an empty `.active` left by a full disk, a `.gz` cut inside its header) is
 * skipped with a warning: one damaged file must not hide the rest of the trace.
 */
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { AnalyzeError, TraceError } from '../../errors.js';
import type { DecodedSegment } from '../format/index.js';
import { TraceAnalyzer } from './analyzer.js';
import { decodeSegmentFile, readRawSegment } from './segment-bytes-node.js';
import type { AnalysisReport, AnalyzeOptions, RequestBreakdown } from './types.js';

const SEGMENT = /^trace\.(\d+)\.(?:pinned\.)?bin(?:\.gz|\.active)?$/;
const MAX_DEPTH = 4;

export interface AnalyzePathOptions extends AnalyzeOptions {
  readonly metricsPath?: string;
  readonly requestId?: string;
  /** One line per damaged segment skipped or read in part; default: `warning: …` on stderr. */
  readonly onWarning?: (message: string) => void;
}

export interface PathAnalysis {
  readonly report: AnalysisReport;
  /** With `requestId`: its breakdown, null when the trace does not hold it. */
  readonly request?: RequestBreakdown | null;
  readonly files: readonly string[];
  /** Wide events joined (with `metricsPath`). */
  readonly joined?: number;
}

export async function analyzeTracePath(path: string, options: AnalyzePathOptions = {}): Promise<PathAnalysis> {
  const { metricsPath, requestId, onWarning = warnOnStderr, ...rest } = options;
  const analyzer = new TraceAnalyzer({
    ...rest,
    requestIds: [...(rest.requestIds ?? []), ...(requestId === undefined ? [] : [requestId])],
  });
  const { files, warnings } = addTraceSegments(path, (segment) => analyzer.addSegment(segment));
  for (const warning of warnings) onWarning(warning);
  let joined: number | undefined;
  if (metricsPath !== undefined) joined = await joinMetrics(analyzer, metricsPath);
  const report = analyzer.report();
  if (requestId === undefined) return { report, files, ...(joined === undefined ? {} : { joined }) };
  const request = analyzer.explain(requestId) ?? null;
  return { report, request, files, ...(joined === undefined ? {} : { joined }) };
}

/**
 * Decodes the segments under `path` one at a time, in order, into `add`: what analyze reads, and
 * the viewer's analysis too (the same files, the same damaged ones skipped, the same warnings).
 * Returns the files and one warning line per segment skipped or read in part; throws
 * AnalyzeError when nothing at all can be read.
 */
export function addTraceSegments(
  path: string,
  add: (segment: DecodedSegment) => void,
): { files: string[]; warnings: string[] } {
  const files = segmentFiles(path);
  // A file named on its own is the whole trace: damaged, it fails as before. Found in a directory,
  // it is one of many, skipped so that the others are still read.
  const single = statSync(path).isFile();
  const warnings: string[] = [];
  let firstFailure: AnalyzeError | undefined;
  let added = 0;
  for (const file of files) {
    let segment: DecodedSegment;
    try {
      segment = readSegmentFile(file, warnings);
    } catch (err) {
      if (single || !(err instanceof AnalyzeError)) throw err;
      firstFailure ??= err;
      warnings.push(`skipped a damaged segment: ${err.message}`);
      continue;
    }
    add(segment);
    added++;
  }
  // Nothing readable: the error the first file gave, alone, as when there was one file.
  if (added === 0 && firstFailure !== undefined) throw firstFailure;
  return { files, warnings };
}

function warnOnStderr(message: string): void {
  process.stderr.write(`warning: ${message}\n`);
}

/** One segment file decoded; a `.gz` cut short gives its complete blocks and a warning in `warnings`. */
function readSegmentFile(file: string, warnings: string[]): DecodedSegment {
  try {
    const { segment, cutShort } = decodeSegmentFile(file, readRawSegment(file));
    if (cutShort !== undefined) warnings.push(cutShort);
    return segment;
  } catch (err) {
    // Analyze's own code, the reader's message.
    if (err instanceof TraceError) throw new AnalyzeError('SVC_ERR_ANALYZE_TRACE', err.message, err);
    throw err;
  }
}

/** The segment files under `path`, ordered by process directory, then segment index. */
export function segmentFiles(path: string): string[] {
  if (!existsSync(path)) throw new AnalyzeError('SVC_ERR_ANALYZE_PATH', `${path} does not exist`);
  const stat = statSync(path);
  const found: string[] = [];
  if (!stat.isFile() && !stat.isDirectory())
    throw new AnalyzeError(
      'SVC_ERR_ANALYZE_PATH',
      `${path} is neither a file nor a directory: give a trace segment, a process directory, a trace directory or a capture`,
    );
  if (stat.isFile()) {
    if (!SEGMENT.test(basename(path)) && !looksLikeSegment(path))
      throw new AnalyzeError(
        'SVC_ERR_ANALYZE_TRACE',
        `${path} is not a trace segment (trace.N.bin.gz, .bin or .bin.active)`,
      );
    found.push(path);
  } else collect(path, 0, found);
  if (found.length === 0)
    throw new AnalyzeError(
      'SVC_ERR_ANALYZE_PATH',
      `no trace segments (trace.N.bin.gz) under ${path}; give a process directory, a trace directory or a capture`,
    );
  // Sealed and active copies of one index cannot both exist; order by directory, then index.
  return found.sort((a, b) => {
    const dirs = dirname(a).localeCompare(dirname(b));
    return dirs !== 0 ? dirs : indexOf(a) - indexOf(b);
  });
}

function collect(dir: string, depth: number, out: string[]): void {
  if (depth > MAX_DEPTH) return;
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(full);
    } catch {
      continue; // evicted while we looked
    }
    if (stat.isDirectory()) collect(full, depth + 1, out);
    else if (SEGMENT.test(name)) out.push(full);
  }
}

function indexOf(file: string): number {
  return Number(SEGMENT.exec(basename(file))?.[1] ?? 0);
}

function looksLikeSegment(file: string): boolean {
  const head = Buffer.from(readRawSegment(file, 8));
  return (head[0] === 0x1f && head[1] === 0x8b) || head.toString('latin1') === 'DIAL9JS\u0000';
}

/** Streams metrics.log records (or every metrics.log* of a directory) into the join. */
async function joinMetrics(analyzer: TraceAnalyzer, metricsPath: string): Promise<number> {
  if (!existsSync(metricsPath))
    throw new AnalyzeError('SVC_ERR_ANALYZE_METRICS', `--metrics ${metricsPath} does not exist`);
  const files = statSync(metricsPath).isDirectory()
    ? readdirSync(metricsPath)
        .filter((name) => name.startsWith('metrics.log'))
        .sort()
        .map((name) => join(metricsPath, name))
    : [metricsPath];
  if (files.length === 0)
    throw new AnalyzeError('SVC_ERR_ANALYZE_METRICS', `--metrics ${metricsPath} holds no metrics.log file`);
  let joined = 0;
  let parsed = 0;
  for (const file of files) {
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
    const batch: Record<string, unknown>[] = [];
    for await (const line of lines) {
      if (line.trim() === '') continue;
      try {
        const record = JSON.parse(line) as unknown;
        if (typeof record === 'object' && record !== null) batch.push(record as Record<string, unknown>);
        parsed++;
      } catch {
        // A torn last line of a live file: skip it.
      }
      if (batch.length >= 1000) joined += analyzer.addWideEvents(batch.splice(0));
    }
    joined += analyzer.addWideEvents(batch);
  }
  if (parsed === 0)
    throw new AnalyzeError(
      'SVC_ERR_ANALYZE_METRICS',
      `--metrics ${metricsPath}: no JSON records (is it a metrics.log?)`,
    );
  return joined;
}
