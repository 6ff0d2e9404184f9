/** Every `service run` option in one table: flag, environment variable, default, help text. */
import { option } from './option-spec.js';

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
  metricsFormat: option(
    'metrics-format',
    'METRICS_FORMAT',
    'json',
    '<format>',
    'Metric record format: json or emf (CloudWatch).',
  ),
  emfNamespace: option(
    'emf-namespace',
    'EMF_NAMESPACE',
    undefined,
    '<namespace>',
    'CloudWatch namespace of EMF metrics [default: the service name].',
  ),
  emfDimensions: option(
    'emf-dimensions',
    'EMF_DIMENSIONS',
    undefined,
    '<sets>',
    'EMF dimension sets: keys joined by ",", sets by ";", e.g. "Operation;Operation,StatusCode" [default: none].',
  ),
  emfLogGroup: option(
    'emf-log-group',
    'EMF_LOG_GROUP',
    undefined,
    '<name>',
    'LogGroupName written into each EMF event (for the CloudWatch agent).',
  ),
  emfValidation: option(
    'emf-validation',
    'EMF_VALIDATION',
    undefined,
    '<mode>',
    'strict: drop and count records CloudWatch would reject; off: write them as they are [default: strict, off when NODE_ENV=production].',
  ),
  metricsEndpoint: option(
    'metrics-endpoint',
    'METRICS_ENDPOINT',
    undefined,
    '<url>',
    'Send metric records to a CloudWatch agent at tcp://host:port or udp://host:port (port 25888 if omitted) instead of stdout/metrics.log.',
  ),
  metricsSampleRate: option(
    'metrics-sample-rate',
    'METRICS_SAMPLE_RATE',
    '1',
    '<fraction>',
    'Keep this fraction of request records, each weighted up so sums stay unbiased (e.g. 0.1).',
  ),
  metricsArchiveDir: option(
    'metrics-archive-dir',
    'METRICS_ARCHIVE_DIR',
    undefined,
    '<dir>',
    'Also write every metric record, unsampled, to metrics-archive.log here (rolled every minute).',
  ),
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
