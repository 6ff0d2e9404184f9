/**
 * One pass over a segment's request-shaped events in time order: requests served open and close,
 * outgoing requests start and end (each given an owner: the open request with the same path, else
 * the latest opened), and each stall learns the requests open while it ran. The columns are each
 * written in time order (except stalls, written when they end, and callbacks, which are sorted
 * here), so a k-way merge keeps this linear in the events.
 */
import type { DecodedSegment, EventColumns } from '../format/index.js';
import {
  type Callback,
  MAX_OUTGOING_PER_REQUEST,
  MAX_OVERLAP_PER_STALL,
  type Out,
  type Req,
  type Stall,
} from './model.js';
import { orphanRequest, type RequestModel } from './requests.js';

/** Callbacks shorter than this are not kept one by one (opt-in tracking writes millions). */
export const KEPT_CALLBACK_US = 1000;
/** Bounds of what is kept whatever the trace's length. */
export const MAX_STALLS = 200_000;
export const MAX_CALLBACKS = 500_000;

export interface SweepSinks {
  readonly requests: RequestModel;
  readonly stalls: Stall[];
  readonly callbacks: Callback[];
  /** Every outgoing request, once it ended. */
  readonly onOutgoing: (out: Out) => void;
}

type Handler = (row: number, time: number) => void;

export class RequestSweep {
  readonly #sinks: SweepSinks;
  readonly #openOut = new Map<number, Out>();
  /** Stalls under way at the current time of the sweep. */
  #active: Stall[] = [];
  stallsDropped = 0;

  constructor(sinks: SweepSinks) {
    this.#sinks = sinks;
  }

  add(segment: DecodedSegment): void {
    const { requests, stalls } = this.#sinks;
    const e = segment.events;
    const str = (columns: EventColumns, field: string, row: number) =>
      segment.strings[(columns.fields[field] as Float64Array)[row] as number] ?? '';
    const num = (columns: EventColumns, field: string, row: number) =>
      (columns.fields[field] as Float64Array)[row] as number;

    const inputs: { columns: EventColumns; order: Int32Array | undefined; handle: Handler }[] = [];
    const push = (name: string, handle: (c: EventColumns) => Handler, sortByTime = false) => {
      const columns = e[name];
      if (columns === undefined || columns.count === 0) return;
      inputs.push({ columns, order: sortByTime ? sortedOrder(columns.time) : undefined, handle: handle(columns) });
    };

    push('requestOpen', (c) => (row, time) => {
      this.#opened({
        seq: num(c, 'request', row),
        requestId: str(c, 'requestId', row),
        operation: str(c, 'operation', row),
        method: str(c, 'method', row),
        path: str(c, 'path', row),
        startUs: time,
        endUs: Number.NaN,
        durationUs: 0,
        status: 0,
        errorKind: '',
        closed: false,
        outgoing: undefined,
      });
    });
    push('httpInStart', (c) => (row, time) => {
      const seq = num(c, 'request', row);
      const url = str(c, 'url', row);
      const method = str(c, 'method', row);
      this.#opened({
        seq,
        requestId: `#${seq}`,
        operation: `${method} ${url.split('?')[0]}`,
        method,
        path: url,
        startUs: time,
        endUs: Number.NaN,
        durationUs: 0,
        status: 0,
        errorKind: '',
        closed: false,
        outgoing: undefined,
      });
    });
    push('requestClose', (c) => (row, time) => {
      const seq = num(c, 'request', row);
      const durationUs = num(c, 'durationUs', row);
      const req = requests.open.get(seq) ?? orphanRequest(seq, time, durationUs);
      req.endUs = time;
      req.durationUs = durationUs;
      // The wide event's Duration is the truth; its start is the close minus it.
      req.startUs = time - durationUs;
      req.status = num(c, 'status', row);
      req.errorKind = str(c, 'errorKind', row);
      requests.closed(req);
    });
    push('httpInEnd', (c) => (row, time) => {
      const seq = num(c, 'request', row);
      const req = requests.open.get(seq) ?? orphanRequest(seq, time, 0);
      req.endUs = time;
      req.durationUs = time - req.startUs;
      req.status = num(c, 'status', row);
      requests.closed(req);
    });
    push('httpOutStart', (c) => (row, time) => {
      const seq = num(c, 'request', row);
      const path = str(c, 'path', row);
      this.#openOut.set(seq, {
        seq,
        client: str(c, 'client', row),
        method: str(c, 'method', row),
        origin: str(c, 'origin', row),
        path,
        startUs: time,
        headersUs: Number.NaN,
        endUs: Number.NaN,
        status: 0,
        error: '',
        owner: requests.ownerOf(path),
      });
    });
    push('httpOutHeaders', (c) => (row, time) => {
      const out = this.#openOut.get(num(c, 'request', row));
      if (out === undefined) return;
      out.headersUs = time;
      out.status = num(c, 'status', row);
    });
    push('httpOutEnd', (c) => (row, time) => {
      const seq = num(c, 'request', row);
      const out = this.#openOut.get(seq);
      if (out === undefined) return;
      this.#openOut.delete(seq);
      out.endUs = time;
      const status = num(c, 'status', row);
      if (status !== 0) out.status = status;
      out.error = str(c, 'error', row);
      const owner = out.owner;
      if (owner !== undefined) {
        owner.outgoing ??= [];
        if (owner.outgoing.length < MAX_OUTGOING_PER_REQUEST) owner.outgoing.push(out);
      }
      this.#sinks.onOutgoing(out);
    });
    push(
      'stall',
      (c) => (row, time) => {
        const durationUs = num(c, 'durationUs', row);
        const requestSeq = num(c, 'request', row);
        const overlapping: Req[] = [];
        for (const req of requests.open.values()) {
          if (overlapping.length >= MAX_OVERLAP_PER_STALL) break;
          overlapping.push(req);
        }
        const stall: Stall = {
          startUs: time,
          durationUs,
          endUs: time + durationUs,
          requestSeq,
          cpuUs: num(c, 'cpuUs', row),
          cpuWindowUs: num(c, 'cpuWindowUs', row),
          lateUs: num(c, 'lateUs', row),
          inFlight: num(c, 'inFlight', row),
          requestRef: requests.bySeq(requestSeq),
          overlapping,
          overlapCount: requests.open.size,
        };
        if (stalls.length >= MAX_STALLS) {
          this.stallsDropped++;
          return;
        }
        stalls.push(stall);
        this.#active.push(stall);
      },
      true,
    );
    push(
      'callback',
      (c) => (row, time) => {
        const durationUs = num(c, 'durationUs', row);
        if (durationUs < KEPT_CALLBACK_US || this.#sinks.callbacks.length >= MAX_CALLBACKS) return;
        const requestSeq = num(c, 'request', row);
        this.#sinks.callbacks.push({
          startUs: time,
          durationUs,
          type: str(c, 'type', row),
          requestSeq,
          requestRef: requests.bySeq(requestSeq),
        });
      },
      true,
    );
    mergeByTime(inputs, (time) => this.#advance(time));
    // A stall's request is named when it ends; it may have closed in the meantime.
    for (const stall of this.#active) stall.requestRef ??= requests.bySeq(stall.requestSeq);
  }

  #opened(req: Req): void {
    this.#sinks.requests.opened(req);
    for (const stall of this.#active) {
      if (req.startUs > stall.endUs) continue;
      stall.overlapCount++;
      if (stall.overlapping.length < MAX_OVERLAP_PER_STALL) stall.overlapping.push(req);
    }
  }

  /** Stalls that ended before `time` are no longer under way. */
  #advance(time: number): void {
    if (this.#active.length === 0) return;
    const requests = this.#sinks.requests;
    this.#active = this.#active.filter((stall) => {
      if (stall.endUs >= time) return true;
      stall.requestRef ??= requests.bySeq(stall.requestSeq);
      return false;
    });
  }
}

function sortedOrder(times: Float64Array): Int32Array {
  const order = Int32Array.from({ length: times.length }, (_, i) => i);
  return order.sort((a, b) => (times[a] as number) - (times[b] as number));
}

/** Calls each input's handler for its rows, all inputs interleaved by time (ties: input order). */
function mergeByTime(
  inputs: { columns: EventColumns; order: Int32Array | undefined; handle: Handler }[],
  advance: (time: number) => void,
): void {
  const next = inputs.map(() => 0);
  for (;;) {
    let best = -1;
    let bestTime = Number.POSITIVE_INFINITY;
    for (let k = 0; k < inputs.length; k++) {
      const input = inputs[k] as (typeof inputs)[number];
      const i = next[k] as number;
      if (i >= input.columns.count) continue;
      const row = input.order === undefined ? i : (input.order[i] as number);
      const time = input.columns.time[row] as number;
      if (time < bestTime) {
        bestTime = time;
        best = k;
      }
    }
    if (best < 0) return;
    const input = inputs[best] as (typeof inputs)[number];
    const i = next[best] as number;
    next[best] = i + 1;
    const row = input.order === undefined ? i : (input.order[i] as number);
    advance(bestTime);
    input.handle(row, bestTime);
  }
}
