/**
 * The streaming analyzer: feed decoded segments one at a time (in index order per process), then
 * ask for the report or for one request's breakdown. Browser-safe; the viewer runs it in a worker.
 *
 * @example
 * const analyzer = new TraceAnalyzer();
 * for (const bytes of segments) analyzer.addSegment(decodeSegment(await gunzip(bytes)));
 * const report = analyzer.report();
 */
import type { DecodedSegment } from '../format/index.js';
import { DEFAULT_OPTIONS, ProcessState, type ResolvedOptions } from './process.js';
import { buildReport, shiftBreakdown } from './report.js';
import type { AnalysisReport, AnalyzeOptions, RequestBreakdown } from './types.js';
import { flattenWideEvent } from './wide-events.js';

export class TraceAnalyzer {
  readonly #options: ResolvedOptions;
  readonly #processes = new Map<string, ProcessState>();

  constructor(options: AnalyzeOptions = {}) {
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.#options = { ...DEFAULT_OPTIONS, ...defined } as ResolvedOptions;
  }

  /** Adds one segment; a process's segments must come in index order. */
  addSegment(segment: DecodedSegment): void {
    const { header } = segment;
    const key = `${header.process.host}\u0000${header.process.pid}\u0000${header.timeOriginMs}`;
    let process = this.#processes.get(key);
    if (process === undefined) {
      process = new ProcessState(header, this.#options);
      this.#processes.set(key, process);
    }
    process.add(segment);
  }

  /**
   * Joins metrics.log records (parsed JSON lines) with the requests the analysis remembers (the
   * slowest, the recent ones, those asked for): call after the segments. Returns how many joined.
   */
  addWideEvents(records: Iterable<Record<string, unknown>>): number {
    let joined = 0;
    for (const record of records) {
      const flat = flattenWideEvent(record);
      if (flat === undefined) continue;
      for (const process of this.#processes.values()) {
        const req = process.requests.byId(flat.RequestId as string) ?? findSlow(process, flat.RequestId as string);
        if (req === undefined) continue;
        req.wideEvent = flat;
        joined++;
        break;
      }
    }
    return joined;
  }

  report(): AnalysisReport {
    return buildReport(this.#ordered());
  }

  /** One request split into own CPU, queued, GC, I/O wait and unknown; undefined when not remembered. */
  explain(requestId: string): RequestBreakdown | undefined {
    const processes = this.#ordered();
    const originMs = processes[0]?.header.timeOriginMs ?? 0;
    for (const process of processes) {
      const req = process.requests.byId(requestId) ?? findSlow(process, requestId);
      if (req === undefined || !req.closed) continue;
      return shiftBreakdown(process.explain(req), process.header.timeOriginMs - originMs);
    }
    return undefined;
  }

  #ordered(): ProcessState[] {
    return [...this.#processes.values()].sort((a, b) => a.header.timeOriginMs - b.header.timeOriginMs);
  }
}

function findSlow(process: ProcessState, requestId: string) {
  return process.requests.slowest.sorted().find((r) => r.requestId === requestId);
}
