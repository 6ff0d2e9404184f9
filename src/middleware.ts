/**
 * The per-request recorder: opens the wide event when a request arrives and closes it when its
 * response is done, whatever happened in between (success, error, timeout, client gone).
 * It also owns the request timeout, so every status it can cause is recorded.
 *
 * Only routes registered inside the recorder's encapsulated fastify context are recorded (plus
 * requests fastify rejects before routing); /health lives outside it.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';
import { refusalOf } from './http/request-checks.js';
import { GENERATED_ID_PREFIX, generatedIdNumber } from './http/request-id.js';
import { type ErrorKind, type HandlerMetrics, type Operation, RequestMetrics } from './metrics.js';
import { type OpenRequest, OpenRequests } from './open-requests.js';
import { openRecord, type RecordGuard, type RecordSink, type SlotGuard } from './record/index.js';
import { publishRequestClosed, publishRequestOpened, requestClosed, requestOpened } from './request-lifecycle.js';
import { msSince } from './time.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's telemetry; set by the recorder for every recorded route. */
    telemetry: RequestTelemetry;
  }
  interface FastifyContextConfig {
    /** The wide event's `Operation` for this route; unset means `Other`. */
    operation?: Operation;
  }
}

type RequestRecord = RecordGuard<typeof RequestMetrics.fields, typeof RequestMetrics.slots>;
type RequestValues = RequestRecord['values'];
export type HandlerSlot = SlotGuard<typeof HandlerMetrics.fields>;

/** Longer paths are cut: the record is a log line, not a place for unbounded input. */
const MAX_PATH_CHARS = 512;

/** Error kind for a status, when the code that produced it did not set one. */
export function errorKindFor(status: number): ErrorKind | undefined {
  if (status < 400) return undefined;
  if (status === 408 || status === 504) return 'Timeout';
  if (status === 502 || status === 503) return 'Downstream';
  return status < 500 ? 'InvalidRequest' : 'Internal';
}

/** What a handler sees of the request's telemetry. */
export class RequestTelemetry implements OpenRequest {
  readonly record: RequestRecord;
  /** @internal links of the recorder's list of open requests */
  openPrev: OpenRequest | undefined = undefined;
  /** @internal */
  openNext: OpenRequest | undefined = undefined;
  /**
   * @internal Set when the connection answered for this request instead of its handler (the
   * client sent bytes that are not HTTP, or ran out of time): the status the client got, 499 for none.
   */
  connectionStatus: number | undefined = undefined;
  /** @internal `performance.now()` when the recorder saw the request; the request timeout counts from it. */
  readonly startedMs: number;
  /** @internal where the timeout sweep answers 408. */
  readonly reply: FastifyReply;
  /** @internal set once the timeout fired, so the sweep answers only once. */
  timedOut = false;
  #controller: AbortController | undefined;
  #abortReason: Error | undefined;

  constructor(record: RequestRecord, reply: FastifyReply, startedMs: number) {
    this.record = record;
    this.reply = reply;
    this.startedMs = startedMs;
  }

  /**
   * Aborted when the client goes away, the request times out, or shutdown gives up on it.
   * Created on first read; if the request was already aborted by then, it comes back aborted.
   */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** Opens the handler-owned slot of the wide event. */
  openSlot(): HandlerSlot {
    return this.record.openSlot('handler');
  }

  /** @internal */
  abort(reason: Error): void {
    this.#abortReason ??= reason;
    this.#controller?.abort(reason);
  }
}

export interface RecorderOptions {
  readonly sink: RecordSink;
  /** 408 when the response has not started after this long. */
  readonly requestTimeoutMs: number;
}

/**
 * Opens a RequestMetrics record per request and closes it when the response closes. Install
 * `onRequest` as the hook of the recorded context; requests fastify rejects before routing (a bad
 * URL, an over-long parameter) are handed to `track` from fastify's `frameworkErrors`.
 */
export class Recorder {
  #sink: RecordSink;
  #requestTimeoutMs: number;
  #inFlight = 0;
  #draining = false;
  #aborting = false;
  // Open responses, so a drain can ask each to close its keep-alive connection when done, and a
  // client error on a connection can tell the record of the response it cut what the client got.
  #open = new OpenRequests<RequestTelemetry>();
  #idleWaiters: Array<() => void> = [];
  // One timer for every request's timeout, not one per request: a sweep over the open responses
  // runs while any are open, so a timeout fires up to one sweep period late.
  #sweeper: NodeJS.Timeout | undefined;
  #sweepPeriodMs: number;

  constructor(options: RecorderOptions) {
    this.#sink = options.sink;
    this.#requestTimeoutMs = options.requestTimeoutMs;
    this.#sweepPeriodMs = sweepPeriodMs(options.requestTimeoutMs);
  }

  readonly #sweep = (): void => {
    if (this.#open.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
      return;
    }
    const timeoutMs = this.#requestTimeoutMs;
    const due = performance.now() - timeoutMs;
    for (const telemetry of this.#open.values()) {
      if (telemetry.startedMs > due || telemetry.timedOut) continue;
      telemetry.timedOut = true;
      onTimeout(telemetry, timeoutMs);
    }
  };

  /** Requests currently in flight. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * The fastify `onRequest` hook of the recorded context. It also answers the two refusals Node
   * would otherwise send unrecorded (a missing Host, an unmet Expect; see http/request-checks.ts).
   */
  readonly onRequest = (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    this.track(request, reply);
    const refusal = refusalOf(request.raw);
    if (refusal === undefined) done();
    else reply.send(refusal);
  };

  /** Starts the wide event of `request`; it is emitted when the response closes, whatever happened. */
  track(request: FastifyRequest, reply: FastifyReply): void {
    const started = performance.now();
    const requestId = request.id;
    const operation = request.routeOptions.config?.operation ?? 'Other';
    const path = pathOf(request.raw.url ?? '');
    // Published before the record is built, on purpose. V8 inlines the later of two equally hot
    // calls first; with the publish last, its inlined code used up the budget and the record's
    // constructor ran out of line (a generic construct and object clone, ~0.3 µs a request, only
    // when the recorder listens). The generated id's number is found once: the recorder keys and
    // stores it instead of the string.
    const idNumber = requestOpened.hasSubscribers
      ? publishOpened(requestId, operation, request.method, path, started)
      : 0;
    const record = openRecord(RequestMetrics, this.#sink);
    const telemetry = new RequestTelemetry(record, reply, started);
    request.telemetry = telemetry;
    const values = record.values;
    values.RequestId = requestId;
    values.Operation = operation;
    values.Path = path;
    reply.header('x-request-id', requestId);
    if (this.#draining) reply.header('connection', 'close');
    this.#inFlight++;

    const res: ServerResponse = reply.raw;
    this.#open.add(res, telemetry);
    this.#sweeper ??= setInterval(this.#sweep, this.#sweepPeriodMs).unref();
    // No socket yet: a pipelined request waiting behind the one before it (rare).
    if (res.socket === null) this.#watchQueued(request.raw.socket, res);
    // 'close' comes once per response; `on` spares the wrapper `once` would allocate.
    res.on('close', () => {
      // Once per request even if 'close' comes twice: Node 24 closes the responses queued on a dead
      // connection itself, after #watchQueued has already closed them (Node 20 and 22 never do).
      if (!this.#open.delete(res)) return;
      values.Duration = msSince(started);
      values.InFlight = this.#inFlight;
      this.#inFlight--;
      let status = res.statusCode;
      const answered = telemetry.connectionStatus;
      if (answered !== undefined) {
        // Whatever the handler wrote after that never reached the client.
        status = answered;
        values.ErrorKind = answered === 499 ? 'ClientClosed' : errorKindFor(answered);
      } else if (!res.writableFinished) {
        // The response never completed: the client left, or shutdown cut the connection.
        status = this.#aborting ? 503 : 499;
        values.ErrorKind = this.#aborting ? 'Aborted' : 'ClientClosed';
        telemetry.abort(new Error(this.#aborting ? 'server aborted the request' : 'client closed the connection'));
      }
      setOutcome(values, status);
      // Before the record closes, as in `track`: published after it, the publish was inlined
      // first and the record's emit ran out of line.
      if (requestClosed.hasSubscribers) publishClosed(values, idNumber, status, started);
      record.close();
      if (this.#inFlight === 0) this.#notifyIdle();
    });
  }

  /**
   * The connection answered for a request still in flight (see `connectionStatus`); returns its
   * request id, or undefined when `res` is not a recorded response (e.g. /health).
   */
  answeredByConnection(res: ServerResponse, status: number): string | undefined {
    const telemetry = this.#open.get(res);
    if (telemetry === undefined) return undefined;
    telemetry.connectionStatus ??= status;
    telemetry.abort(new Error(`the connection was closed with status ${status}`));
    return telemetry.record.values.RequestId;
  }

  /**
   * Records a request that never reached a route: Node refused its head (400, 431) or it did not
   * arrive in time (408). `Operation` is `Other`; `durationMs` is how long the connection had been
   * open; the status is the one written to the client.
   */
  recordRefused(requestId: string, method: string, path: string, status: number, durationMs: number): void {
    const record = openRecord(RequestMetrics, this.#sink, Date.now() - durationMs);
    const values = record.values;
    values.RequestId = requestId;
    values.Operation = 'Other';
    values.Path = path;
    const startMs = performance.now() - durationMs;
    const idNumber = requestOpened.hasSubscribers ? publishOpened(requestId, 'Other', method, path, startMs) : 0;
    values.Duration = durationMs;
    values.InFlight = this.#inFlight + 1;
    setOutcome(values, status);
    record.close();
    if (requestClosed.hasSubscribers) publishClosed(values, idNumber, status, startMs);
  }

  /** Shutdown began: responses not yet sent, and all later ones, close their connection. */
  markDraining(): void {
    this.#draining = true;
    for (const telemetry of this.#open.values()) {
      const res = telemetry.reply.raw;
      if (!res.headersSent) res.setHeader('connection', 'close');
    }
  }

  /** The drain timed out: a request cut off by the server from now on is recorded as 503 `Aborted`. */
  markAborting(): void {
    this.#aborting = true;
  }

  /** Resolves once no request is in flight (every record of a cut connection closed, too). */
  idle(): Promise<void> {
    return this.#inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #notifyIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * Node 20 and 22 never close the responses still queued on a connection that dies (a reset, or
   * bytes that are not HTTP after pipelined requests): close them here, or their records would never
   * be written and the in-flight count would never come back down (Node 24 closes them too, later;
   * the 'close' handler runs once). The list only holds what is still queued.
   */
  #watchQueued(socket: Socket, res: ServerResponse): void {
    const queueing = socket as QueueingSocket;
    let queued = queueing[QUEUED];
    if (queued === undefined) {
      const responses: ServerResponse[] = [];
      queued = responses;
      queueing[QUEUED] = responses;
      socket.once('close', () => {
        for (const waiting of responses) if (this.#open.has(waiting)) waiting.emit('close');
      });
    }
    while (queued.length > 0 && !this.#open.has(queued[0] as ServerResponse)) queued.shift();
    queued.push(res);
  }
}

const QUEUED = Symbol('queuedResponses');
interface QueueingSocket extends Socket {
  [QUEUED]?: ServerResponse[];
}

/** The status and the fields that follow from it; an `ErrorKind` set earlier is kept. */
function setOutcome(values: RequestValues, status: number): void {
  values.StatusCode = String(status);
  values.Success = status < 500;
  values.ClientError = status >= 400 && status < 500;
  values.ServerError = status >= 500;
  values.ErrorKind ??= errorKindFor(status);
}

/** Publishes the opened message; returns the generated id's number (0: not a generated id). */
function publishOpened(requestId: string, operation: string, method: string, path: string, startMs: number): number {
  const idNumber = generatedIdNumber(requestId);
  publishRequestOpened(requestId, idNumber, idNumber > 0 ? GENERATED_ID_PREFIX : '', operation, method, path, startMs);
  return idNumber;
}

/** `startMs`: the request's start, as published when it opened. */
function publishClosed(values: RequestValues, idNumber: number, statusCode: number, startMs: number): void {
  const durationMs = values.Duration;
  publishRequestClosed(
    values.RequestId,
    idNumber,
    values.Operation,
    statusCode,
    durationMs,
    values.ErrorKind,
    startMs + durationMs,
  );
}

/** A sweep period that keeps a timeout within about 2% of its value: 10 ms to 250 ms. */
function sweepPeriodMs(timeoutMs: number): number {
  return Math.min(250, Math.max(10, Math.floor(timeoutMs / 50)));
}

function onTimeout(telemetry: RequestTelemetry, timeoutMs: number): void {
  const error = new HttpError(408, 'SVC_ERR_REQUEST_TIMEOUT', `request not answered within ${timeoutMs} ms`);
  telemetry.abort(error);
  const reply = telemetry.reply;
  if (reply.sent || reply.raw.headersSent) return;
  reply.header('connection', 'close');
  reply.send(error);
}

/** The path of a request target, without the query, cut at MAX_PATH_CHARS. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  let path = query === -1 ? url : url.slice(0, query);
  // An absolute-form target (`GET http://host:port/items/a`) names a scheme and host the client
  // chose; record only its path, since Path can be a dimension.
  if (path.charCodeAt(0) !== 0x2f /* / */) {
    const authority = path.indexOf('://');
    if (authority !== -1) {
      const slash = path.indexOf('/', authority + 3);
      path = slash === -1 ? '/' : path.slice(slash);
    }
  }
  return path.length > MAX_PATH_CHARS ? path.slice(0, MAX_PATH_CHARS) : path;
}

/**
 * Wraps a route handler: opens the handler slot, always closes it when the handler finishes,
 * and ignores a late result when the response already went out (after a timeout).
 */
export function withSlot<Req extends FastifyRequest, Result>(
  handler: (request: Req, reply: FastifyReply, slot: HandlerSlot) => Promise<Result>,
): (request: Req, reply: FastifyReply) => Promise<Result | undefined> {
  return async (request, reply) => {
    const slot = request.telemetry.openSlot();
    try {
      const result = await handler(request, reply, slot);
      return reply.sent ? undefined : result;
    } catch (err) {
      if (reply.sent || reply.raw.destroyed) return undefined;
      throw err;
    } finally {
      slot.close();
    }
  };
}
