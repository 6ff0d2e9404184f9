/**
 * The one place flags and environment variables become configuration.
 * oclif merges each flag with its environment variable (flag > env); this module applies
 * defaults, validates every value once and returns a frozen object. Nothing else reads
 * `process.env` for these settings.
 */
import { accessSync, constants, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { InvalidOptionError } from './errors.js';
import { type LogFilter, parseLogFilter } from './log/filter.js';

export const METRICS_FORMATS = ['json'] as const;
export type MetricsFormat = (typeof METRICS_FORMATS)[number];

export interface OptionSpec {
  readonly flag: string;
  readonly env: string;
  readonly default: string | undefined;
  readonly summary: string;
  readonly helpValue: string;
}

function option(flag: string, env: string, def: string | undefined, helpValue: string, summary: string): OptionSpec {
  return Object.freeze({ flag, env, default: def, summary, helpValue });
}

/** Every `service run` option: flag name, environment variable, default, help text. */
export const RUN_OPTIONS = Object.freeze({
  bindAddr: option('bind-addr', 'BIND_ADDR', '127.0.0.1:3000', '<host:port>', 'Address to listen on.'),
  port: option('port', 'PORT', undefined, '<port>', 'Overrides only the port of --bind-addr (0 picks a free one).'),
  logFilter: option(
    'log-filter',
    'LOG_FILTER',
    'info,service=debug',
    '<directives>',
    'Log levels per target, e.g. info,service=debug,undici=error.',
  ),
  serviceName: option('service-name', 'SERVICE_NAME', 'service', '<name>', 'Added to every metric record.'),
  telemetryDir: option(
    'telemetry-dir',
    'TELEMETRY_DIR',
    undefined,
    '<dir>',
    'Write application.log (hourly) and metrics.log (every minute) here instead of stderr/stdout.',
  ),
  downstreamUrl: option(
    'downstream-url',
    'DOWNSTREAM_URL',
    undefined,
    '<url>',
    'Forward items to {url}/items/{key} instead of keeping them in memory.',
  ),
  metricsFormat: option('metrics-format', 'METRICS_FORMAT', 'json', '<format>', 'Metric record format: json.'),
  requestTimeoutMs: option(
    'request-timeout-ms',
    'REQUEST_TIMEOUT_MS',
    '16000',
    '<ms>',
    'Answer 408 when a request takes longer than this.',
  ),
  bodyTimeoutMs: option(
    'body-timeout-ms',
    'BODY_TIMEOUT_MS',
    '10000',
    '<ms>',
    'Answer 408 when a request body takes longer than this to arrive.',
  ),
  bodyLimitBytes: option('body-limit-bytes', 'BODY_LIMIT_BYTES', '1048576', '<bytes>', 'Answer 413 above this size.'),
  downstreamTimeoutMs: option(
    'downstream-timeout-ms',
    'DOWNSTREAM_TIMEOUT_MS',
    '5000',
    '<ms>',
    'Per-attempt timeout of downstream calls (504 when it expires).',
  ),
  drainTimeoutMs: option(
    'drain-timeout-ms',
    'DRAIN_TIMEOUT_MS',
    '30000',
    '<ms>',
    'How long SIGTERM/SIGINT waits for in-flight requests.',
  ),
  telemetryBufferBytes: option(
    'telemetry-buffer-bytes',
    'TELEMETRY_BUFFER_BYTES',
    String(16 * 1024 * 1024),
    '<bytes>',
    'Per destination, how much output may wait in memory for a slow disk or pipe; beyond it lines are dropped and counted.',
  ),
  telemetryMaxFiles: option(
    'telemetry-max-files',
    'TELEMETRY_MAX_FILES',
    '0',
    '<count>',
    'Rotated files to keep per log in --telemetry-dir, oldest deleted first (0 keeps all).',
  ),
  runtimeMetricsIntervalMs: option(
    'runtime-metrics-interval-ms',
    'RUNTIME_METRICS_INTERVAL_MS',
    '30000',
    '<ms>',
    'Period of the runtime metrics record (0 turns it off).',
  ),
});

export type RunOptionName = keyof typeof RUN_OPTIONS;
/** What oclif hands over: each value already merged from flag and environment, or undefined. */
export type RawRunOptions = { readonly [K in RunOptionName]?: string | undefined };

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
}

const HOUR_MS = 60 * 60 * 1000;

function invalid(name: RunOptionName, value: string, expected: string): InvalidOptionError {
  const spec = RUN_OPTIONS[name];
  return new InvalidOptionError(spec.flag, spec.env, value, expected);
}

function integer(name: RunOptionName, text: string, min: number, max: number, expected: string): number {
  const trimmed = text.trim();
  const value = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw invalid(name, text, expected);
  return value;
}

function parsePort(name: RunOptionName, text: string): number {
  return integer(name, text, 0, 65535, 'expected an integer port from 0 to 65535');
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function parseBindAddr(text: string): { host: string; port: number } {
  const expected = 'expected host:port, e.g. 127.0.0.1:3000, 0.0.0.0:8080 or [::1]:3000';
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text.trim());
  if (match === null) throw invalid('bindAddr', text, expected);
  const host = match[1] ?? match[2] ?? '';
  const hostOk = match[1] !== undefined ? isIP(host) === 6 : isIP(host) === 4 || HOSTNAME.test(host);
  if (!hostOk) throw invalid('bindAddr', text, expected);
  const port = Number(match[3]);
  if (port > 65535) throw invalid('bindAddr', text, expected);
  return { host, port };
}

function parseServiceName(text: string): string {
  // It becomes a property on every record (and a possible EMF dimension value): keep it printable.
  if (text.trim() === '' || text.length > 256 || /[\p{Cc}]/u.test(text)) {
    throw invalid('serviceName', text, 'expected a non-empty name of at most 256 printable characters');
  }
  return text;
}

function parseDownstreamUrl(text: string): URL {
  const expected = 'expected an absolute http:// or https:// URL, e.g. http://127.0.0.1:3001';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('downstreamUrl', text, expected);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw invalid('downstreamUrl', text, expected);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw invalid('downstreamUrl', text, 'expected a base URL without query, fragment or credentials');
  }
  return url;
}

/** Creates the directory if needed and proves it writable by writing a probe file. */
function prepareTelemetryDir(text: string): string {
  if (text.trim() === '') throw invalid('telemetryDir', text, 'expected a directory path');
  const dir = resolve(text);
  let existing: ReturnType<typeof statSync>;
  try {
    existing = statSync(dir, { throwIfNoEntry: false });
  } catch (err) {
    throw invalid('telemetryDir', text, `expected a directory path (${describeFsError(err)})`);
  }
  if (existing !== undefined && !existing.isDirectory()) {
    throw invalid('telemetryDir', text, 'expected a directory, found a file');
  }
  if (existing === undefined) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw invalid('telemetryDir', text, `expected a directory that can be created (${describeFsError(err)})`);
    }
  }
  const probe = join(dir, `.write-probe-${process.pid}`);
  try {
    accessSync(dir, constants.W_OK);
    writeFileSync(probe, '');
  } catch (err) {
    throw invalid('telemetryDir', text, `expected a writable directory (${describeFsError(err)})`);
  } finally {
    rmSync(probe, { force: true });
  }
  return dir;
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOTDIR' || code === 'EEXIST') return 'a path component is a file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'read-only file system';
  if (code === 'ENOSPC') return 'no space left on device';
  return code ?? String(err);
}

function parseMetricsFormat(text: string): MetricsFormat {
  const format = text.trim().toLowerCase();
  if (!(METRICS_FORMATS as readonly string[]).includes(format)) {
    throw invalid('metricsFormat', text, `expected one of ${METRICS_FORMATS.join(', ')}`);
  }
  return format as MetricsFormat;
}

function milliseconds(name: RunOptionName, text: string, min: number): number {
  return integer(name, text, min, HOUR_MS, `expected whole milliseconds from ${min} to ${HOUR_MS}`);
}

/** Validates everything `service run` is given; throws InvalidOptionError on the first bad value. */
export function loadRunConfig(raw: RawRunOptions): RunConfig {
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

  return Object.freeze({
    host: bind.host,
    port,
    logFilter,
    serviceName: parseServiceName(required('serviceName')),
    metricsFormat: parseMetricsFormat(required('metricsFormat')),
    downstreamUrl: downstreamText === undefined ? undefined : parseDownstreamUrl(downstreamText),
    requestTimeoutMs: milliseconds('requestTimeoutMs', required('requestTimeoutMs'), 1),
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
    // Last: it touches the disk, so only once everything else is known good.
    telemetryDir: telemetryDirText === undefined ? undefined : prepareTelemetryDir(telemetryDirText),
  });
}
