/**
 * `service profile export`, the Node side: find the trace's processes, decode one segment at a
 * time, convert, and write the text as it comes (honouring backpressure) to a file or stdout. A file
 * is written under a temporary name and renamed at the end, so a failed export leaves nothing half
 * written behind.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { TraceError } from '../../errors.js';
import type { DecodedSegment } from '../format/index.js';
import { chromeTraceChunks, type ExportProcess } from './chrome-trace.js';
import { CpuProfileBuilder } from './cpuprofile.js';
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
}

async function* segmentsOf(process: TraceProcess): AsyncGenerator<DecodedSegment> {
  for (const path of process.segments) yield await readSegment(path);
}

/** Writes text chunks to `stream`, waiting whenever it asks to. */
async function pump(chunks: AsyncIterable<string> | Iterable<string>, stream: Writable): Promise<number> {
  let bytes = 0;
  for await (const chunk of chunks) {
    bytes += Buffer.byteLength(chunk);
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  return bytes;
}

async function writeOutput(output: string, chunks: AsyncIterable<string> | Iterable<string>): Promise<number> {
  if (output === '-') return pump(chunks, process.stdout);
  const temporary = `${output}.partial-${process.pid}`;
  const stream = createWriteStream(temporary);
  try {
    await once(stream, 'open');
    const bytes = await pump(chunks, stream);
    stream.end();
    await once(stream, 'finish');
    await rename(temporary, output);
    return bytes;
  } catch (err) {
    stream.destroy();
    await rm(temporary, { force: true });
    throw err;
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
  for await (const segment of segmentsOf(process)) builder.addSegment(segment);
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
    const bytes = await writeOutput(output, builder.chunks());
    return { output, processes: [process.dir], bytes };
  }
  const headers = await Promise.all(processes.map(readFirstHeader));
  const exportProcesses: ExportProcess[] = processes.map((process, i) => ({
    header: headers[i] as NonNullable<(typeof headers)[number]>,
    name: process.name,
    segments: () => segmentsOf(process),
  }));
  const output = options.output ?? defaultOutput(options.path, processes, 'chrome');
  const bytes = await writeOutput(output, chromeTraceChunks(exportProcesses));
  return { output, processes: processes.map((p) => p.dir), bytes };
}
