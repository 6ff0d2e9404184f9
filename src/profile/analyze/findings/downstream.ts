/**
 * Waiting on the downstream: outgoing requests slower than the threshold while this process's event
 * loop was mostly idle. Then the time is the other side's (or the network's), not this process's
 * CPU, so the finding names no code of ours (no stack) and lists the requests that waited.
 */
import type { Out, Req } from '../model.js';
import type { Finding } from '../types.js';
import { at, type FindingContext, fmtMs, ms, refs } from './context.js';

/** Loop utilization during the slow calls under which the loop counts as idle. */
const IDLE_ELU = 0.5;

export function downstreamFindings(ctx: FindingContext): Finding[] {
  const { process } = ctx;
  const findings: Finding[] = [];
  for (const stats of process.outgoing.byOrigin.values()) {
    if (stats.slow === 0) continue;
    const slowest = stats.slowest.sorted();
    const worst = slowest[0] as Out;
    let eluSum = 0;
    let eluN = 0;
    for (const out of slowest) {
      const elu = process.timeline.eluBetween(out.startUs, out.endUs);
      if (Number.isFinite(elu)) {
        eluSum += elu;
        eluN++;
      }
    }
    const elu = eluN === 0 ? Number.NaN : eluSum / eluN;
    const idle = !(elu >= IDLE_ELU);
    const waited: Req[] = [];
    for (const out of slowest) if (out.owner !== undefined) waited.push(out.owner);
    const p50 = stats.durations.quantile(0.5);
    const p99 = stats.durations.quantile(0.99);
    const loopText = Number.isFinite(elu)
      ? `the event loop was ${Math.round(elu * 100)}% busy meanwhile`
      : 'no loop data';
    const summary = idle
      ? `waiting on the downstream ${stats.origin}: ${stats.slow} of ${stats.count} outgoing requests took over ${process.options.slowOutgoingMs} ms (p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, worst ${fmtMs(worst.endUs - worst.startUs)} at ${at(ctx, worst.startUs)}) while ${loopText}: the time is the downstream's, not this process's CPU`
      : `slow outgoing requests to ${stats.origin}: ${stats.slow} of ${stats.count} took over ${process.options.slowOutgoingMs} ms, but ${loopText}: a busy loop delays reading their responses too`;
    findings.push({
      kind: 'downstream-wait',
      severity: idle && stats.slow >= Math.max(1, stats.count * 0.05) ? 'critical' : 'warning',
      summary,
      startMs: ms(stats.firstUs),
      durationMs: ms(stats.lastUs - stats.firstUs),
      // No CPU blame while the loop idles: nothing of ours was running.
      stack: idle ? [] : (process.stacks.sitesIn(worst.startUs, worst.endUs)?.stack ?? []),
      requests: refs([], waited, process.options.requestsPerFinding).map((r) => ({ ...r, role: 'waited' as const })),
      evidence: {
        origin: stats.origin,
        outgoing: stats.count,
        slow: stats.slow,
        errors: stats.errors,
        totalMs: ms(stats.slowUs),
        p50Ms: Math.round(p50 * 1000) / 1000,
        p99Ms: Math.round(p99 * 1000) / 1000,
        worstMs: ms(worst.endUs - worst.startUs),
        thresholdMs: process.options.slowOutgoingMs,
        ...(Number.isFinite(elu) ? { loopUtilization: Math.round(elu * 1000) / 1000 } : {}),
        loopIdle: idle ? 'yes' : 'no',
      },
    });
  }
  return findings;
}
