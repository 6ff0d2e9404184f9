/** The analysis's internal records (µs on the trace clock), built by the sweep and read by the findings. */

/** A request served (the service's wide event, or any node:http server request). */
export interface Req {
  readonly seq: number;
  requestId: string;
  operation: string;
  method: string;
  path: string;
  startUs: number;
  /** NaN while open. */
  endUs: number;
  durationUs: number;
  status: number;
  errorKind: string;
  closed: boolean;
  /** Its outgoing requests (bounded). */
  outgoing: Out[] | undefined;
  wideEvent?: Record<string, unknown>;
}

/** An outgoing request (undici, fetch or node:http client). */
export interface Out {
  readonly seq: number;
  readonly client: string;
  readonly method: string;
  readonly origin: string;
  readonly path: string;
  readonly startUs: number;
  headersUs: number;
  endUs: number;
  status: number;
  error: string;
  /** The request it was sent for (the open request with the same path, else the latest opened). */
  owner: Req | undefined;
}

/** A stall: main-thread work longer than the recorder's threshold. */
export interface Stall {
  readonly startUs: number;
  readonly durationUs: number;
  readonly endUs: number;
  /** The recorder's `request`: the request that ran code during it (0 none). */
  readonly requestSeq: number;
  readonly cpuUs: number;
  readonly cpuWindowUs: number;
  readonly lateUs: number;
  readonly inFlight: number;
  requestRef: Req | undefined;
  /** Requests open during it (bounded list) and how many there were. */
  readonly overlapping: Req[];
  overlapCount: number;
}

/** One callback from the opt-in async_hooks tracking (only the long ones are kept). */
export interface Callback {
  readonly startUs: number;
  readonly durationUs: number;
  readonly type: string;
  readonly requestSeq: number;
  requestRef: Req | undefined;
}

export const MAX_OUTGOING_PER_REQUEST = 50;
export const MAX_OVERLAP_PER_STALL = 64;
