/**
 * Messages between the page and its trace workers. Times are ms on the trace's clock (the recorded
 * process's performance.now(); wall time = timeOriginMs + ms). Bulk data travels as typed arrays.
 */

export interface SegmentRef {
  readonly url: string;
  readonly name: string;
  readonly index: number;
  readonly bytes: number;
}

export interface TraceInfo {
  readonly service: string;
  readonly pid: number;
  readonly node: string;
  readonly recording: string;
  readonly timeOriginMs: number;
  /** Start of each segment (ms), from its header, in segment order. */
  readonly segmentStartMs: number[];
  readonly startMs: number;
}

/** Events of one time window, ready to draw. Arrays of one kind share an index. */
export interface WindowData {
  readonly fromMs: number;
  readonly toMs: number;
  readonly events: number;
  readonly decodeMs: number;
  /** Read just past the window: CPU samples written after it (up to 30 s late) may be missing. */
  readonly quick: boolean;
  readonly ops: string[];
  readonly stalls: { start: Float64Array; dur: Float64Array; req: Float64Array; cpuShare: Float64Array };
  readonly gc: { start: Float64Array; dur: Float64Array; kind: Float64Array };
  readonly callbacks: { start: Float64Array; dur: Float64Array };
  /** Incoming requests, sorted by start. `op` indexes `ops`; `seq` is the trace's request number. */
  readonly reqIn: { start: Float64Array; dur: Float64Array; status: Float64Array; op: Float64Array; seq: Float64Array };
  readonly reqOut: { start: Float64Array; dur: Float64Array; status: Float64Array; failed: Float64Array };
  readonly cpu: { time: Float64Array; fn: Float64Array };
  readonly fnNames: string[];
  readonly loop: { time: Float64Array; elu: Float64Array; delayMs: Float64Array };
  readonly res: { time: Float64Array; rssMb: Float64Array; heapMb: Float64Array };
  /** Of those written one by one (`reqIn`). */
  readonly inflight: { time: Float64Array; count: Float64Array };
  /** Requests in the window the recorder counted instead of writing (`requestsSkipped`): in no list or lane. */
  readonly requestsCounted: number;
}

export interface FrameInfo {
  readonly functionName: string;
  readonly url: string;
  readonly line: number;
  readonly column: number;
}

export interface FlameNode {
  readonly name: string;
  readonly url: string;
  readonly line: number;
  total: number;
  self: number;
  children: FlameNode[];
}

export interface RequestInfo {
  readonly seq: number;
  readonly requestId: string;
  readonly operation: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly startMs: number;
  readonly durationMs: number;
}

export interface StallInfo {
  readonly startMs: number;
  readonly durationMs: number;
  readonly cpuShare: number;
  readonly inFlight: number;
  readonly samples: number;
  /** CPU samples a thread running or waiting through the whole stall would have had; undefined when sampling was off. */
  readonly expectedSamples: number | undefined;
  /** The stack seen most often during the stall, leaf first. */
  readonly stack: FrameInfo[];
  readonly request: RequestInfo | undefined;
}

/** A point of interest of the whole trace, found by the overview pass (or the analysis when present). */
export interface PointOfInterest {
  readonly kind: string;
  readonly severity: 'critical' | 'warning' | 'info';
  readonly summary: string;
  readonly startMs: number;
  readonly durationMs: number;
  readonly requestId?: string | undefined;
}

/** The whole trace at one-second resolution, built segment by segment in the background. */
export interface OverviewData {
  readonly segmentsDone: number;
  readonly segmentsTotal: number;
  readonly startMs: number;
  /** Where `perSecond` starts (the first segment's start). */
  readonly perSecondStartMs: number;
  readonly endMs: number;
  readonly events: number;
  /** Per second from perSecondStartMs: requests that started, the longest, errors (5xx). */
  readonly perSecond: { count: number[]; maxDurMs: number[]; errors: number[] };
  readonly stalls: { startMs: number; durationMs: number }[];
  readonly gc: { startMs: number; durationMs: number; kind: number }[];
  readonly loop: { time: number[]; elu: number[]; delayMs: number[] };
  readonly res: { time: number[]; rssMb: number[]; heapMb: number[] };
  readonly slowRequests: RequestInfo[];
  readonly points: PointOfInterest[];
}

export interface SearchHit {
  readonly kind: 'request' | 'route' | 'function';
  readonly label: string;
  readonly startMs: number;
  readonly durationMs: number;
  readonly requestId?: string | undefined;
}

export type WorkerRequest =
  | { type: 'open'; id: number; trace: string; segments: SegmentRef[] }
  /** `quick`: skip the CPU samples that arrive late (read just past the window): for the first view. */
  | { type: 'window'; id: number; fromMs: number; toMs: number; quick?: boolean }
  | { type: 'stall'; id: number; startMs: number }
  | { type: 'flame'; id: number; fromMs: number; toMs: number }
  | { type: 'request'; id: number; requestId?: string; seq?: number }
  | { type: 'overview'; id: number; trace: string; segments: SegmentRef[] }
  | { type: 'search'; id: number; query: string };

export type WorkerReply =
  | { type: 'open'; id: number; info: TraceInfo }
  | { type: 'window'; id: number; data: WindowData }
  | { type: 'stall'; id: number; stall: StallInfo | undefined }
  | { type: 'flame'; id: number; root: FlameNode; samples: number }
  | { type: 'request'; id: number; request: RequestInfo | undefined }
  | { type: 'overview'; id: number; overview: OverviewData }
  | { type: 'search'; id: number; hits: SearchHit[] }
  | { type: 'error'; id: number; message: string };
