/**
 * The records this service emits. One RequestMetrics per request (the wide event), with a
 * handler-owned slot; a ShutdownMetrics and an ExitMetrics at the end; a RuntimeMetrics on a timer.
 * To add a field: add one line here, then set it where the value is known.
 */
import { defineRecord, field, optional } from './record/index.js';

export type Operation = 'GetItem' | 'SetItem' | 'Echo' | 'Other';

/**
 * Why a request did not succeed. The first four are the Rust template's; `ClientClosed` marks a
 * client that went away before its response was sent (status 499, as nginx records it) and
 * `Aborted` a request cut off because the drain timed out at shutdown (status 503).
 * `RateLimited` is a 429 from --rate-limit-rps (a client error: it sent too fast); `StoreFull` a
 * 507 from the memory store's bounds (a server error: the same request fits an emptier store).
 */
export type ErrorKind =
  | 'Timeout'
  | 'Downstream'
  | 'InvalidRequest'
  | 'Internal'
  | 'ClientClosed'
  | 'Aborted'
  | 'RateLimited'
  | 'StoreFull';

export type DownstreamErrorKind = 'Timeout' | 'Connect' | 'Reset' | 'Status' | 'Aborted' | 'Other';

/** Fields the route handler owns and fills; they join the request record when the handler finishes. */
export const HandlerMetrics = defineRecord('HandlerMetrics', {
  PayloadBytes: field.bytes(),
  Found: optional(field.flag()),
  DownstreamSuccess: optional(field.flag()),
  DownstreamErrorKind: optional(field.property<DownstreamErrorKind>()),
  DownstreamError: optional(field.property()),
  DownstreamDuration: optional(field.duration()),
});

/** The wide event: one per request outside /health, whatever happens to the request. */
export const RequestMetrics = defineRecord(
  'RequestMetrics',
  {
    RequestId: field.property(),
    Operation: field.property<Operation>(),
    Path: field.property(),
    /** A string: status codes are dimensions, not measurements. */
    StatusCode: field.property(),
    ErrorKind: optional(field.property<ErrorKind>()),
    /** Requests in flight when this one finished, itself included. */
    InFlight: field.count(),
    Duration: field.duration(),
    /** 0 only for 5xx. */
    Success: field.flag(),
    ClientError: field.flag(),
    ServerError: field.flag(),
  },
  // High volume: the only record type --metrics-sample-rate thins out.
  { slots: { handler: HandlerMetrics }, sampled: true },
);

/** Written once per process, so never dropped for a full queue (`critical`). */
export const ShutdownMetrics = defineRecord(
  'ShutdownMetrics',
  {
    Reason: field.property(),
    /** 1 when every in-flight request finished within the drain timeout. */
    Drained: field.flag(),
    DrainDuration: field.duration(),
    /** Requests in flight when the drain began. */
    InFlight: field.count(),
  },
  { critical: true },
);

/** The last record of a process; it carries the run's totals of lost telemetry. */
export const ExitMetrics = defineRecord(
  'ExitMetrics',
  {
    ExitCode: field.metric(),
    /** Metric records lost before this one was written (queue full or destination failing). */
    MetricsDropped: field.count(),
    /** Records the formatter rejected, over the run. */
    MetricsInvalid: field.count(),
    /** Request records left out by sampling, over the run. */
    MetricsSampledOut: field.count(),
    MetricsArchiveDropped: field.count(),
    LogsDropped: field.count(),
  },
  { critical: true },
);

/** The Node analog of the Tokio runtime bridge, every `--runtime-metrics-interval-ms`. */
export const RuntimeMetrics = defineRecord('RuntimeMetrics', {
  EventLoopDelayMin: field.duration(),
  EventLoopDelayP50: field.duration(),
  EventLoopDelayP99: field.duration(),
  EventLoopDelayMax: field.duration(),
  /** Share of the interval the event loop spent running code rather than waiting. */
  EventLoopUtilization: field.percent(),
  HeapUsed: field.bytes(),
  HeapTotal: field.bytes(),
  Rss: field.bytes(),
  ActiveHandles: field.count(),
  ActiveRequests: field.count(),
  GcCount: field.count(),
  GcPauseDuration: field.duration(),
  /** Telemetry about telemetry, for this interval: entries lost, records rejected, write failures that began. */
  MetricsDropped: field.count(),
  MetricsInvalid: field.count(),
  /** Request records left out by --metrics-sample-rate (the kept ones carry their weight). */
  MetricsSampledOut: field.count(),
  /** Entries lost from the unsampled archive (--metrics-archive-dir). */
  MetricsArchiveDropped: field.count(),
  LogsDropped: field.count(),
  TelemetryWriteErrors: field.count(),
  /** With the flight recorder on (DIAL9_ENABLED): */
  /** libuv loop iterations in the interval. */
  LoopIterations: optional(field.count()),
  /** Stretches of main-thread work over DIAL9_STALL_THRESHOLD_MS. */
  LongCallbacks: optional(field.count()),
  /** Share of the interval the loop waited for work (100 - EventLoopUtilization). */
  EventLoopIdle: optional(field.percent()),
  /** Callbacks run and their p99 duration: only with per-callback tracking (DIAL9_CALLBACK_TRACKING_ENABLED). */
  CallbacksRun: optional(field.count()),
  CallbackDurationP99: optional(field.duration()),
  /** Trace events lost because the recorder's buffers were full. */
  RecorderEventsDropped: optional(field.count()),
});

/** Every record type this service emits (config checks EMF dimension names against them). */
export const EMITTED_RECORDS = Object.freeze([RequestMetrics, RuntimeMetrics, ShutdownMetrics, ExitMetrics]);
