/**
 * The requests of one process: those open now, and a bounded memory of closed ones (the most
 * recent, the slowest, the ones asked for by id, the ones findings point at). Durations feed
 * per-operation reservoirs, the baseline a long callback is compared with ("p99 of the same site").
 */
import type { Req } from './model.js';
import { Reservoir, TopK } from './reservoir.js';
import type { RequestRef } from './types.js';

/** An outgoing request this soon after a request opened is taken as sent by its handler. */
const SAME_HANDLER_US = 1000;
/** How far back (requests) a sequence number is looked for among closed requests. */
const SEQ_SEARCH = 20_000;

export class RequestModel {
  readonly open = new Map<number, Req>();
  /** The most recently opened request that may still be open (an outgoing request's likely owner). */
  lastOpened: Req | undefined;
  readonly #openByPath = new Map<string, Req>();
  readonly #recent: (Req | undefined)[];
  #recentNext = 0;
  /** Index of the ring by id, rebuilt only when asked after it changed (a Map kept in step cost ~2 µs a request). */
  #byId: Map<string, Req> | undefined;
  readonly #wanted: Set<string>;
  readonly wantedFound = new Map<string, Req>();
  readonly slowest: TopK<Req>;
  readonly durations = new Reservoir(8192);
  readonly #byOperation = new Map<string, Reservoir>();
  closedCount = 0;
  openedCount = 0;
  /** Requests served but only counted (`requestsSkipped`): fast and successful, past the recorder's rate. */
  skippedCount = 0;

  constructor(recent: number, slowest: number, wanted: readonly string[]) {
    this.#recent = new Array<Req | undefined>(Math.max(1, recent));
    this.slowest = new TopK(slowest);
    this.#wanted = new Set(wanted);
  }

  opened(req: Req): void {
    this.openedCount++;
    this.open.set(req.seq, req);
    this.lastOpened = req;
    if (req.path !== '') this.#openByPath.set(req.path, req);
    if (this.#wanted.has(req.requestId)) this.wantedFound.set(req.requestId, req);
  }

  closed(req: Req): void {
    this.open.delete(req.seq);
    if (this.#openByPath.get(req.path) === req) this.#openByPath.delete(req.path);
    req.closed = true;
    this.closedCount++;
    const ms = req.durationUs / 1000;
    this.durations.add(ms);
    let reservoir = this.#byOperation.get(req.operation);
    if (reservoir === undefined) {
      reservoir = new Reservoir(2048);
      this.#byOperation.set(req.operation, reservoir);
    }
    reservoir.add(ms);
    this.slowest.add(req.durationUs, req);
    if (this.#wanted.has(req.requestId)) this.wantedFound.set(req.requestId, req);
    this.#remember(req);
  }

  /**
   * The request an outgoing request started at `timeUs` was sent for. The recorder does not link
   * them, so: the open request with the same path (the service forwards /items/k as /items/k), else
   * the only open request, else one that opened within the last millisecond (its handler is still
   * running); otherwise nobody, rather than a guess.
   */
  ownerOf(path: string, timeUs: number): Req | undefined {
    const byPath = this.#openByPath.get(path);
    if (byPath !== undefined) return byPath;
    if (this.open.size === 1) return this.open.values().next().value;
    const last = this.lastOpened;
    return last !== undefined && !last.closed && timeUs - last.startUs <= SAME_HANDLER_US ? last : undefined;
  }

  /**
   * A request by its sequence number, while open or among the most recent ones (asked about stalls
   * and long callbacks, which name a request that ran moments ago: the ring is searched newest first).
   */
  bySeq(seq: number): Req | undefined {
    if (seq <= 0) return undefined;
    const open = this.open.get(seq);
    if (open !== undefined) return open;
    const ring = this.#recent;
    for (let n = 0, i = this.#recentNext - 1; n < Math.min(ring.length, SEQ_SEARCH); n++, i--) {
      const req = ring[(i + ring.length) % ring.length];
      if (req === undefined) return undefined;
      if (req.seq === seq) return req;
    }
    return undefined;
  }

  /** A closed request by id, if still remembered. */
  byId(requestId: string): Req | undefined {
    const wanted = this.wantedFound.get(requestId);
    if (wanted !== undefined) return wanted;
    if (this.#byId === undefined) {
      this.#byId = new Map();
      for (const req of this.#recent) if (req !== undefined) this.#byId.set(req.requestId, req);
    }
    return this.#byId.get(requestId);
  }

  /** p-quantile (ms) of the durations of an operation. */
  operationQuantile(operation: string, q: number): number {
    return this.#byOperation.get(operation)?.quantile(q) ?? Number.NaN;
  }

  operationCount(operation: string): number {
    return this.#byOperation.get(operation)?.count ?? 0;
  }

  /** Every closed request still remembered (recent ring), for window queries. */
  *remembered(): Iterable<Req> {
    for (const req of this.#recent) if (req !== undefined) yield req;
  }

  #remember(req: Req): void {
    this.#recent[this.#recentNext] = req;
    this.#recentNext = (this.#recentNext + 1) % this.#recent.length;
    this.#byId = undefined;
  }
}

export function requestRef(req: Req, role?: RequestRef['role']): RequestRef {
  const ref: RequestRef = {
    requestId: req.requestId,
    operation: req.operation,
    status: req.status,
    startMs: round3(req.startUs / 1000),
    durationMs: round3(req.durationUs / 1000),
  };
  if (role !== undefined) ref.role = role;
  if (req.method !== '') ref.method = req.method;
  if (req.path !== '') ref.path = req.path;
  if (req.wideEvent !== undefined) ref.wideEvent = req.wideEvent;
  return ref;
}

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** A request as its start event describes it, not closed yet. */
export function openedRequest(
  seq: number,
  requestId: string,
  operation: string,
  method: string,
  path: string,
  startUs: number,
): Req {
  return {
    seq,
    requestId,
    operation,
    method,
    path,
    startUs,
    endUs: Number.NaN,
    durationUs: 0,
    status: 0,
    errorKind: '',
    closed: false,
    outgoing: undefined,
  };
}

/** A request seen closing without its start (it opened before the trace did). */
export function orphanRequest(seq: number, endUs: number, durationUs: number): Req {
  const req = openedRequest(seq, `#${seq}`, 'unknown', '', '', endUs - durationUs);
  req.endUs = endUs;
  req.durationUs = durationUs;
  return req;
}
