/**
 * Chrome trace-event JSON (`{"traceEvents": [...], "displayTimeUnit": "ms", "metadata": {...}}`), the
 * format Perfetto and DevTools' Performance panel open. Browser-safe: it takes decoded segments and
 * yields text chunks; the caller writes them where it likes. Nothing but what is still open is held
 * between segments, so a long trace streams through in bounded memory.
 *
 * Times: `ts`/`dur` in whole µs. One process keeps its own clock (ts = trace time, as the analysis
 * reports it); several processes share the axis of the earliest one, shifted by the difference of
 * their `timeOriginMs`. One pid per process (the recorded pid, made unique if two collide).
 */
import type { DecodedSegment, TraceHeader } from '../format/index.js';
import { ChromeProcess } from './chrome-process.js';
import type { TraceEvent } from './chrome-tracks.js';

export interface ExportProcess {
  /** Header of the first segment (read before the events, to place the process on the time axis). */
  readonly header: TraceHeader;
  /** A label for the process (its directory name). */
  readonly name: string;
  /** Its segments in order, decoded one at a time. */
  readonly segments: () => AsyncIterable<DecodedSegment>;
}

/** Events per text chunk handed to the writer. */
const EVENTS_PER_CHUNK = 2000;

export async function* chromeTraceChunks(
  processes: readonly ExportProcess[],
  tool = 'service profile export',
): AsyncGenerator<string> {
  const originMs = Math.min(...processes.map((p) => p.header.timeOriginMs));
  const usedPids = new Set<number>();
  const summaries: Record<string, unknown>[] = [];
  let first = true;
  let pending: string[] = [];
  const emit = function* (events: readonly TraceEvent[]): Generator<string> {
    for (const event of events) {
      pending.push(JSON.stringify(event));
      if (pending.length >= EVENTS_PER_CHUNK) {
        yield (first ? '' : ',\n') + pending.join(',\n');
        first = false;
        pending = [];
      }
    }
  };
  yield '{"traceEvents":[\n';
  for (const [index, process] of processes.entries()) {
    const { header } = process;
    let pid = header.process.pid;
    while (usedPids.has(pid)) pid += 1_000_000;
    usedPids.add(pid);
    const offsetUs = Math.round((header.timeOriginMs - originMs) * 1000);
    const exporter = new ChromeProcess(pid, header, offsetUs);
    yield* emit([
      {
        ph: 'M',
        name: 'process_name',
        pid,
        args: { name: `${header.process.service} ${header.process.pid} (${header.process.host})` },
      },
      { ph: 'M', name: 'process_sort_index', pid, args: { sort_index: index } },
      { ph: 'M', name: 'process_labels', pid, args: { labels: process.name } },
    ]);
    let segments = 0;
    let truncated = false;
    for await (const segment of process.segments()) {
      segments++;
      truncated ||= segment.truncated;
      for (const events of exporter.segment(segment)) yield* emit(events);
    }
    yield* emit(exporter.finish());
    summaries.push({
      pid,
      recordedPid: header.process.pid,
      name: process.name,
      service: header.process.service,
      host: header.process.host,
      formatVersion: header.version,
      timeOriginMs: header.timeOriginMs,
      offsetUs,
      segments,
      truncated,
      firstUs: Number.isFinite(exporter.firstUs) ? exporter.firstUs : null,
      lastUs: Number.isFinite(exporter.lastUs) ? exporter.lastUs : null,
      cpuSamples: exporter.cpuSamples,
      unpairedEnds: exporter.unpaired,
      overlappingLanes: exporter.tracks.overlaps(),
      recording: header.recording.summary,
    });
  }
  if (pending.length > 0) yield (first ? '' : ',\n') + pending.join(',\n');
  const metadata = {
    source: tool,
    format: 'dial9-node trace (each process names its format version)',
    clock: 'ts in µs: the first process’s trace clock (performance.now()); other processes shifted by timeOriginMs',
    timeOriginMs: originMs,
    cpuSamples: 'a flame chart of X events on the track "CPU samples (JS stacks)"; exact samples: --format cpuprofile',
    processes: summaries,
  };
  yield `\n],\n"displayTimeUnit":"ms",\n"metadata":${JSON.stringify(metadata)}}\n`;
}
