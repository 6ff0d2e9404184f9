/**
 * Requests served: the service's lifecycle channels (request id, operation, status) and, for any
 * other Node program, node:http's own server channels. Once the service's channel speaks, node:http's
 * are dropped: they would record every request twice. node:http's start comes first, so the request
 * that first speaks on the service's channel already has an `httpInStart`: its `httpInEnd` is still
 * recorded (the finish channel is kept until the requests it started have ended). A program known to
 * publish the service's channels (`service run`) skips node:http's altogether.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  REQUEST_CLOSED_CHANNEL,
  REQUEST_OPENED_CHANNEL,
  type RequestClosedMessage,
  type RequestOpenedMessage,
} from '../../../request-lifecycle.js';
import { EV } from '../../format/schema.js';
import { OpenRequests } from '../open-requests.js';
import type { RequestTracker } from '../requests.js';
import type { EventRing } from '../ring.js';

/** Request events held back before they go into the ring together. */
const QUEUED_EVENTS = 128;
/**
 * With a rate set, also how long a request's opening waits to learn whether the request is to be
 * written at all: at full load (~24k requests a second here) about 170 ms of openings. Without one,
 * the short queue: its strings (paths, ids) are let go within a few hundred requests, before a
 * scavenge would find them alive and promote them.
 */
const QUEUED_EVENTS_SAMPLED = 4096;
/** Per queued event: type, time (ms), seq, then idNumber (opened) or status and duration µs (closed). */
const NUMBERS = 5;
/** Per queued event: request id (when not numbered), id prefix, operation, method, path; or the error kind. */
const STRINGS = 5;

/** Which of the service's requests are written one by one (see `RequestEventQueue`). */
export interface RequestSampling {
  /** Fast, successful requests written one by one per second, at most; 0: every request. */
  readonly perSec: number;
  /** A request that lasted this long (ms) or longer is always written. */
  readonly slowMs: number;
}

/**
 * The service's request events, copied out of their messages (a publisher may reuse a message
 * object) and recorded into the ring in runs (up to QUEUED_EVENTS), or whenever the ring ships on
 * request. Recorded one at a time, each between two requests' worth of server code, the ring's
 * state was cold in the CPU's caches: the two handlers took ~1.3 µs a request timed in place, ten
 * times their cost in a loop. What must be current for a stall (the in-flight counts, the last
 * request to run code) is still updated at once; only the ring's copy waits, and its events keep
 * their own times.
 *
 * With `perSec` set, past that many requests a second, a request that closes while its opening is
 * still queued, fast (under `slowMs`) and not failed (status under 500, not 499) is counted instead
 * of written: its opening is struck from the queue and its close never queued. That keeps a busy
 * service's trace ~5 times smaller; it does not make the recorder measurably cheaper
 * (docs/benchmarks.md), so it is off by default. Always written, whatever the rate: slow and
 * failed requests, those still open when the queue goes into the ring (so a hang or a stall always
 * finds the requests it held up: any request open through a stall lasts longer than the stall
 * threshold), and a sample of the rest spread evenly over time (an allowance that refills at
 * `perSec`, up to a second's worth). Each run of counted requests becomes one `requestsSkipped`
 * event.
 */
class RequestEventQueue {
  readonly #ring: EventRing;
  readonly #capacity: number;
  readonly #numbers: Float64Array;
  /** Bounded: holds at most #capacity events' strings until overwritten. */
  readonly #strings: (string | undefined)[];
  /** 1: a queued opening struck out (its request was counted instead). */
  readonly #struck: Uint8Array;
  #queued = 0;
  /** Events queued over the queue's life: a queued event's number is this minus its distance from the end. */
  #numbered = 0;
  readonly #perSec: number;
  readonly #slowMs: number;
  /** Fast requests that may still be written one by one; refills at #perSec, up to a second's worth. */
  #allowance: number;
  #allowanceAtMs: number;
  /** Counted since the last `requestsSkipped` event. */
  #skipped = 0;
  #skippedFromMs = 0;
  #skippedToMs = 0;
  #skippedMaxUs = 0;
  #skippedTotalUs = 0;
  #skippedErrors = 0;

  constructor(ring: EventRing, sampling: RequestSampling) {
    this.#ring = ring;
    this.#capacity = sampling.perSec > 0 ? QUEUED_EVENTS_SAMPLED : QUEUED_EVENTS;
    this.#numbers = new Float64Array(this.#capacity * NUMBERS);
    this.#strings = new Array(this.#capacity * STRINGS).fill(undefined);
    this.#struck = new Uint8Array(this.#capacity);
    this.#perSec = sampling.perSec;
    this.#slowMs = sampling.slowMs;
    this.#allowance = sampling.perSec;
    this.#allowanceAtMs = performance.now();
  }

  /** Queues a request's opening; returns the event's number for `closed` (-1 when nothing is counted). */
  opened(m: RequestOpenedMessage, seq: number, idNumber: number): number {
    if (this.#queued === this.#capacity) this.flush();
    const i = this.#queued++;
    const n = i * NUMBERS;
    const s = i * STRINGS;
    this.#numbers[n] = EV.requestOpen;
    this.#numbers[n + 1] = m.startMs;
    this.#numbers[n + 2] = seq;
    this.#numbers[n + 3] = idNumber;
    this.#strings[s] = idNumber > 0 ? undefined : m.requestId;
    this.#strings[s + 1] = m.requestIdPrefix;
    this.#strings[s + 2] = m.operation;
    this.#strings[s + 3] = m.method;
    this.#strings[s + 4] = m.path;
    this.#struck[i] = 0;
    const number = this.#numbered++;
    return this.#perSec > 0 ? number : -1;
  }

  /** `openedNumber`: what `opened` returned for this request (-1: its opening was not seen). */
  closed(m: RequestClosedMessage, seq: number, openedNumber: number): void {
    const firstQueued = this.#numbered - this.#queued;
    if (
      this.#perSec > 0 &&
      openedNumber >= firstQueued &&
      m.durationMs < this.#slowMs &&
      m.statusCode < 500 &&
      m.statusCode !== 499 &&
      !this.#allow(m.endMs)
    ) {
      this.#strike(openedNumber - firstQueued, m);
      return;
    }
    if (this.#queued === this.#capacity) this.flush();
    const i = this.#queued++;
    const n = i * NUMBERS;
    this.#numbers[n] = EV.requestClose;
    this.#numbers[n + 1] = m.endMs;
    this.#numbers[n + 2] = seq;
    this.#numbers[n + 3] = m.statusCode;
    this.#numbers[n + 4] = m.durationMs * 1000;
    this.#strings[i * STRINGS] = m.errorKind;
    this.#struck[i] = 0;
    this.#numbered++;
  }

  /** Takes one from the allowance of fast requests written one by one, if there is one. */
  #allow(nowMs: number): boolean {
    const refill = (Math.max(0, nowMs - this.#allowanceAtMs) * this.#perSec) / 1000;
    this.#allowanceAtMs = nowMs;
    this.#allowance = Math.min(this.#perSec, this.#allowance + refill);
    if (this.#allowance < 1) return false;
    this.#allowance -= 1;
    return true;
  }

  /** Counts the request whose opening is queued at `index` instead of writing it. */
  #strike(index: number, m: RequestClosedMessage): void {
    this.#struck[index] = 1;
    // Its strings are let go now, not when the slot is reused.
    this.#strings.fill(undefined, index * STRINGS, (index + 1) * STRINGS);
    const durationUs = m.durationMs * 1000;
    if (this.#skipped === 0) this.#skippedFromMs = m.endMs;
    this.#skippedToMs = m.endMs;
    this.#skipped++;
    if (durationUs > this.#skippedMaxUs) this.#skippedMaxUs = durationUs;
    this.#skippedTotalUs += durationUs;
    if (m.statusCode >= 400) this.#skippedErrors++;
  }

  readonly flush = (): void => {
    const ring = this.#ring;
    const numbers = this.#numbers;
    const strings = this.#strings;
    const struck = this.#struck;
    for (let i = 0; i < this.#queued; i++) {
      const n = i * NUMBERS;
      const s = i * STRINGS;
      const timeMs = numbers[n + 1] as number;
      const seq = numbers[n + 2] as number;
      if (numbers[n] === EV.requestOpen) {
        if (struck[i] === 1) continue;
        const idNumber = numbers[n + 3] as number;
        // Interned first: interning may ship the buffer, and inline strings go with the buffer they are in.
        const operation = ring.intern(strings[s + 2]);
        const method = ring.intern(strings[s + 3]);
        const prefix = idNumber > 0 ? ring.intern(strings[s + 1]) : 0;
        ring.put(
          EV.requestOpen,
          timeMs,
          seq,
          idNumber > 0 ? ring.numbered(prefix, idNumber) : ring.inline(strings[s]),
          operation,
          method,
          ring.inline(strings[s + 4]),
        );
      } else {
        ring.put(EV.requestClose, timeMs, seq, numbers[n + 3], numbers[n + 4], ring.intern(strings[s]));
      }
    }
    this.#queued = 0;
    if (this.#skipped > 0) {
      ring.put(
        EV.requestsSkipped,
        this.#skippedFromMs,
        this.#skipped,
        Math.round((this.#skippedToMs - this.#skippedFromMs) * 1000),
        Math.round(this.#skippedMaxUs),
        Math.round(this.#skippedTotalUs),
        this.#skippedErrors,
      );
      this.#skipped = 0;
      this.#skippedMaxUs = 0;
      this.#skippedTotalUs = 0;
      this.#skippedErrors = 0;
    }
  };
}

interface HttpServerMessage {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
}

export function watchHttpServer(
  ring: EventRing,
  requests: RequestTracker,
  sampling: RequestSampling,
  serviceChannelsOnly = false,
): () => void {
  /** Open requests' numbers, by the generated id's number or else the request id. */
  const open = new OpenRequests();
  const queue = new RequestEventQueue(ring, sampling);
  const undefer = ring.deferred(queue.flush);
  const httpSeq = new WeakMap<object, number>();

  let nodeHttp = !serviceChannelsOnly;
  let finishing = !serviceChannelsOnly;
  const stopFinishing = (): void => {
    finishing = false;
    diagnosticsChannel.unsubscribe('http.server.response.finish', onFinish);
  };
  const onOpened = (message: unknown): void => {
    const m = message as RequestOpenedMessage;
    if (nodeHttp) {
      nodeHttp = false;
      diagnosticsChannel.unsubscribe('http.server.request.start', onStart);
      if (requests.inFlight[1] === 0) stopFinishing();
    }
    const seq = requests.nextSeq();
    // A generated id is kept and sent as its number: no string to hash here or to copy to the writer.
    const idNumber = m.requestIdNumber ?? 0;
    requests.open(0, 1);
    requests.touch(0, seq, m.startMs);
    open.open(idNumber > 0 ? idNumber : m.requestId, seq, queue.opened(m, seq, idNumber));
  };
  const onClosed = (message: unknown): void => {
    const m = message as RequestClosedMessage;
    const idNumber = m.requestIdNumber ?? 0;
    const seq = open.close(idNumber > 0 ? idNumber : m.requestId);
    if (seq !== 0) requests.open(0, -1);
    requests.touch(0, seq, m.endMs);
    requests.recordDuration(m.durationMs);
    queue.closed(m, seq, open.closedMark);
  };
  const onStart = (message: unknown): void => {
    const { request } = message as HttpServerMessage;
    const now = performance.now();
    const seq = requests.nextSeq();
    httpSeq.set(request, seq);
    requests.open(1, 1);
    requests.touch(1, seq, now);
    ring.put(EV.httpInStart, now, seq, ring.intern(request.method), ring.inline(request.url));
  };
  const onFinish = (message: unknown): void => {
    const { request, response } = message as HttpServerMessage;
    const now = performance.now();
    const seq = httpSeq.get(request) ?? 0;
    if (seq !== 0) {
      httpSeq.delete(request);
      requests.open(1, -1);
    }
    requests.touch(1, seq, now);
    ring.put(EV.httpInEnd, now, seq, response.statusCode);
    if (!nodeHttp && requests.inFlight[1] === 0) stopFinishing();
  };

  const service: [string, (message: unknown) => void][] = [
    [REQUEST_OPENED_CHANNEL, onOpened],
    [REQUEST_CLOSED_CHANNEL, onClosed],
  ];
  const node: [string, (message: unknown) => void][] = [
    ['http.server.request.start', onStart],
    ['http.server.response.finish', onFinish],
  ];
  for (const [name, fn] of serviceChannelsOnly ? service : [...service, ...node])
    diagnosticsChannel.subscribe(name, fn);
  return () => {
    for (const [name, fn] of service) diagnosticsChannel.unsubscribe(name, fn);
    queue.flush();
    undefer();
    if (nodeHttp) diagnosticsChannel.unsubscribe('http.server.request.start', onStart);
    if (finishing) stopFinishing();
  };
}
