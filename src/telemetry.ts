/**
 * Telemetry wiring: where logs and metric records go, and the guard that flushes them on exit.
 *
 * Without a telemetry directory, logs go to stderr and metrics to stdout (separate streams, as
 * container log capture wants). With one, `application.log` rolls hourly and `metrics.log` every
 * minute. A metrics endpoint (a CloudWatch agent over TCP or UDP) replaces stdout/metrics.log for
 * metrics; an archive directory adds an unsampled copy. Either way, bytes are written by one writer
 * thread, so a slow destination never blocks request handling; see src/writer/.
 */
import type { LogFilter } from './log/filter.js';
import { Loggers } from './log/logger.js';
import type { EmfConfig, MetricsEndpoint, MetricsFormat } from './metrics-output.js';
import { EmfFormatter, type Formatter, JsonFormatter, type LineSink, RecordEmitter } from './record/index.js';
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
  readonly metrics?: MetricsOutput;
  /** Replaces a destination with a sink of your own (tests, benchmarks, embedding). */
  readonly sinks?: { readonly metrics?: LineSink; readonly logs?: LineSink };
  readonly writer?: Omit<WriterOptions, 'onIoError' | 'onRecovered'>;
}

/** How metric records are shaped and where they go, besides the telemetry directory. */
export interface MetricsOutput {
  /** Default json. */
  readonly format?: MetricsFormat;
  /** Required when format is emf. */
  readonly emf?: EmfConfig | undefined;
  readonly endpoint?: MetricsEndpoint | undefined;
  /** Fraction of request records kept; default 1. */
  readonly sampleRate?: number;
  /** Directory for the unsampled archive, metrics-archive.log. */
  readonly archiveDir?: string | undefined;
}

export interface TelemetryStats {
  readonly metricsEmitted: number;
  /** Records the formatter rejected. */
  readonly metricsInvalid: number;
  /** Metric entries lost: queue full, or the destination failing. */
  readonly metricsDropped: number;
  readonly logsDropped: number;
  /** Request records left out by sampling (by design; the kept ones are weighted up). */
  readonly metricsSampledOut: number;
  /** Entries lost from the unsampled archive, when there is one. */
  readonly archiveDropped: number;
  /** Failure streaks that began on any destination. */
  readonly writeErrors: number;
}

const INVALID_WARNING_INTERVAL_MS = 1000;
const TELEMETRY_TARGET = 'service:telemetry';

export const APPLICATION_LOG = 'application.log';
export const METRICS_LOG = 'metrics.log';
export const METRICS_ARCHIVE_LOG = 'metrics-archive.log';
/** Under the 65,507-byte UDP payload limit, with room for the newline. */
const UDP_MAX_EVENT_BYTES = 65_000;

function createFormatter(output: MetricsOutput, serviceName: string): Formatter {
  const globals = { service_name: serviceName };
  if ((output.format ?? 'json') === 'json') return new JsonFormatter({ globals });
  const emf = output.emf;
  if (emf === undefined) throw new TypeError('metrics format emf needs its EMF settings');
  return new EmfFormatter({
    namespace: emf.namespace,
    dimensions: emf.dimensions,
    logGroupName: emf.logGroupName,
    validation: emf.validation,
    globals,
    // A datagram holds at most ~64 KB: over UDP, split events to fit.
    maxEventBytes: output.endpoint?.protocol === 'udp' ? UDP_MAX_EVENT_BYTES : undefined,
  });
}

function describe(spec: DestinationSpec): string {
  if (spec.kind === 'fd') return spec.fd === 1 ? 'stdout' : 'stderr';
  if (spec.kind === 'socket') return spec.name;
  return `${spec.dir}/${spec.file}`;
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
  #archiveChannel: LineChannel | undefined;
  #closing: Promise<void> | undefined;

  /** @internal use initTelemetry */
  constructor(options: TelemetryOptions) {
    const dir = options.telemetryDir;
    const maxFiles = options.maxFiles ?? 0;
    const output = options.metrics ?? {};
    const endpoint = output.endpoint;
    const metricsSpec: DestinationSpec =
      endpoint !== undefined
        ? { kind: 'socket', ...endpoint, name: `${endpoint.protocol}://${endpoint.host}:${endpoint.port}` }
        : dir === undefined
          ? { kind: 'fd', fd: 1, name: 'stdout' }
          : { kind: 'rotating-file', dir, file: METRICS_LOG, interval: '1m', maxFiles, name: METRICS_LOG };
    const logsSpec: DestinationSpec =
      dir === undefined
        ? { kind: 'fd', fd: 2, name: 'stderr' }
        : { kind: 'rotating-file', dir, file: APPLICATION_LOG, interval: '1h', maxFiles, name: APPLICATION_LOG };

    const needsWriter =
      options.sinks?.metrics === undefined || options.sinks?.logs === undefined || output.archiveDir !== undefined;
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

    if (output.archiveDir !== undefined && this.#writer !== undefined) {
      this.#archiveChannel = this.#writer.channel({
        kind: 'rotating-file',
        dir: output.archiveDir,
        file: METRICS_ARCHIVE_LOG,
        interval: '1m',
        maxFiles,
        name: METRICS_ARCHIVE_LOG,
      });
    }

    this.logger = new Loggers(options.logFilter, logsSink as LineSink, options.serviceName);
    if (this.#writer?.ownThread === false) {
      this.logger
        .for(TELEMETRY_TARGET)
        .info(
          'telemetry is written from the main thread: this process records trace events, and a second thread emitting them can crash Node (docs/telemetry.md)',
        );
    }
    let lastInvalidWarningMs = 0;
    this.metrics = new RecordEmitter(createFormatter(output, options.serviceName), metricsSink as LineSink, {
      sampleRate: output.sampleRate,
      archive: this.#archiveChannel,
      // At most one line a second, naming the record type and the problem; the count is in the runtime record.
      onInvalid: (type, err) => {
        const now = Date.now();
        if (now - lastInvalidWarningMs < INVALID_WARNING_INTERVAL_MS) return;
        lastInvalidWarningMs = now;
        this.logger
          .for(TELEMETRY_TARGET)
          .error({ record: type.name, error: (err as Error).message }, `dropped an invalid ${type.name} record`);
      },
    });
    this.destinations = {
      logs: options.sinks?.logs === undefined ? describe(logsSpec) : 'custom sink',
      metrics: options.sinks?.metrics === undefined ? describe(metricsSpec) : 'custom sink',
    };
  }

  stats(): TelemetryStats {
    const metrics = this.#metricsChannel?.stats();
    const logs = this.#logsChannel?.stats();
    const archive = this.#archiveChannel?.stats();
    const emitter = this.metrics.stats();
    return {
      metricsEmitted: emitter.emitted,
      metricsInvalid: emitter.invalid,
      metricsSampledOut: emitter.sampledOut,
      archiveDropped: archive === undefined ? 0 : archive.dropped + archive.failed,
      metricsDropped: metrics === undefined ? 0 : metrics.dropped + metrics.failed,
      logsDropped: logs === undefined ? 0 : logs.dropped + logs.failed,
      writeErrors: (metrics?.ioErrors ?? 0) + (logs?.ioErrors ?? 0) + (archive?.ioErrors ?? 0),
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
