/**
 * Everything the analysis keeps about one recorded process, fed segment by segment. Memory is
 * bounded: per-second aggregates, reservoirs, top-K lists, a ring of recent requests, the stalls
 * (capped) and the CPU samples (two numbers each).
 */
import type { DecodedSegment, TraceHeader } from '../format/index.js';
import { StallViews } from './attribution.js';
import { type BreakdownSources, explainRequest } from './breakdown.js';
import { HangMarkers } from './hangs.js';
import type { Callback, Req, Stall } from './model.js';
import { OutgoingStats } from './outgoing.js';
import { RequestModel } from './requests.js';
import { StackStore } from './stacks.js';
import { RequestSweep } from './sweep.js';
import { Timeline } from './timeline.js';
import type { AnalyzeOptions, RequestBreakdown } from './types.js';

export type ResolvedOptions = Required<Omit<AnalyzeOptions, 'requestIds'>> & { requestIds: readonly string[] };

export const DEFAULT_OPTIONS: ResolvedOptions = Object.freeze({
  longCallbackMs: 50,
  criticalCallbackMs: 200,
  slowOutgoingMs: 100,
  slowRequests: 5,
  requestIds: [],
  recentRequests: 50_000,
  requestsPerFinding: 20,
});

export class ProcessState {
  readonly header: TraceHeader;
  readonly options: ResolvedOptions;
  readonly requests: RequestModel;
  readonly stacks = new StackStore();
  readonly timeline = new Timeline();
  readonly stalls: Stall[] = [];
  readonly callbacks: Callback[] = [];
  /** Stalls that never ended (watchdog markers only): the process hung and was killed. */
  readonly hangs = new HangMarkers();
  readonly outgoing: OutgoingStats;
  readonly views: StallViews;
  readonly #sweep: RequestSweep;
  segments = 0;
  events = 0;
  truncated = false;
  callbackEvents = 0;
  #sources: BreakdownSources | undefined;

  constructor(header: TraceHeader, options: ResolvedOptions) {
    this.header = header;
    this.options = options;
    this.requests = new RequestModel(
      options.recentRequests,
      Math.max(20, options.slowRequests * 4),
      options.requestIds,
    );
    this.outgoing = new OutgoingStats(options.slowOutgoingMs);
    this.views = new StallViews(this.stacks);
    this.#sweep = new RequestSweep({
      requests: this.requests,
      stalls: this.stalls,
      callbacks: this.callbacks,
      onOutgoing: (out) => this.outgoing.add(out),
    });
  }

  add(segment: DecodedSegment): void {
    this.segments++;
    for (const columns of Object.values(segment.events)) this.events += columns.count;
    this.callbackEvents += segment.events.callback?.count ?? 0;
    const skipped = segment.events.requestsSkipped?.fields.count;
    if (skipped !== undefined) for (const count of skipped) this.requests.skippedCount += count;
    if (segment.truncated) this.truncated = true;
    this.stacks.addSamples(segment);
    this.timeline.add(segment);
    this.#sweep.add(segment);
    this.hangs.add(segment);
    this.#sources = undefined;
  }

  get stallsDropped(): number {
    return this.#sweep.stallsDropped;
  }

  /** Stalls, callbacks and GC in the order the breakdown searches them (built once per report). */
  sources(): BreakdownSources {
    if (this.#sources !== undefined) return this.#sources;
    this.stalls.sort((a, b) => a.startUs - b.startUs);
    this.callbacks.sort((a, b) => a.startUs - b.startUs);
    let longest = 0;
    for (const s of this.stalls) longest = Math.max(longest, s.durationUs);
    for (const c of this.callbacks) longest = Math.max(longest, c.durationUs);
    this.#sources = {
      stalls: this.stalls,
      stallStarts: Float64Array.from(this.stalls, (s) => s.startUs),
      callbacks: this.callbacks,
      callbackStarts: Float64Array.from(this.callbacks, (c) => c.startUs),
      gc: this.timeline.gcPauses(),
      views: this.views,
      stacks: this.stacks,
      callbackTracking: this.callbackEvents > 0,
      longestWorkUs: longest,
    };
    return this.#sources;
  }

  explain(req: Req): RequestBreakdown {
    return explainRequest(req, this.sources());
  }

  /** Closed requests still remembered that overlap [fromUs, toUs], slowest first. */
  requestsIn(fromUs: number, toUs: number, limit: number): Req[] {
    const found: Req[] = [];
    const seen = new Set<Req>();
    const consider = (req: Req) => {
      if (seen.has(req)) return;
      seen.add(req);
      if (req.startUs <= toUs && (req.closed ? req.endUs : Number.POSITIVE_INFINITY) >= fromUs) found.push(req);
    };
    for (const req of this.requests.slowest.sorted()) consider(req);
    for (const req of this.requests.remembered()) consider(req);
    for (const req of this.requests.open.values()) consider(req);
    return found.sort((a, b) => b.durationUs - a.durationUs).slice(0, limit);
  }
}
