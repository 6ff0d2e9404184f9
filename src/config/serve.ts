/**
 * Options of `service profile serve`, the local trace viewer. Strict like every CLI option: a bad value
 * stops the command with one line and exit 2. The viewer is read-only and serves only the directories
 * it is given; binding anything but loopback must be asked for.
 */
import { statSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { invalidOption, option, optionText, type RawOptions } from './option-spec.js';
import { parsePort } from './parsers.js';
import { CAPTURE_OPTIONS } from './profile.js';

export const SERVE_OPTIONS = Object.freeze({
  port: option('port', 'VIEWER_PORT', '9119', '<port>', 'Port to listen on (0: any free port).'),
  host: option(
    'host',
    'VIEWER_HOST',
    '127.0.0.1',
    '<host>',
    'Address to listen on. Anything but loopback exposes your traces to the network: only when asked, with a warning.',
  ),
  captureDir: CAPTURE_OPTIONS.captureDir,
  traceDir: option(
    'trace-dir',
    'DIAL9_TRACE_DIR',
    './traces',
    '<dir>',
    "The flight recorder's trace directory (one sub-directory per process); the DIR argument overrides it.",
  ),
  metrics: option(
    'metrics',
    'VIEWER_METRICS',
    undefined,
    '<file>',
    "A metrics.log to join recorder traces with (wide events by RequestId) [default: the capture's telemetry/, or telemetry/ beside the trace directory].",
  ),
});

export type ServeOptionName = keyof typeof SERVE_OPTIONS;

export interface ServeConfig {
  readonly port: number;
  readonly host: string;
  /** True for 127.0.0.0/8, ::1 and localhost. */
  readonly loopback: boolean;
  readonly open: boolean;
  readonly captureDir: string;
  readonly traceDir: string;
  readonly metricsFile: string | undefined;
}

const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

function parseHost(text: string): string {
  const host = text.trim().replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) === 0 && !HOSTNAME.test(host)) {
    throw invalidOption(SERVE_OPTIONS.host, text, 'expected an IP address or host name, e.g. 127.0.0.1 or ::1');
  }
  return host;
}

function directory(name: 'captureDir' | 'traceDir', text: string): string {
  if (text.trim() === '') throw invalidOption(SERVE_OPTIONS[name], text, 'expected a directory path');
  const path = resolve(text);
  const stat = statSync(path, { throwIfNoEntry: false });
  // A missing directory is fine (nothing recorded yet: the page says so); a file is a mistake.
  if (stat !== undefined && !stat.isDirectory()) {
    throw invalidOption(SERVE_OPTIONS[name], text, 'expected a directory, found a file');
  }
  return path;
}

/** Validates everything `service profile serve` is given; `dir` is the positional DIR (a trace directory). */
export function loadServeConfig(raw: RawOptions<ServeOptionName>, dir: string | undefined, open: boolean): ServeConfig {
  const text = optionText(SERVE_OPTIONS, raw);
  const host = parseHost(text('host') ?? '');
  let metricsFile: string | undefined;
  const metrics = text('metrics');
  if (metrics !== undefined) {
    const path = resolve(metrics);
    if (metrics.trim() === '' || statSync(path, { throwIfNoEntry: false })?.isFile() !== true) {
      throw invalidOption(SERVE_OPTIONS.metrics, metrics, 'expected an existing metrics.log file');
    }
    metricsFile = path;
  }
  return Object.freeze({
    port: parsePort(SERVE_OPTIONS.port, text('port') ?? ''),
    host,
    loopback: isLoopbackHost(host),
    open,
    captureDir: directory('captureDir', text('captureDir') ?? ''),
    traceDir: directory('traceDir', dir ?? text('traceDir') ?? ''),
    metricsFile,
  });
}
