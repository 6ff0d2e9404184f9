/**
 * `service profile export`, the Node side: find the trace's processes, decode one segment at a
 * time, convert, and write the text as it comes (honouring backpressure) to a file or stdout.
 * Where the text goes, and how (`-o PATH` as a shell redirect): output-node.ts.
 */

import { basename, resolve } from 'node:path';
import { TraceError } from '../../errors.js';
import type { DecodedSegment } from '../format/index.js';
import { chromeTraceChunks, type ExportProcess } from './chrome-trace.js';
import { CpuProfileBuilder } from './cpuprofile.js';
import { writeOutput } from './output-node.js';
import { findTraceProcesses, readFirstHeader, readSegment, type TraceProcess } from './trace-path-node.js';

export const EXPORT_FORMATS = ['chrome', 'cpuprofile'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions {
  readonly path: string;
  readonly format: ExportFormat;
  /** A file, or `-` for stdout; default: `<trace name>.trace.json` / `.cpuprofile` in the current directory. */
  readonly output?: string | undefined;
}

export interface ExportResult {
  /** Where it went (`-` for stdout). */
  readonly output: string;
  readonly processes: readonly string[];
  readonly bytes: number;
  /**
   * Whether the output is a file to open later (written under a temporary name and renamed), as
   * opposed to stdout, a device or a FIFO written in place: a note on stdout after the export would
   * land in the same stream as the export when `-o` names /dev/stdout.
   */
  readonly file: boolean;
}

/**
 * The process's segments, decoded one at a time. One whose header read (see findTraceProcesses) but
 * whose whole cannot be (one that inflates past the bound of a segment) is skipped with a warning
 * when there are others, as analyze does: it must not cost the export of the rest.
 */
async function* segmentsOf(process: TraceProcess, others: boolean): AsyncGenerator<DecodedSegment> {
  for (const path of process.segments) {
    let segment: DecodedSegment;
    try {
      segment = await readSegment(path);
    } catch (err) {
      if (!(others || process.segments.length > 1) || !(err instanceof TraceError)) throw err;
      globalThis.process.stderr.write(`warning: skipped a damaged segment: ${err.message}\n`);
      continue;
    }
    yield segment;
  }
}

function defaultOutput(path: string, processes: readonly TraceProcess[], format: ExportFormat): string {
  const name = processes.length === 1 ? (processes[0] as TraceProcess).name : basename(resolve(path));
  return resolve(`${name}${format === 'chrome' ? '.trace.json' : '.cpuprofile'}`);
}

async function cpuProfileOf(
  processes: readonly TraceProcess[],
): Promise<{ process: TraceProcess; builder: CpuProfileBuilder }> {
  const headers = await Promise.all(processes.map(readFirstHeader));
  const sampled = processes.filter((_, i) => headers[i]?.config.cpuProfile === true);
  if (sampled.length === 0)
    throw new TraceError(
      'SVC_ERR_EXPORT_NO_CPU_SAMPLES',
      'this trace was recorded without CPU samples: record again with DIAL9_CPU_PROFILE_ENABLED=true (and DIAL9_CPU_SAMPLE_HZ, 99 by default)',
    );
  if (sampled.length > 1)
    throw new TraceError(
      'SVC_ERR_EXPORT_MANY_PROCESSES',
      `a .cpuprofile holds one process and this trace has ${sampled.length} with CPU samples: export one of ${sampled.map((p) => p.dir).join(', ')}`,
    );
  const process = sampled[0] as TraceProcess;
  const header = headers[processes.indexOf(process)];
  const builder = new CpuProfileBuilder(Number(header?.config.cpuSampleHz) || 99);
  for await (const segment of segmentsOf(process, false)) builder.addSegment(segment);
  if (builder.sampleCount === 0)
    throw new TraceError(
      'SVC_ERR_EXPORT_NO_CPU_SAMPLES',
      `CPU samples were on but none is in ${process.dir}: the program was idle, or stopped before the first batch (every 30 s and at a clean exit)`,
    );
  return { process, builder };
}

export async function exportTrace(options: ExportOptions): Promise<ExportResult> {
  const processes = await findTraceProcesses(options.path);
  if (options.format === 'cpuprofile') {
    const { process, builder } = await cpuProfileOf(processes);
    const output = options.output ?? defaultOutput(options.path, [process], 'cpuprofile');
    const written = await writeOutput(output, builder.chunks());
    return { output, processes: [process.dir], ...written };
  }
  const headers = await Promise.all(processes.map(readFirstHeader));
  const exportProcesses: ExportProcess[] = processes.map((process, i) => ({
    header: headers[i] as NonNullable<(typeof headers)[number]>,
    name: process.name,
    segments: () => segmentsOf(process, processes.length > 1),
  }));
  const output = options.output ?? defaultOutput(options.path, processes, 'chrome');
  const written = await writeOutput(output, chromeTraceChunks(exportProcesses));
  return { output, processes: processes.map((p) => p.dir), ...written };
}
