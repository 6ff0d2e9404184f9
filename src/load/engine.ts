/**
 * The load engine: the builtin HTTP/1.1 client or undici's low-level `dispatch`, either way with
 * long-lived handler objects (no promise, no response object per request), in one of two models.
 *
 * Closed: connections × pipelining requests in flight; each completion sends the next. It measures
 * what the server does under that concurrency, and like every closed loop it slows down with the
 * server, so its latencies hide queueing (coordinated omission).
 *
 * Open: request i is due at start + i/rate, whatever the server does, and its latency counts from
 * that intended time. At most connections × pipelining are on the wire; a due request that finds no
 * free connection waits here (that wait is the server's doing, and is part of its latency), and one
 * that waits past the timeout is given up as a timeout without being sent. Separately, how late the
 * generator itself sent requests while connections were free is measured, so a saturated client is
 * never mistaken for a slow server.
 *
 * Requests that time out count in the latency percentiles at the age they were given up at (a lower
 * bound of what a user would have waited), so an overloaded server cannot hide behind its timeouts.
 */
import { performance } from 'node:perf_hooks';
import { classifyNetworkError } from '../network-errors.js';
import { Histogram } from './histogram.js';
import type { HttpClientKind } from './http-client.js';
import { Http1Connection, type ResponseHandler } from './http1/connection.js';
import { RequestEncoder } from './http1/request-encoder.js';
import type { LoadRequest, Workload } from './workload.js';

export type LoadErrorKind = 'connect' | 'timeout' | 'reset' | 'other';
export const LOAD_ERROR_KINDS: readonly LoadErrorKind[] = ['connect', 'timeout', 'reset', 'other'];

export interface EngineOptions {
  /** `http://host:port` */
  readonly origin: string;
  readonly httpClient: HttpClientKind;
  readonly workload: Workload;
  readonly connections: number;
  readonly pipelining: number;
  /** Stop sending after this long... */
  readonly durationMs?: number | undefined;
  /** ...or after this many requests (whichever comes first). */
  readonly requests?: number | undefined;
  /** Open model: requests per second on a fixed schedule. Unset: closed model. */
  readonly ratePerSecond?: number | undefined;
  readonly timeoutMs: number;
  /** Called about once a second while running. */
  readonly onProgress?: ((progress: Progress) => void) | undefined;
}

export interface Progress {
  readonly elapsedMs: number;
  readonly completed: number;
  readonly errors: number;
  /** Completions per second over the last interval. */
  readonly recentRps: number;
  readonly p99Ms: number;
}

export interface ScheduleResult {
  readonly plannedRate: number;
  readonly planned: number;
  /** From the first request's intended time to one interval after the last request sent. */
  readonly sendWindowMs: number;
  /** How late the generator sent requests that found a free connection: the client's own lag. */
  readonly clientLag: Histogram;
  /** Requests that were due while every connection was busy, and waited (the server's doing). */
  readonly waitedForConnection: number;
  /** Requests given up as timeouts while still waiting for a connection, never sent. */
  readonly expiredUnsent: number;
}

export interface LoadResult {
  readonly model: 'closed' | 'open';
  /** From the start to the last request finished. */
  readonly elapsedMs: number;
  /** Requests written to a connection (what the server can count). */
  readonly sent: number;
  /** Requests that got a response, whatever its status. */
  readonly completed: number;
  readonly errors: Readonly<Record<LoadErrorKind, number>>;
  /** Requests undici wrote a second time after their connection broke (pipelining). */
  readonly resent: number;
  /** Response counts by status code. */
  readonly statuses: ReadonlyMap<number, number>;
  /** Open model: from intended send time. Closed model: from dispatch. Timeouts included. */
  readonly latency: Histogram;
  /**
   * Open model only (empty in the closed one, where it equals `latency`): from the moment the request
   * went onto a connection to its response, what a naive timer sees.
   */
  readonly serviceTime: Histogram;
  readonly schedule: ScheduleResult | undefined;
}

class LoadTimeoutError extends Error {
  readonly code = 'LOAD_TIMEOUT';
}

/** Codes the network classification does not know: the engine's own, the builtin client's, undici's timers. */
const LOAD_CODE_KINDS: Readonly<Record<string, LoadErrorKind>> = {
  LOAD_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ETIMEDOUT: 'timeout',
  LOAD_CONNECT_TIMEOUT: 'connect',
  LOAD_SOCKET_CLOSED: 'reset',
};

export function classifyLoadError(err: unknown): LoadErrorKind {
  const kind = classifyNetworkError(err);
  if (kind === 'connect' || kind === 'reset') return kind;
  const code = (err as { code?: string } | undefined)?.code;
  return (code !== undefined && Object.hasOwn(LOAD_CODE_KINDS, code) ? LOAD_CODE_KINDS[code] : undefined) ?? 'other';
}

/** One connection of either client, as the engine drives it. */
interface LoadConnection {
  dispatch(request: LoadRequest, handler: ResponseHandler): void;
  destroy(): Promise<void>;
}

async function openConnections(options: EngineOptions): Promise<LoadConnection[]> {
  const { origin, connections, pipelining, timeoutMs } = options;
  if (options.httpClient === 'undici') {
    const { UndiciConnection } = await import('./undici-connection.js');
    return Array.from({ length: connections }, () => new UndiciConnection(origin, pipelining, timeoutMs));
  }
  const url = new URL(origin);
  if (url.protocol !== 'http:') throw new Error(`the builtin client speaks plain http, not ${url.protocol}`);
  const encoder = new RequestEncoder(url.host);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? 80 : Number(url.port);
  return Array.from(
    { length: connections },
    () => new Http1Connection({ host, port, encoder, pipelining, connectTimeoutMs: timeoutMs }),
  );
}

/** How often in-flight requests are checked against their deadline. */
const SWEEP_MS = 50;
const PROGRESS_MS = 1000;
/** Below this many ms until the next due request the scheduler does not sleep (timers are ~1 ms). */
const SCHEDULER_SLACK_MS = 1;

/** One request slot on one connection: the client's handler, reused for request after request. */
class Attempt implements ResponseHandler {
  readonly engine: Engine;
  readonly connection: LoadConnection;
  intendedAt = 0;
  sentAt = 0;
  deadline = 0;
  status = 0;
  connects = 0;
  done = true;
  abort: ((err?: Error) => void) | undefined;

  constructor(engine: Engine, connection: LoadConnection) {
    this.engine = engine;
    this.connection = connection;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    // Both clients write a pipelined request again when its connection broke before the answer.
    if (++this.connects === 1) this.sentAt = performance.now();
    else this.engine.resent++;
  }

  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    return true;
  }

  onData(): boolean {
    return true;
  }

  onComplete(): void {
    this.engine.complete(this);
  }

  onError(err: Error): void {
    this.engine.fail(this, err);
  }
}

class Engine {
  readonly options: EngineOptions;
  readonly latency = new Histogram();
  readonly serviceTime = new Histogram();
  readonly clientLag = new Histogram();
  readonly statusCounts = new Float64Array(1000);
  readonly errors: Record<LoadErrorKind, number> = { connect: 0, timeout: 0, reset: 0, other: 0 };
  resent = 0;
  /**
   * Every request slot is tied to one connection, `pipelining` slots each, as wrk and autocannon do.
   * The open model takes any free slot, which is a connection with room; no pool scans on each send.
   */
  #connections: LoadConnection[] = [];
  #attempts: Attempt[] = [];
  #free: Attempt[] = [];
  #inFlight = 0;
  #sent = 0;
  #completed = 0;
  #errorCount = 0;
  #startedAt = 0;
  #lastDoneAt = 0;
  #lastSentAt = 0;
  #deadline = Number.POSITIVE_INFINITY;
  #planned = Number.POSITIVE_INFINITY;
  #stopped = false;
  #resolve: (() => void) | undefined;
  // Open model
  #intervalMs = 0;
  /** Index of the next request to send (or give up). */
  #nextIndex = 0;
  /** Requests with an index below this were due while no connection was free. */
  #waitingUpTo = 0;
  #waitedForConnection = 0;
  #expiredUnsent = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: EngineOptions) {
    this.options = options;
  }

  get open(): boolean {
    return this.options.ratePerSecond !== undefined;
  }

  async run(): Promise<LoadResult> {
    const { durationMs, requests, ratePerSecond, connections, pipelining } = this.options;
    this.#connections = await openConnections(this.options);
    this.#startedAt = performance.now();
    this.#lastDoneAt = this.#startedAt;
    const finished = new Promise<void>((resolve) => {
      this.#resolve = resolve;
    });
    const sweep = setInterval(() => this.#sweep(), SWEEP_MS);
    const progress = this.#startProgress();

    if (ratePerSecond !== undefined) {
      this.#intervalMs = 1000 / ratePerSecond;
      const byDuration =
        durationMs === undefined ? Number.POSITIVE_INFINITY : Math.floor((durationMs * ratePerSecond) / 1000);
      this.#planned = Math.min(byDuration, requests ?? Number.POSITIVE_INFINITY);
      // Slot-major, so the first requests each take a different connection.
      for (let slot = 0; slot < pipelining; slot++) {
        for (const connection of this.#connections) this.#free.push(this.#newAttempt(connection));
      }
      this.#pump();
    } else {
      if (durationMs !== undefined) this.#deadline = this.#startedAt + durationMs;
      this.#planned = requests ?? Number.POSITIVE_INFINITY;
      for (let i = 0; i < connections * pipelining && this.#mayStartClosed(); i++) {
        this.#dispatch(this.#newAttempt(this.#connections[i % connections] as LoadConnection), performance.now());
      }
    }
    this.#checkFinished();
    await finished;
    clearInterval(sweep);
    clearInterval(progress);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await Promise.all(this.#connections.map((c) => c.destroy()));
    return this.#result();
  }

  #startProgress(): NodeJS.Timeout {
    let lastCompleted = 0;
    let lastAt = this.#startedAt;
    return setInterval(() => {
      const now = performance.now();
      const done = this.#completed;
      this.options.onProgress?.({
        elapsedMs: now - this.#startedAt,
        completed: done,
        errors: this.#errorCount,
        recentRps: ((done - lastCompleted) * 1000) / Math.max(1, now - lastAt),
        p99Ms: this.latency.percentileUs(99) / 1000,
      });
      lastCompleted = done;
      lastAt = now;
    }, PROGRESS_MS);
  }

  #result(): LoadResult {
    const statuses = new Map<number, number>();
    this.statusCounts.forEach((n, status) => {
      if (n > 0) statuses.set(status, n);
    });
    return {
      model: this.open ? 'open' : 'closed',
      elapsedMs: this.#lastDoneAt - this.#startedAt,
      sent: this.#sent,
      completed: this.#completed,
      errors: { ...this.errors },
      resent: this.resent,
      statuses,
      latency: this.latency,
      serviceTime: this.serviceTime,
      schedule: this.open
        ? {
            plannedRate: this.options.ratePerSecond ?? 0,
            planned: Number.isFinite(this.#planned) ? this.#planned : this.#nextIndex,
            sendWindowMs: this.#sent === 0 ? 0 : this.#lastSentAt - this.#startedAt + this.#intervalMs,
            clientLag: this.clientLag,
            waitedForConnection: this.#waitedForConnection,
            expiredUnsent: this.#expiredUnsent,
          }
        : undefined,
    };
  }

  #newAttempt(connection: LoadConnection): Attempt {
    const attempt = new Attempt(this, connection);
    this.#attempts.push(attempt);
    return attempt;
  }

  #mayStartClosed(): boolean {
    return !this.#stopped && this.#sent < this.#planned && performance.now() < this.#deadline;
  }

  #dispatch(attempt: Attempt, intendedAt: number): void {
    attempt.intendedAt = intendedAt;
    attempt.sentAt = intendedAt;
    attempt.deadline = intendedAt + this.options.timeoutMs;
    attempt.status = 0;
    attempt.connects = 0;
    attempt.abort = undefined;
    attempt.done = false;
    this.#sent++;
    this.#inFlight++;
    attempt.connection.dispatch(this.options.workload.next(), attempt);
  }

  complete(attempt: Attempt): void {
    if (attempt.done) return;
    const now = performance.now();
    attempt.done = true;
    this.#inFlight--;
    this.#completed++;
    this.#lastDoneAt = now;
    this.latency.record((now - attempt.intendedAt) * 1000);
    // Only the open model reports it; in the closed model it is the latency itself.
    if (this.open) this.serviceTime.record((now - attempt.sentAt) * 1000);
    const status = attempt.status;
    if (status > 0 && status < 1000) this.statusCounts[status] = (this.statusCounts[status] as number) + 1;
    this.#next(attempt, now);
  }

  fail(attempt: Attempt, err: Error): void {
    if (attempt.done) return;
    const now = performance.now();
    attempt.done = true;
    this.#inFlight--;
    this.#errorCount++;
    const kind = classifyLoadError(err);
    this.errors[kind]++;
    // A timeout is a latency too (at least this long): leaving it out would flatter the server.
    if (kind === 'timeout') this.latency.record((now - attempt.intendedAt) * 1000);
    this.#lastDoneAt = now;
    // Failures can arrive synchronously from dispatch; send the next one from a fresh stack.
    setImmediate(() => this.#next(attempt, performance.now()));
  }

  #next(attempt: Attempt, now: number): void {
    if (this.open) {
      this.#free.push(attempt);
      this.#pump();
    } else if (this.#mayStartClosed()) {
      this.#dispatch(attempt, now);
      return;
    }
    this.#checkFinished();
  }

  /** Open model: sends (or gives up) every request that is due, then sleeps until the next is. */
  #pump(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const now = performance.now();
    const interval = this.#intervalMs;
    const due = Math.min(this.#planned, Math.floor((now - this.#startedAt) / interval) + 1);
    while (this.#nextIndex < due && !this.#stopped) {
      const intendedAt = this.#startedAt + this.#nextIndex * interval;
      if (now - intendedAt > this.options.timeoutMs) {
        // Waited for a connection past the timeout: given up, never sent.
        this.#nextIndex++;
        this.#expiredUnsent++;
        this.#errorCount++;
        this.errors.timeout++;
        this.latency.record((now - intendedAt) * 1000);
        this.#lastDoneAt = now;
        continue;
      }
      const attempt = this.#free.pop();
      if (attempt === undefined) {
        this.#waitingUpTo = Math.max(this.#waitingUpTo, due);
        return;
      }
      if (this.#nextIndex < this.#waitingUpTo) this.#waitedForConnection++;
      else this.clientLag.record((now - intendedAt) * 1000);
      this.#nextIndex++;
      this.#lastSentAt = now;
      this.#dispatch(attempt, intendedAt);
    }
    if (this.#nextIndex >= this.#planned || this.#stopped) return;
    const waitMs = this.#startedAt + this.#nextIndex * interval - performance.now();
    this.#timer = setTimeout(() => this.#pump(), waitMs > SCHEDULER_SLACK_MS ? waitMs : 0);
  }

  /** Times out requests past their deadline; in the open model also gives up stale waiting ones. */
  #sweep(): void {
    const now = performance.now();
    for (const attempt of this.#attempts) {
      if (!attempt.done && attempt.deadline < now && attempt.abort !== undefined) {
        attempt.abort(new LoadTimeoutError(`no response within ${this.options.timeoutMs} ms`));
      }
    }
    if (this.open) this.#pump();
    this.#checkFinished();
  }

  #checkFinished(): void {
    if (this.#inFlight > 0) return;
    const moreToSend = this.open ? this.#nextIndex < this.#planned && !this.#stopped : this.#mayStartClosed();
    if (moreToSend) return;
    this.#stopped = true;
    this.#resolve?.();
  }

  stop(): void {
    this.#stopped = true;
    this.#checkFinished();
  }
}

/** Runs one load test to completion. `signal` (e.g. Ctrl-C) stops sending; in-flight requests finish. */
export async function runLoad(options: EngineOptions, signal?: AbortSignal): Promise<LoadResult> {
  const engine = new Engine(options);
  const onAbort = () => engine.stop();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await engine.run();
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
