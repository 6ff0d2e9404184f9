/**
 * `service run`'s configuration: its options (the RUN_OPTIONS table in options.ts) validated once
 * into a frozen RunConfig. oclif merges each flag with its environment variable (flag > env); this
 * module applies defaults and validates. Nothing else reads `process.env` for these settings
 * (NODE_ENV included: it picks the EMF validation default).
 *
 * src/config/ holds every command's options, one file each: run.ts (with options.ts and
 * metrics-options.ts), load.ts, and the next command's beside them. Config imports the domain (the
 * types it produces belong to their owners: RunConfig's parts to src/, LoadConfig to src/load/),
 * never the reverse. profile.ts holds the profiling sessions' options (their shapes belong to
 * src/profile/sessions/); the flight recorder's lenient, environment-only settings live with it in
 * src/profile/recorder/config.ts.
 */
import type { RateLimit } from '../http/rate-limit.js';
import { type LogFilter, parseLogFilter } from '../log/filter.js';
import type { EmfConfig, MetricsEndpoint, MetricsFormat } from '../metrics-output.js';
import type { MemoryStoreLimits } from '../store/memory-store.js';
import { parseRateLimit, parseStoreLimits } from './limit-options.js';
import { parseEmfConfig, parseMetricsEndpoint, parseMetricsFormat, parseSampleRate } from './metrics-options.js';
import { optionText } from './option-spec.js';
import { type RawRunOptions, RUN_OPTIONS, type RunOptionName } from './options.js';
import {
  integer,
  invalid,
  milliseconds,
  parseBaseUrl,
  parseBindAddr,
  parsePort,
  parseServiceName,
  prepareDir,
} from './parsers.js';

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
  const value = optionText(RUN_OPTIONS, raw);
  const required = (name: RunOptionName): string => value(name) ?? '';
  const spec = RUN_OPTIONS;

  const bind = parseBindAddr(spec.bindAddr, required('bindAddr'));
  const portText = value('port');
  const port = portText === undefined ? bind.port : parsePort(spec.port, portText);

  let logFilter: LogFilter;
  const filterText = required('logFilter');
  try {
    logFilter = parseLogFilter(filterText);
  } catch (err) {
    throw invalid(spec.logFilter, filterText, (err as Error).message);
  }

  const telemetryDirText = value('telemetryDir');
  const downstreamText = value('downstreamUrl');
  const endpointText = value('metricsEndpoint');
  const archiveText = value('metricsArchiveDir');
  const serviceName = parseServiceName(spec.serviceName, required('serviceName'));
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
    downstreamUrl: downstreamText === undefined ? undefined : parseBaseUrl(spec.downstreamUrl, downstreamText),
    requestTimeoutMs: milliseconds(spec.requestTimeoutMs, required('requestTimeoutMs'), 1),
    headersTimeoutMs: milliseconds(spec.headersTimeoutMs, required('headersTimeoutMs'), 1),
    bodyTimeoutMs: milliseconds(spec.bodyTimeoutMs, required('bodyTimeoutMs'), 1),
    bodyLimitBytes: integer(
      spec.bodyLimitBytes,
      required('bodyLimitBytes'),
      1,
      1024 * 1024 * 1024,
      'expected a size in bytes from 1 to 1073741824',
    ),
    downstreamTimeoutMs: milliseconds(spec.downstreamTimeoutMs, required('downstreamTimeoutMs'), 1),
    drainTimeoutMs: milliseconds(spec.drainTimeoutMs, required('drainTimeoutMs'), 0),
    runtimeMetricsIntervalMs: milliseconds(spec.runtimeMetricsIntervalMs, required('runtimeMetricsIntervalMs'), 0),
    telemetryBufferBytes: integer(
      spec.telemetryBufferBytes,
      required('telemetryBufferBytes'),
      // At least one full CloudWatch event (1 MB) must fit.
      1024 * 1024,
      1024 * 1024 * 1024,
      'expected a size in bytes from 1048576 to 1073741824',
    ),
    telemetryMaxFiles: integer(
      spec.telemetryMaxFiles,
      required('telemetryMaxFiles'),
      0,
      100000,
      'expected a whole number of files from 0 (keep all) to 100000',
    ),
    store: parseStoreLimits(required('storeMaxBytes'), required('storeMaxItems')),
    rateLimit: parseRateLimit(value('rateLimitRps'), value('rateLimitBurst')),
    // Last: these touch the disk, so only once everything else is known good.
    telemetryDir: telemetryDirText === undefined ? undefined : prepareDir(spec.telemetryDir, telemetryDirText),
    metricsArchiveDir: archiveText === undefined ? undefined : prepareDir(spec.metricsArchiveDir, archiveText),
  });
}
