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
/** Per queued event: type, time (ms), seq, then idNumber (opened) or status and duration µs (closed). */
const NUMBERS = 5;
/** Per queued event: request id (when not numbered), id prefix, operation, method, path; or the error kind. */
const STRINGS = 5;

/**
 * The service's request events, copied out of their messages (a publisher may reuse a message
 * object) and recorded into the ring in runs of up to QUEUED_EVENTS, or whenever the ring ships on
 * request. Recorded one at a time, each between two requests' worth of server code, the ring's
 * state was cold in the CPU's caches: the two handlers took ~1.3 µs a request timed in place, ten
 * times their cost in a loop. What must be current for a stall (the in-flight counts, the last
 * request to run code) is still updated at once; only the ring's copy waits, and its events keep
 * their own times.
 */
class RequestEventQueue {
  readonly #ring: EventRing;
  readonly #numbers = new Float64Array(QUEUED_EVENTS * NUMBERS);
  /** Bounded: holds at most QUEUED_EVENTS events' strings until overwritten. */
  readonly #strings: (string | undefined)[] = new Array(QUEUED_EVENTS * STRINGS).fill(undefined);
  #queued = 0;

  constructor(ring: EventRing) {
    this.#ring = ring;
  }

  opened(m: RequestOpenedMessage, seq: number, idNumber: number): void {
    const n = this.#queued * NUMBERS;
    const s = this.#queued * STRINGS;
    this.#numbers[n] = EV.requestOpen;
    this.#numbers[n + 1] = m.startMs;
    this.#numbers[n + 2] = seq;
    this.#numbers[n + 3] = idNumber;
    this.#strings[s] = idNumber > 0 ? undefined : m.requestId;
    this.#strings[s + 1] = m.requestIdPrefix;
    this.#strings[s + 2] = m.operation;
    this.#strings[s + 3] = m.method;
    this.#strings[s + 4] = m.path;
    if (++this.#queued === QUEUED_EVENTS) this.flush();
  }

  closed(m: RequestClosedMessage, seq: number): void {
    const n = this.#queued * NUMBERS;
    this.#numbers[n] = EV.requestClose;
    this.#numbers[n + 1] = m.endMs;
    this.#numbers[n + 2] = seq;
    this.#numbers[n + 3] = m.statusCode;
    this.#numbers[n + 4] = m.durationMs * 1000;
    this.#strings[this.#queued * STRINGS] = m.errorKind;
    if (++this.#queued === QUEUED_EVENTS) this.flush();
  }

  readonly flush = (): void => {
    const ring = this.#ring;
    const numbers = this.#numbers;
    const strings = this.#strings;
    for (let i = 0; i < this.#queued; i++) {
      const n = i * NUMBERS;
      const s = i * STRINGS;
      const timeMs = numbers[n + 1] as number;
      const seq = numbers[n + 2] as number;
      if (numbers[n] === EV.requestOpen) {
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
  };
}

interface HttpServerMessage {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
}

export function watchHttpServer(ring: EventRing, requests: RequestTracker, serviceChannelsOnly = false): () => void {
  /** Open requests' numbers, by the generated id's number or else the request id. */
  const open = new OpenRequests();
  const queue = new RequestEventQueue(ring);
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
    open.open(idNumber > 0 ? idNumber : m.requestId, seq);
    requests.open(0, 1);
    requests.touch(0, seq, m.startMs);
    queue.opened(m, seq, idNumber);
  };
  const onClosed = (message: unknown): void => {
    const m = message as RequestClosedMessage;
    const idNumber = m.requestIdNumber ?? 0;
    const seq = open.close(idNumber > 0 ? idNumber : m.requestId);
    if (seq !== 0) requests.open(0, -1);
    requests.touch(0, seq, m.endMs);
    requests.recordDuration(m.durationMs);
    queue.closed(m, seq);
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
