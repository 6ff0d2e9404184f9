/**
 * The load engine: undici's low-level `dispatch` with long-lived handler objects (no promise, no
 * response object per request), in one of two models.
 *
 * Closed: connections × pipelining requests in flight; each completion sends the next. It measures
 * what the server does under that concurrency, and like every closed loop it slows down with the
 * server, so its latencies hide queueing (coordinated omission).
 *
 * Open: requests are due on a fixed schedule (`rate` a second) whatever the server does, and each
 * latency is measured from the request's *intended* send time. A stalled server shows up in every
 * request that should have been sent during the stall. How late the generator itself sent requests
 * is measured too, so a saturated client is never mistaken for a slow server.
 */
import { performance } from 'node:perf_hooks';
import { Client, type Dispatcher, Pool } from 'undici';
import { Histogram } from './histogram.js';
import type { LoadRequest, Workload } from './workload.js';

export type LoadErrorKind = 'connect' | 'timeout' | 'reset' | 'other';
export const LOAD_ERROR_KINDS: readonly LoadErrorKind[] = ['connect', 'timeout', 'reset', 'other'];

export interface EngineOptions {
  /** `http://host:port` */
  readonly origin: string;
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
  /** Open model: requests allowed in flight (or queued for a connection) at once. */
  readonly maxInFlight: number;
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

export interface LoadResult {
  readonly model: 'closed' | 'open';
  /** From the first request sent to the last one finished. */
  readonly elapsedMs: number;
  readonly sent: number;
  /** Requests that got a response, whatever its status. */
  readonly completed: number;
  readonly errors: Readonly<Record<LoadErrorKind, number>>;
  /** Response counts by status code. */
  readonly statuses: ReadonlyMap<number, number>;
  /** Open model: from intended send time. Closed model: from dispatch. */
  readonly latency: Histogram;
  /** From the moment the request went onto a connection to its response: what a naive timer sees. */
  readonly serviceTime: Histogram;
  /** Open model only: how late each request was sent, and how many waited for the in-flight cap. */
  readonly schedule:
    | { readonly lag: Histogram; readonly cappedRequests: number; readonly plannedRate: number }
    | undefined;
}

class LoadTimeoutError extends Error {
  readonly code = 'LOAD_TIMEOUT';
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMEOUT_CODES = new Set(['LOAD_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

export function classifyLoadError(err: unknown): LoadErrorKind {
  const code =
    (err as { code?: string } | undefined)?.code ?? (err as { cause?: { code?: string } } | undefined)?.cause?.code;
  if (code === undefined) return 'other';
  if (CONNECT_CODES.has(code)) return 'connect';
  if (TIMEOUT_CODES.has(code)) return 'timeout';
  if (RESET_CODES.has(code)) return 'reset';
  return 'other';
}

const SWEEP_MS = 100;
const PROGRESS_MS = 1000;
/** Below this many ms until the next due request the scheduler does not sleep (timers are ~1 ms). */
const SCHEDULER_SLACK_MS = 1;

/** One request slot: undici's handler, reused for request after request. */
class Attempt {
  readonly engine: Engine;
  /** Closed model: this slot's own connection. Open model: the pool. */
  readonly dispatcher: Dispatcher;
  intendedAt = 0;
  sentAt = 0;
  deadline = 0;
  status = 0;
  done = true;
  abort: ((err?: Error) => void) | undefined;

  constructor(engine: Engine, dispatcher: Dispatcher) {
    this.engine = engine;
    this.dispatcher = dispatcher;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    this.sentAt = performance.now();
    // Queued past its deadline (open model, server too slow): give up before sending.
    if (this.sentAt > this.deadline) abort(new LoadTimeoutError('timed out waiting for a connection'));
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
  readonly lag = new Histogram();
  readonly statusCounts = new Float64Array(1000);
  readonly errors: Record<LoadErrorKind, number> = { connect: 0, timeout: 0, reset: 0, other: 0 };
  /** Open model: requests go to whichever connection is free. */
  #pool: Pool | undefined;
  /**
   * Closed model: one client per connection, each slot tied to one, as wrk and autocannon do. It
   * also skips the pool's scan for a free connection on every request.
   */
  #clients: Client[] = [];
  #attempts: Attempt[] = [];
  #free: Attempt[] = [];
  #inFlight = 0;
  #sent = 0;
  #completed = 0;
  #errorCount = 0;
  #cappedRequests = 0;
  #startedAt = 0;
  #lastDoneAt = 0;
  #deadline = Number.POSITIVE_INFINITY;
  #planned = Number.POSITIVE_INFINITY;
  #stopped = false;
  #scheduler: NodeJS.Timeout | undefined;
  #resolve: (() => void) | undefined;

  constructor(options: EngineOptions) {
    this.options = options;
    const clientOptions = {
      pipelining: options.pipelining,
      // Our sweep enforces the timeout; undici's per-request timers would cost on every request.
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: { timeout: options.timeoutMs },
    };
    if (options.ratePerSecond !== undefined) {
      this.#pool = new Pool(options.origin, { ...clientOptions, connections: options.connections });
    } else {
      for (let i = 0; i < options.connections; i++) this.#clients.push(new Client(options.origin, clientOptions));
    }
  }

  get open(): boolean {
    return this.options.ratePerSecond !== undefined;
  }

  async run(): Promise<LoadResult> {
    const { durationMs, requests, ratePerSecond } = this.options;
    this.#startedAt = performance.now();
    this.#lastDoneAt = this.#startedAt;
    if (durationMs !== undefined) this.#deadline = this.#startedAt + durationMs;
    if (ratePerSecond !== undefined) {
      const byDuration =
        durationMs === undefined ? Number.POSITIVE_INFINITY : Math.floor((durationMs * ratePerSecond) / 1000);
      this.#planned = Math.min(byDuration, requests ?? Number.POSITIVE_INFINITY);
    } else {
      this.#planned = requests ?? Number.POSITIVE_INFINITY;
    }
    const finished = new Promise<void>((resolve) => {
      this.#resolve = resolve;
    });
    const sweep = setInterval(() => this.#sweep(), SWEEP_MS);
    const progress = setInterval(() => this.#progress(), PROGRESS_MS);
    let lastCompleted = 0;
    let lastAt = this.#startedAt;
    this.#progress = () => {
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
    };

    if (this.open) this.#schedule();
    else {
      const slots = this.options.connections * this.options.pipelining;
      for (let i = 0; i < slots && this.#mayStart(); i++) {
        this.#dispatch(this.#newAttempt(this.#clients[i % this.#clients.length] as Client), performance.now());
      }
    }
    this.#checkFinished();
    await finished;
    clearInterval(sweep);
    clearInterval(progress);
    if (this.#scheduler !== undefined) clearTimeout(this.#scheduler);
    await Promise.all([this.#pool?.destroy(), ...this.#clients.map((c) => c.destroy())]);

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
      statuses,
      latency: this.latency,
      serviceTime: this.serviceTime,
      schedule: this.open
        ? { lag: this.lag, cappedRequests: this.#cappedRequests, plannedRate: this.options.ratePerSecond ?? 0 }
        : undefined,
    };
  }

  #progress: () => void = () => {};

  #newAttempt(dispatcher: Dispatcher = this.#pool as Pool): Attempt {
    const attempt = new Attempt(this, dispatcher);
    this.#attempts.push(attempt);
    return attempt;
  }

  #mayStart(): boolean {
    return !this.#stopped && this.#sent < this.#planned && performance.now() < this.#deadline;
  }

  #dispatch(attempt: Attempt, intendedAt: number): void {
    const request: LoadRequest = this.options.workload.next();
    attempt.intendedAt = intendedAt;
    attempt.sentAt = intendedAt;
    attempt.deadline = intendedAt + this.options.timeoutMs;
    attempt.status = 0;
    attempt.abort = undefined;
    attempt.done = false;
    this.#sent++;
    this.#inFlight++;
    attempt.dispatcher.dispatch(request as Dispatcher.DispatchOptions, attempt);
  }

  complete(attempt: Attempt): void {
    if (attempt.done) return;
    const now = performance.now();
    attempt.done = true;
    this.#inFlight--;
    this.#completed++;
    this.#lastDoneAt = now;
    this.latency.record((now - attempt.intendedAt) * 1000);
    this.serviceTime.record((now - attempt.sentAt) * 1000);
    const status = attempt.status;
    if (status > 0 && status < 1000) this.statusCounts[status] = (this.statusCounts[status] as number) + 1;
    this.#next(attempt, now);
  }

  fail(attempt: Attempt, err: Error): void {
    if (attempt.done) return;
    attempt.done = true;
    this.#inFlight--;
    this.#errorCount++;
    this.errors[classifyLoadError(err)]++;
    const now = performance.now();
    this.#lastDoneAt = now;
    // Failures can arrive synchronously from dispatch; send the next one from a fresh stack.
    setImmediate(() => this.#next(attempt, performance.now()));
  }

  #next(attempt: Attempt, now: number): void {
    if (this.open) {
      this.#free.push(attempt);
      if (this.#waitingForSlot) this.#schedule();
    } else if (this.#mayStart()) {
      this.#dispatch(attempt, now);
      return;
    }
    this.#checkFinished();
  }

  #waitingForSlot = false;

  /** Open model: sends every request that is due, then sleeps until the next one is. */
  #schedule(): void {
    this.#scheduler = undefined;
    this.#waitingForSlot = false;
    const rate = this.options.ratePerSecond as number;
    const intervalMs = 1000 / rate;
    const now = performance.now();
    const dueCount = Math.min(this.#planned, Math.floor((now - this.#startedAt) / intervalMs) + 1);
    while (this.#sent < dueCount && !this.#stopped) {
      let attempt = this.#free.pop();
      if (attempt === undefined && this.#attempts.length < this.options.maxInFlight) attempt = this.#newAttempt();
      if (attempt === undefined) {
        // At the cap: the server is not keeping up. Resume when a slot frees; lateness is measured.
        this.#cappedRequests += dueCount - this.#sent;
        this.#waitingForSlot = true;
        return;
      }
      const intendedAt = this.#startedAt + this.#sent * intervalMs;
      this.lag.record((now - intendedAt) * 1000);
      this.#dispatch(attempt, intendedAt);
    }
    if (this.#sent >= this.#planned || this.#stopped) {
      this.#checkFinished();
      return;
    }
    const nextAt = this.#startedAt + this.#sent * intervalMs;
    const waitMs = nextAt - performance.now();
    this.#scheduler = setTimeout(() => this.#schedule(), waitMs > SCHEDULER_SLACK_MS ? waitMs : 0);
  }

  /** Times out requests past their deadline. */
  #sweep(): void {
    const now = performance.now();
    for (const attempt of this.#attempts) {
      if (!attempt.done && attempt.deadline < now && attempt.abort !== undefined) {
        attempt.abort(new LoadTimeoutError(`no response within ${this.options.timeoutMs} ms`));
      }
    }
    // A closed run whose deadline passed with nothing left to start ends when the last one returns.
    if (!this.open && performance.now() >= this.#deadline) this.#checkFinished();
  }

  #checkFinished(): void {
    if (this.#inFlight > 0) return;
    const moreToSend = this.open ? this.#sent < this.#planned && !this.#stopped : this.#mayStart();
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
