/**
 * The one place flags and environment variables become configuration.
 * oclif merges each flag with its environment variable (flag > env); this module applies
 * defaults, validates every value once and returns a frozen object. Nothing else reads
 * `process.env` for these settings (NODE_ENV included: it picks the EMF validation default).
 */
import type { RateLimit } from '../http/rate-limit.js';
import { type LogFilter, parseLogFilter } from '../log/filter.js';
import type { MemoryStoreLimits } from '../store/memory-store.js';
import { parseRateLimit, parseStoreLimits } from './limit-options.js';
import {
  type EmfConfig,
  type MetricsEndpoint,
  type MetricsFormat,
  parseEmfConfig,
  parseMetricsEndpoint,
  parseMetricsFormat,
  parseSampleRate,
} from './metrics-options.js';
import { type RawRunOptions, RUN_OPTIONS, type RunOptionName } from './options.js';
import {
  integer,
  invalid,
  milliseconds,
  parseBindAddr,
  parseDownstreamUrl,
  parsePort,
  parseServiceName,
  prepareDir,
} from './parsers.js';

export type { EmfConfig, MetricsEndpoint, MetricsFormat } from './metrics-options.js';
export { METRICS_FORMATS } from './metrics-options.js';
export type { OptionSpec } from './option-spec.js';
export type { RawRunOptions, RunOptionName } from './options.js';
export { RUN_OPTIONS } from './options.js';

export interface RunConfig {
  readonly host: string;
  readonly port: number;
  readonly logFilter: LogFilter;
  readonly serviceName: string;
  /** Absolute path, created if missing and checked writable; undefined means stdout/stderr. */
  readonly telemetryDir: string | undefined;
  readonly downstreamUrl: URL | undefined;
  readonly metricsFormat: MetricsFormat;
  readonly requestTimeoutMs: number;
  /** How long a request head may take, from the connection's opening or the request's first byte. */
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly bodyLimitBytes: number;
  readonly downstreamTimeoutMs: number;
  readonly drainTimeoutMs: number;
  /** 0 when the runtime record is off. */
  readonly runtimeMetricsIntervalMs: number;
  /** Per destination: bytes of output that may wait in memory for a slow destination. */
  readonly telemetryBufferBytes: number;
  /** Rotated files kept per log file; 0 keeps all. */
  readonly telemetryMaxFiles: number;
  /** Set when metricsFormat is emf. */
  readonly emf: EmfConfig | undefined;
  /** A CloudWatch agent to send metric records to, instead of stdout or metrics.log. */
  readonly metricsEndpoint: MetricsEndpoint | undefined;
  /** Fraction of request records kept, in (0, 1]. */
  readonly metricsSampleRate: number;
  /** Where the unsampled archive goes; undefined for none. */
  readonly metricsArchiveDir: string | undefined;
  /** Bounds of the in-memory store (unused with a downstream). */
  readonly store: MemoryStoreLimits;
  /** Undefined: no rate limit. */
  readonly rateLimit: RateLimit | undefined;
}

/** Validates everything `service run` is given; throws InvalidOptionError on the first bad value. */
export function loadRunConfig(raw: RawRunOptions, nodeEnv: string | undefined = process.env.NODE_ENV): RunConfig {
  const value = (name: RunOptionName): string | undefined => raw[name] ?? RUN_OPTIONS[name].default;
  const required = (name: RunOptionName): string => value(name) ?? '';

  const bind = parseBindAddr(required('bindAddr'));
  const portText = value('port');
  const port = portText === undefined ? bind.port : parsePort('port', portText);

  let logFilter: LogFilter;
  const filterText = required('logFilter');
  try {
    logFilter = parseLogFilter(filterText);
  } catch (err) {
    throw invalid('logFilter', filterText, (err as Error).message);
  }

  const telemetryDirText = value('telemetryDir');
  const downstreamText = value('downstreamUrl');
  const endpointText = value('metricsEndpoint');
  const archiveText = value('metricsArchiveDir');
  const serviceName = parseServiceName(required('serviceName'));
  const metricsFormat = parseMetricsFormat(required('metricsFormat'));

  return Object.freeze({
    host: bind.host,
    port,
    logFilter,
    serviceName,
    metricsFormat,
    emf: parseEmfConfig(raw, metricsFormat, serviceName, nodeEnv),
    metricsEndpoint: endpointText === undefined ? undefined : parseMetricsEndpoint(endpointText),
    metricsSampleRate: parseSampleRate(required('metricsSampleRate')),
    downstreamUrl: downstreamText === undefined ? undefined : parseDownstreamUrl(downstreamText),
    requestTimeoutMs: milliseconds('requestTimeoutMs', required('requestTimeoutMs'), 1),
    headersTimeoutMs: milliseconds('headersTimeoutMs', required('headersTimeoutMs'), 1),
    bodyTimeoutMs: milliseconds('bodyTimeoutMs', required('bodyTimeoutMs'), 1),
    bodyLimitBytes: integer(
      'bodyLimitBytes',
      required('bodyLimitBytes'),
      1,
      1024 * 1024 * 1024,
      'expected a size in bytes from 1 to 1073741824',
    ),
    downstreamTimeoutMs: milliseconds('downstreamTimeoutMs', required('downstreamTimeoutMs'), 1),
    drainTimeoutMs: milliseconds('drainTimeoutMs', required('drainTimeoutMs'), 0),
    runtimeMetricsIntervalMs: milliseconds('runtimeMetricsIntervalMs', required('runtimeMetricsIntervalMs'), 0),
    telemetryBufferBytes: integer(
      'telemetryBufferBytes',
      required('telemetryBufferBytes'),
      // At least one full CloudWatch event (1 MB) must fit.
      1024 * 1024,
      1024 * 1024 * 1024,
      'expected a size in bytes from 1048576 to 1073741824',
    ),
    telemetryMaxFiles: integer(
      'telemetryMaxFiles',
      required('telemetryMaxFiles'),
      0,
      100000,
      'expected a whole number of files from 0 (keep all) to 100000',
    ),
    store: parseStoreLimits(required('storeMaxBytes'), required('storeMaxItems')),
    rateLimit: parseRateLimit(value('rateLimitRps'), value('rateLimitBurst')),
    // Last: these touch the disk, so only once everything else is known good.
    telemetryDir: telemetryDirText === undefined ? undefined : prepareDir('telemetryDir', telemetryDirText),
    metricsArchiveDir: archiveText === undefined ? undefined : prepareDir('metricsArchiveDir', archiveText),
  });
}
