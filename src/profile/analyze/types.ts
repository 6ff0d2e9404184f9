/**
 * The analysis's public shapes. The names are a contract: the CLI's `--json`, the viewer and the
 * export code against them (more fields may be added, none renamed). Times are ms on the trace clock
 * (the recorded process's `performance.now()`); wall time is `timeOriginMs + startMs`.
 */

export interface Frame {
  functionName: string;
  url: string;
  /** 1-based; 0 unknown. */
  line: number;
  column: number;
}

export interface RequestRef {
  requestId: string;
  operation: string;
  status: number;
  startMs: number;
  durationMs: number;
  /** What the finding did to it: its own code ran (`ran`), or it waited behind it (`delayed`). */
  role?: 'ran' | 'delayed' | 'waited';
  method?: string;
  path?: string;
  /** The request's wide event, when a metrics.log was joined. */
  wideEvent?: Record<string, unknown>;
}

export type FindingKind =
  | 'hang'
  | 'long-callback'
  | 'event-loop-delay'
  | 'cpu-saturation'
  | 'gc'
  | 'blocked-callback'
  | 'resource-growth'
  | 'downstream-wait'
  | 'dropped-events'
  | 'slow-request';

export type Severity = 'critical' | 'warning' | 'info';

export interface Finding {
  kind: FindingKind;
  severity: Severity;
  summary: string;
  startMs: number;
  durationMs: number;
  /** Leaf first: the top frames of the CPU samples in the window; [] when there are none. */
  stack: Frame[];
  /** The requests it ran for or delayed (a bounded list; counts are in `evidence`). */
  requests: RequestRef[];
  evidence: Record<string, number | string>;
  /** Where the time went, for a finding that is about a place in the code. */
  site?: string;
  /** Process id, when the trace holds more than one process. */
  pid?: number;
}

export interface QueuedBehind {
  startMs: number;
  durationMs: number;
  /** Top app frame of the samples in it, else what it ran for, else `unknown`. */
  site: string;
  stack: Frame[];
  /** The request the blocking work ran for, if any. */
  request?: RequestRef;
  /** Ms of this request's wall time it took. */
  overlapMs?: number;
}

export interface OutgoingRef {
  startMs: number;
  durationMs: number;
  method: string;
  origin: string;
  path: string;
  status: number;
  error?: string;
}

export interface BreakdownParts {
  ownCpuMs: number;
  queuedMs: number;
  gcMs: number;
  ioWaitMs: number;
  unknownMs: number;
}

export interface RequestBreakdown {
  requestId: string;
  operation: string;
  status: number;
  startMs: number;
  durationMs: number;
  /** Sum exactly to `durationMs`. */
  parts: BreakdownParts;
  queuedBehind: QueuedBehind[];
  outgoing: OutgoingRef[];
  wideEvent?: Record<string, unknown>;
  /** How each part was measured: `stalls`, `callbacks` (opt-in tracking), `none`. */
  fidelity?: string;
  notes?: string[];
}

export interface TraceSummary {
  processes: number;
  segments: number;
  events: number;
  startMs: number;
  endMs: number;
  timeOriginMs: number;
  truncated: boolean;
  recording: unknown;
  /** Requests served, those only counted included. */
  requests?: number;
  /**
   * Of `requests`, those the recorder counted instead of writing one by one (fast and successful,
   * past DIAL9_REQUEST_EVENTS_PER_SEC): in no finding, list or percentile.
   */
  requestsCounted?: number;
  cpuSamples?: number;
  droppedEvents?: number;
}

export interface AnalysisReport {
  trace: TraceSummary;
  /** Worst first. */
  findings: Finding[];
  /** The slowest few requests, explained. */
  slowRequests: RequestBreakdown[];
}

export interface AnalyzeOptions {
  /** A stretch of main-thread work at least this long is a long callback (ms). Default 50. */
  longCallbackMs?: number;
  /** … and critical from this long (ms). Default 200. */
  criticalCallbackMs?: number;
  /** An outgoing request at least this long is slow (ms). Default 100. */
  slowOutgoingMs?: number;
  /** How many of the slowest requests the report explains. Default 5. */
  slowRequests?: number;
  /** Requests `explain()` must be able to answer whatever their age. */
  requestIds?: readonly string[];
  /** Most recent requests kept for `explain()` of any id (bounded memory). Default 50,000. */
  recentRequests?: number;
  /** How many requests a finding lists at most. Default 20. */
  requestsPerFinding?: number;
}
