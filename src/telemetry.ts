/**
 * Telemetry wiring: where logs and metric records go, and the guard that flushes them on exit.
 *
 * Without a telemetry directory, logs go to stderr and metrics to stdout (separate streams, as
 * container log capture wants). With one, `application.log` rolls hourly and `metrics.log` every
 * minute. Either way, bytes are written by one writer thread, so a slow destination never blocks
 * request handling; see src/writer/.
 */
import type { MetricsFormat } from './config.js';
import type { LogFilter } from './log/filter.js';
import { Loggers } from './log/logger.js';
import { type Formatter, JsonFormatter, type LineSink, RecordEmitter } from './record/index.js';
import type { DestinationSpec } from './writer/protocol.js';
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  type LineChannel,
  type WriterOptions,
  WriterThread,
} from './writer/writer-thread.js';

export interface TelemetryOptions {
  readonly serviceName: string;
  readonly logFilter: LogFilter;
  readonly telemetryDir?: string | undefined;
  /** Rotated files kept per log file in `telemetryDir`; 0 (the default) keeps all. */
  readonly maxFiles?: number;
  readonly metricsFormat?: MetricsFormat;
  /** Replaces a destination with a sink of your own (tests, benchmarks, embedding). */
  readonly sinks?: { readonly metrics?: LineSink; readonly logs?: LineSink };
  readonly writer?: Omit<WriterOptions, 'onIoError' | 'onRecovered'>;
}

export interface TelemetryStats {
  readonly metricsEmitted: number;
  /** Records the formatter rejected. */
  readonly metricsInvalid: number;
  /** Metric entries lost: queue full, or the destination failing. */
  readonly metricsDropped: number;
  readonly logsDropped: number;
  /** Failure streaks that began on any destination. */
  readonly writeErrors: number;
}

const INVALID_WARNING_INTERVAL_MS = 1000;
const TELEMETRY_TARGET = 'service:telemetry';

export const APPLICATION_LOG = 'application.log';
export const METRICS_LOG = 'metrics.log';

function createFormatter(format: MetricsFormat, serviceName: string): Formatter {
  switch (format) {
    case 'json':
      return new JsonFormatter({ globals: { service_name: serviceName } });
  }
}

function describe(spec: DestinationSpec): string {
  return spec.kind === 'fd' ? (spec.fd === 1 ? 'stdout' : 'stderr') : `${spec.dir}/${spec.file}`;
}

/**
 * Owns the telemetry pipeline for the life of the process. `close()` flushes logs and metrics and
 * detaches the sinks; every exit path must go through it, or queued lines are lost.
 */
export class TelemetryGuard {
  readonly logger: Loggers;
  readonly metrics: RecordEmitter;
  /** Human-readable destinations, for the startup line. */
  readonly destinations: { readonly logs: string; readonly metrics: string };
  #writer: WriterThread | undefined;
  #metricsChannel: LineChannel | undefined;
  #logsChannel: LineChannel | undefined;
  #closing: Promise<void> | undefined;

  /** @internal use initTelemetry */
  constructor(options: TelemetryOptions) {
    const dir = options.telemetryDir;
    const maxFiles = options.maxFiles ?? 0;
    const metricsSpec: DestinationSpec =
      dir === undefined
        ? { kind: 'fd', fd: 1, name: 'stdout' }
        : { kind: 'rotating-file', dir, file: METRICS_LOG, interval: '1m', maxFiles, name: METRICS_LOG };
    const logsSpec: DestinationSpec =
      dir === undefined
        ? { kind: 'fd', fd: 2, name: 'stderr' }
        : { kind: 'rotating-file', dir, file: APPLICATION_LOG, interval: '1h', maxFiles, name: APPLICATION_LOG };

    const needsWriter = options.sinks?.metrics === undefined || options.sinks?.logs === undefined;
    if (needsWriter) {
      this.#writer = new WriterThread({
        ...options.writer,
        onIoError: (channel, message, code) =>
          this.logger
            .for(TELEMETRY_TARGET)
            .warn(
              { destination: channel.name, code, error: message },
              `${channel.name}: write failed, dropping entries until it recovers`,
            ),
        onRecovered: (channel) => this.logger.for(TELEMETRY_TARGET).info(`${channel.name}: writing again`),
      });
    }
    let logsSink = options.sinks?.logs;
    if (logsSink === undefined && this.#writer !== undefined) {
      this.#logsChannel = this.#writer.channel(logsSpec);
      logsSink = this.#logsChannel;
    }
    let metricsSink = options.sinks?.metrics;
    if (metricsSink === undefined && this.#writer !== undefined) {
      this.#metricsChannel = this.#writer.channel(metricsSpec);
      metricsSink = this.#metricsChannel;
    }

    this.logger = new Loggers(options.logFilter, logsSink as LineSink, options.serviceName);
    let lastInvalidWarningMs = 0;
    this.metrics = new RecordEmitter(
      createFormatter(options.metricsFormat ?? 'json', options.serviceName),
      metricsSink as LineSink,
      (type, err) => {
        const now = Date.now();
        if (now - lastInvalidWarningMs < INVALID_WARNING_INTERVAL_MS) return;
        lastInvalidWarningMs = now;
        this.logger
          .for(TELEMETRY_TARGET)
          .error({ record: type.name, error: (err as Error).message }, `dropped an invalid ${type.name} record`);
      },
    );
    this.destinations = {
      logs: options.sinks?.logs === undefined ? describe(logsSpec) : 'custom sink',
      metrics: options.sinks?.metrics === undefined ? describe(metricsSpec) : 'custom sink',
    };
  }

  stats(): TelemetryStats {
    const metrics = this.#metricsChannel?.stats();
    const logs = this.#logsChannel?.stats();
    const emitter = this.metrics.stats();
    return {
      metricsEmitted: emitter.emitted,
      metricsInvalid: emitter.invalid,
      metricsDropped: metrics === undefined ? 0 : metrics.dropped + metrics.failed,
      logsDropped: logs === undefined ? 0 : logs.dropped + logs.failed,
      writeErrors: (metrics?.ioErrors ?? 0) + (logs?.ioErrors ?? 0),
    };
  }

  /** Resolves when everything logged or emitted before the call is at its destination. */
  flush(): Promise<void> {
    return this.#writer?.flush() ?? Promise.resolve();
  }

  /** Flushes and closes every destination; later entries are dropped and counted. Idempotent. */
  close(timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    this.#closing ??= this.#writer?.close(timeoutMs) ?? Promise.resolve();
    return this.#closing;
  }
}

/** Sets up logs and metrics. Keep the returned guard for the whole life of the process. */
export function initTelemetry(options: TelemetryOptions): TelemetryGuard {
  return new TelemetryGuard(options);
}
