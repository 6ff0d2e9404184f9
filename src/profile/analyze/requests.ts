/**
 * The requests of one process: those open now, and a bounded memory of closed ones (the most
 * recent, the slowest, the ones asked for by id, the ones findings point at). Durations feed
 * per-operation reservoirs, the baseline a long callback is compared with ("p99 of the same site").
 */
import type { Req } from './model.js';
import { Reservoir, TopK } from './reservoir.js';
import type { RequestRef } from './types.js';

export class RequestModel {
  readonly open = new Map<number, Req>();
  /** The most recently opened request that may still be open (an outgoing request's likely owner). */
  lastOpened: Req | undefined;
  readonly #openByPath = new Map<string, Req>();
  readonly #recent: (Req | undefined)[];
  #recentNext = 0;
  readonly #recentBySeq = new Map<number, Req>();
  readonly #byId = new Map<string, Req>();
  readonly #wanted: Set<string>;
  readonly wantedFound = new Map<string, Req>();
  readonly slowest: TopK<Req>;
  readonly durations = new Reservoir(8192);
  readonly #byOperation = new Map<string, Reservoir>();
  closedCount = 0;
  openedCount = 0;

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

  /** The open request sending to `path` (same path: the service forwards /items/k as /items/k), else the latest opened. */
  ownerOf(path: string): Req | undefined {
    const byPath = this.#openByPath.get(path);
    if (byPath !== undefined) return byPath;
    const last = this.lastOpened;
    return last !== undefined && !last.closed ? last : undefined;
  }

  /** A request by its sequence number, while open or among the recent ones. */
  bySeq(seq: number): Req | undefined {
    if (seq <= 0) return undefined;
    return this.open.get(seq) ?? this.#recentBySeq.get(seq);
  }

  /** A closed request by id, if still remembered. */
  byId(requestId: string): Req | undefined {
    return this.wantedFound.get(requestId) ?? this.#byId.get(requestId);
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
    const slot = this.#recentNext;
    const evicted = this.#recent[slot];
    if (evicted !== undefined) {
      if (this.#recentBySeq.get(evicted.seq) === evicted) this.#recentBySeq.delete(evicted.seq);
      if (this.#byId.get(evicted.requestId) === evicted) this.#byId.delete(evicted.requestId);
    }
    this.#recent[slot] = req;
    this.#recentNext = (slot + 1) % this.#recent.length;
    this.#recentBySeq.set(req.seq, req);
    this.#byId.set(req.requestId, req);
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

/** A request seen closing without its start (it opened before the trace did). */
export function orphanRequest(seq: number, endUs: number, durationUs: number): Req {
  return {
    seq,
    requestId: `#${seq}`,
    operation: 'unknown',
    method: '',
    path: '',
    startUs: endUs - durationUs,
    endUs,
    durationUs,
    status: 0,
    errorKind: '',
    closed: false,
    outgoing: undefined,
  };
}
