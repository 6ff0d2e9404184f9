/**
 * The slowest requests, explained: one finding for each of the few slowest that stand out (over
 * five times the median and the long-callback threshold), saying where its time went.
 */

import { requestRef } from '../requests.js';
import type { Finding, RequestBreakdown } from '../types.js';
import { type FindingContext, ms } from './context.js';

const STAND_OUT_FACTOR = 5;

export function slowRequestFindings(ctx: FindingContext, explained: readonly RequestBreakdown[]): Finding[] {
  const { process } = ctx;
  const median = process.requests.durations.quantile(0.5);
  const findings: Finding[] = [];
  for (const b of explained) {
    if (!(b.durationMs >= process.options.longCallbackMs && b.durationMs >= STAND_OUT_FACTOR * median)) continue;
    const req =
      process.requests.byId(b.requestId) ?? process.requests.slowest.sorted().find((r) => r.requestId === b.requestId);
    const parts = Object.entries(b.parts).sort((x, y) => y[1] - x[1]);
    const [mainName, mainMs] = parts[0] as [string, number];
    const label: Record<string, string> = {
      ownCpuMs: 'its own CPU work',
      queuedMs: 'queued behind other work',
      gcMs: 'GC',
      ioWaitMs: 'waiting on its outgoing requests',
      unknownMs: 'unaccounted (no stall, GC or outgoing request covers it)',
    };
    const behind = b.queuedBehind[0];
    const stack = mainName === 'queuedMs' && behind !== undefined ? behind.stack : [];
    findings.push({
      kind: 'slow-request',
      severity: 'info',
      summary: `request ${b.requestId} (${b.operation}, ${b.status}) took ${b.durationMs.toFixed(1)} ms (median ${median.toFixed(1)} ms): ${Math.round((mainMs / Math.max(b.durationMs, 1e-9)) * 100)}% ${label[mainName] ?? mainName}${mainName === 'queuedMs' && behind !== undefined ? `, behind ${behind.site}` : ''}`,
      startMs: b.startMs,
      durationMs: b.durationMs,
      stack,
      requests: req === undefined ? [] : [requestRef(req, 'ran')],
      evidence: { ...b.parts, medianMs: ms(median * 1000) },
    });
  }
  return findings;
}
