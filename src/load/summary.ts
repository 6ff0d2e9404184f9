/** A finished run in plain numbers: what the text report, --json and --fail-on all read. */
import { LOAD_ERROR_KINDS, type LoadErrorKind, type LoadResult } from './engine.js';
import type { Histogram } from './histogram.js';
import type { HttpClientKind } from './http-client.js';

export interface LatencySummary {
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly 'p99.9': number;
  readonly max: number;
  readonly mean: number;
}

export interface Summary {
  readonly model: 'closed' | 'open';
  readonly target: string;
  readonly workload: string;
  readonly connections: number;
  readonly pipelining: number;
  /** Which HTTP client sent the requests: builtin or undici. */
  readonly httpClient: HttpClientKind;
  readonly elapsedMs: number;
  readonly sent: number;
  /** Requests that got a response (any status). */
  readonly completed: number;
  /** Of those, responses with a 2xx status: a run can be all answers and no successes (a wrong path). */
  readonly responses2xx: number;
  /** Requests that got no response: connect errors, timeouts, resets. */
  readonly transportErrors: number;
  /** Transport errors plus 5xx responses: what `--fail-on errors` counts. */
  readonly failures: number;
  readonly non2xx: number;
  /** Share of sent requests that are not failures. */
  readonly successRate: number;
  readonly throughputRps: number;
  /** Open model: from each request's intended send time. Closed model: from dispatch. */
  readonly latencyMs: LatencySummary;
  /** Open model: from the moment each request went onto a connection (what a naive client reports). */
  readonly serviceTimeMs: LatencySummary | undefined;
  readonly schedule:
    | {
        readonly plannedRps: number;
        /** Requests the schedule called for. */
        readonly planned: number;
        /** Requests sent a second over the sending window: the rate actually kept. */
        readonly achievedRps: number;
        /** How late the generator sent requests that found a connection free: the client's own lag. */
        readonly lateMs: { readonly p50: number; readonly p99: number; readonly max: number };
        /** Requests that were due while every connection was busy, and waited (the server's doing). */
        readonly waitedForConnection: number;
        /** Of those, requests given up as timeouts before a connection was free (never sent). */
        readonly expiredUnsent: number;
      }
    | undefined;
  /** Requests undici wrote a second time after their connection broke (with pipelining). */
  readonly resent: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  readonly statusClasses: Readonly<Record<string, number>>;
  readonly errors: Readonly<Record<LoadErrorKind, number>>;
  /** Latency distribution, in ms bins from the fastest response to p99.9 (the last bin holds the rest). */
  readonly histogram: ReadonlyArray<{ readonly fromMs: number; readonly toMs: number; readonly count: number }>;
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;
const HISTOGRAM_BINS = 10;

function latency(h: Histogram): LatencySummary {
  const ms = (us: number) => round(us / 1000);
  return {
    min: ms(h.minUs),
    p50: ms(h.percentileUs(50)),
    p90: ms(h.percentileUs(90)),
    p99: ms(h.percentileUs(99)),
    'p99.9': ms(h.percentileUs(99.9)),
    max: ms(h.maxUs),
    mean: ms(h.meanUs),
  };
}

export interface SummaryContext {
  readonly target: string;
  readonly workload: string;
  readonly connections: number;
  readonly pipelining: number;
  readonly httpClient: HttpClientKind;
}

export function summarize(result: LoadResult, context: SummaryContext): Summary {
  const statusCodes: Record<string, number> = {};
  const statusClasses: Record<string, number> = {};
  let non2xx = 0;
  let serverErrors = 0;
  for (const [status, count] of [...result.statuses].sort((a, b) => a[0] - b[0])) {
    statusCodes[String(status)] = count;
    const cls = `${Math.floor(status / 100)}xx`;
    statusClasses[cls] = (statusClasses[cls] ?? 0) + count;
    if (status < 200 || status >= 300) non2xx += count;
    if (status >= 500) serverErrors += count;
  }
  const transportErrors = LOAD_ERROR_KINDS.reduce((n, kind) => n + result.errors[kind], 0);
  const seconds = Math.max(result.elapsedMs, 1) / 1000;
  const failures = transportErrors + serverErrors;
  const upperUs = Math.max(result.latency.percentileUs(99.9), result.latency.minUs + 1);
  return {
    model: result.model,
    ...context,
    elapsedMs: round(result.elapsedMs, 1),
    sent: result.sent,
    completed: result.completed,
    transportErrors,
    failures,
    non2xx,
    responses2xx: result.completed - non2xx,
    successRate: result.sent === 0 ? 0 : round((result.sent - failures) / result.sent, 5),
    throughputRps: round(result.completed / seconds, 1),
    latencyMs: latency(result.latency),
    serviceTimeMs: result.model === 'open' ? latency(result.serviceTime) : undefined,
    schedule:
      result.schedule === undefined
        ? undefined
        : {
            plannedRps: result.schedule.plannedRate,
            planned: result.schedule.planned,
            achievedRps: round((result.sent * 1000) / Math.max(result.schedule.sendWindowMs, 1), 1),
            lateMs: {
              p50: round(result.schedule.clientLag.percentileUs(50) / 1000),
              p99: round(result.schedule.clientLag.percentileUs(99) / 1000),
              max: round(result.schedule.clientLag.maxUs / 1000),
            },
            waitedForConnection: result.schedule.waitedForConnection,
            expiredUnsent: result.schedule.expiredUnsent,
          },
    resent: result.resent,
    statusCodes,
    statusClasses,
    errors: { ...result.errors },
    histogram:
      result.latency.count === 0
        ? []
        : result.latency.bins(HISTOGRAM_BINS, upperUs).map((b) => ({
            fromMs: round(b.fromUs / 1000),
            toMs: round(b.toUs / 1000),
            count: b.count,
          })),
  };
}
