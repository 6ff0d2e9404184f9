/**
 * Options of `service profile analyze`. Strict like every CLI option: a bad value stops the
 * command with one line and exit 2.
 */
import { resolve } from 'node:path';
import { invalidOption, option, optionText, type RawOptions } from './option-spec.js';
import { integer, milliseconds } from './parsers.js';

export const ANALYZE_OPTIONS = Object.freeze({
  metrics: option(
    'metrics',
    'ANALYZE_METRICS',
    undefined,
    '<file>',
    "A metrics.log (or a directory of rolled ones): each finding's requests get their wide events, joined by RequestId.",
  ),
  request: option(
    'request',
    'ANALYZE_REQUEST',
    undefined,
    '<id>',
    'Explain this request: its wall time split into own CPU, queued behind other work, GC, I/O wait and unknown.',
  ),
  top: option('top', 'ANALYZE_TOP', '5', '<n>', 'How many of the slowest requests to explain (0 to 100).'),
  longCallback: option(
    'long-callback',
    'ANALYZE_LONG_CALLBACK_MS',
    '50',
    '<ms>',
    'Main-thread work at least this long is a long callback (warning; 4x this is critical).',
  ),
  slowOutgoing: option(
    'slow-outgoing',
    'ANALYZE_SLOW_OUTGOING_MS',
    '100',
    '<ms>',
    'An outgoing request at least this long is slow.',
  ),
});

export type AnalyzeOptionName = keyof typeof ANALYZE_OPTIONS;

export interface AnalyzeConfig {
  readonly path: string;
  readonly metricsPath: string | undefined;
  readonly requestId: string | undefined;
  readonly slowRequests: number;
  readonly longCallbackMs: number;
  readonly criticalCallbackMs: number;
  readonly slowOutgoingMs: number;
}

export function loadAnalyzeConfig(path: string, raw: RawOptions<AnalyzeOptionName>): AnalyzeConfig {
  const text = optionText(ANALYZE_OPTIONS, raw);
  const metrics = text('metrics');
  if (metrics !== undefined && metrics.trim() === '')
    throw invalidOption(ANALYZE_OPTIONS.metrics, metrics, 'expected the path of a metrics.log');
  const request = text('request');
  if (request !== undefined && request.trim() === '')
    throw invalidOption(ANALYZE_OPTIONS.request, request, 'expected a request id (the wide event RequestId)');
  const longCallbackMs = milliseconds(ANALYZE_OPTIONS.longCallback, text('longCallback') ?? '50', 1);
  return Object.freeze({
    path: resolve(path),
    metricsPath: metrics === undefined ? undefined : resolve(metrics),
    requestId: request?.trim(),
    slowRequests: integer(ANALYZE_OPTIONS.top, text('top') ?? '5', 0, 100),
    longCallbackMs,
    criticalCallbackMs: longCallbackMs * 4,
    slowOutgoingMs: milliseconds(ANALYZE_OPTIONS.slowOutgoing, text('slowOutgoing') ?? '100', 1),
  });
}
