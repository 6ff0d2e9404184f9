/** The text report printed at the end of `service load` (the same numbers as --json). */
import type { Summary } from './summary.js';
import type { ThresholdOutcome } from './thresholds.js';

const BAR_WIDTH = 40;
/** Sent late by more than this and the generator, not the server, may be what is slow. */
const CLIENT_LATE_WARNING_MS = 10;

const n = (value: number) => value.toLocaleString('en-US');
const ms = (value: number) => `${value.toFixed(value < 10 ? 3 : value < 1000 ? 2 : 1)} ms`;

function latencyLines(title: string, l: Summary['latencyMs']): string[] {
  return [
    title,
    `  p50    ${ms(l.p50)}`,
    `  p90    ${ms(l.p90)}`,
    `  p99    ${ms(l.p99)}`,
    `  p99.9  ${ms(l['p99.9'])}`,
    `  max    ${ms(l.max)}`,
    `  mean   ${ms(l.mean)}`,
  ];
}

export function renderReport(s: Summary, thresholds: readonly ThresholdOutcome[]): string {
  const lines: string[] = [];
  const model =
    s.model === 'open'
      ? `open, ${n(s.schedule?.plannedRps ?? 0)} req/s on a fixed schedule, ${s.connections} connections`
      : `closed, ${s.connections} connections × pipelining ${s.pipelining}`;
  const client = s.httpClient === 'builtin' ? 'builtin HTTP/1.1 client' : 'undici Client';
  lines.push(
    'Summary',
    `  Target      ${s.target}`,
    `  Workload    ${s.workload}`,
    `  Model       ${model}, ${client}`,
    `  Duration    ${(s.elapsedMs / 1000).toFixed(2)} s`,
    `  Requests    ${n(s.sent)} sent, ${n(s.completed)} answered (${n(s.responses2xx)} 2xx), ${n(s.transportErrors)} failed without an answer${s.resent > 0 ? `, ${n(s.resent)} re-sent after a broken connection` : ''}`,
    `  Success     ${(s.successRate * 100).toFixed(2)}% (not failed, not 5xx)`,
    `  Throughput  ${n(s.throughputRps)} req/s`,
    '',
  );
  if (s.model === 'open') {
    lines.push(
      ...latencyLines('Latency from each intended send time (coordinated omission corrected)', s.latencyMs),
      '',
    );
    if (s.serviceTimeMs !== undefined) {
      lines.push(
        `Service time from the actual send (what a naive client reports): p50 ${ms(s.serviceTimeMs.p50)}, p99 ${ms(s.serviceTimeMs.p99)}, max ${ms(s.serviceTimeMs.max)}`,
        '',
      );
    }
  } else {
    lines.push(...latencyLines('Latency', s.latencyMs), '');
  }
  if (s.schedule !== undefined) {
    const sc = s.schedule;
    lines.push(
      `Schedule: ${n(sc.planned)} requests planned at ${n(sc.plannedRps)} req/s, sent at ${n(sc.achievedRps)} req/s`,
      `  The generator sent requests late by p50 ${ms(sc.lateMs.p50)}, p99 ${ms(sc.lateMs.p99)}, max ${ms(sc.lateMs.max)} (with connections free).`,
    );
    if (sc.lateMs.p99 > CLIENT_LATE_WARNING_MS) {
      lines.push('  Warning: the generator itself fell behind; the client, not the server, may be saturated.');
    }
    if (sc.waitedForConnection > 0) {
      const expired =
        sc.expiredUnsent > 0 ? `, and ${n(sc.expiredUnsent)} timed out before one was free (never sent)` : '';
      lines.push(
        `  The server did not keep up: ${n(sc.waitedForConnection)} requests waited for a free connection${expired}; their latency counts from when they were due.`,
      );
    }
    lines.push('');
  }
  if (s.histogram.length > 0) {
    lines.push('Latency histogram');
    const top = Math.max(...s.histogram.map((b) => b.count), 1);
    const last = s.histogram.length - 1;
    s.histogram.forEach((b, i) => {
      const label = i === last ? `≥ ${ms(b.fromMs)}` : `${ms(b.fromMs)}`;
      const bar = '■'.repeat(Math.round((b.count / top) * BAR_WIDTH));
      lines.push(`  ${label.padStart(12)} [${String(b.count).padStart(8)}] |${bar}`);
    });
    lines.push('');
  }
  lines.push('Status codes');
  const codes = Object.entries(s.statusCodes);
  if (codes.length === 0) lines.push('  (no responses)');
  for (const [code, count] of codes) lines.push(`  [${code}] ${n(count)} responses`);
  lines.push('');
  const errors = Object.entries(s.errors).filter(([, count]) => count > 0);
  if (errors.length > 0) {
    lines.push('Errors (no response)');
    for (const [kind, count] of errors) lines.push(`  [${kind}] ${n(count)}`);
    lines.push('');
  }
  if (thresholds.length > 0) {
    lines.push('Thresholds (--fail-on)');
    for (const t of thresholds) {
      const actual = t.unit === 'fraction' ? `${(t.actual * 100).toFixed(2)}%` : `${n(t.actual)} ${t.unit}`;
      lines.push(`  ${t.failed ? 'FAIL' : 'pass'}  ${t.condition} (actual ${actual})`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

/**
 * The one line `service load` ends with when no request got any response: a wrong host or port,
 * or a target that is down, must not pass a CI step. Undefined when something answered.
 */
export function noResponseLine(s: Summary): string | undefined {
  if (s.completed > 0) return undefined;
  const kinds = Object.entries(s.errors)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${n(count)} ${kind}`);
  const why = kinds.length === 0 ? '' : ` (${kinds.join(', ')})`;
  return `no response from ${s.target}: ${n(s.sent)} requests sent, none answered${why}; is the target up and the URL right?`;
}

/** One progress line, for a terminal: rewritten in place every second. */
export function progressLine(p: {
  elapsedMs: number;
  completed: number;
  errors: number;
  recentRps: number;
  p99Ms: number;
}): string {
  return `[${(p.elapsedMs / 1000).toFixed(1).padStart(6)} s] ${n(Math.round(p.recentRps)).padStart(8)} req/s | ${n(p.completed)} done | ${n(p.errors)} errors | p99 ${ms(p.p99Ms)}`;
}
