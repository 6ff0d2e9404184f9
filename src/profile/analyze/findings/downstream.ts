/**
 * Waiting on the downstream: outgoing requests slower than the threshold while this process's event
 * loop was mostly idle. Then the time is the other side's (or the network's), not this process's
 * CPU, so the finding names no code of ours (no stack) and lists the requests that waited.
 */
import type { Out, Req } from '../model.js';
import { lowerBound } from '../stacks.js';
import type { Finding } from '../types.js';
import { at, type FindingContext, fmtMs, ms, refs } from './context.js';

/** Loop utilization during the slow calls under which the loop counts as idle. */
const IDLE_ELU = 0.5;
/** Without parking this long (the default stall threshold), the loop counts as busy. */
const UNPARKED_BUSY_US = 20_000;
/** Slow calls while idle from which waiting on the downstream is critical (and 10% of the calls). */
const CRITICAL_CALLS = 10;

export function downstreamFindings(ctx: FindingContext): Finding[] {
  const { process } = ctx;
  const findings: Finding[] = [];
  for (const stats of process.outgoing.byOrigin.values()) {
    if (stats.slow === 0) continue;
    const slowest = stats.slowest.sorted();
    const worst0 = slowest[0] as Out;
    // Each slow call on its own: the loop idle during it (waiting on the other side) or busy.
    const idleCalls: Out[] = [];
    let eluSum = 0;
    let eluN = 0;
    for (const out of slowest) {
      const busy = busyShare(ctx, out);
      if (!(busy >= IDLE_ELU)) idleCalls.push(out);
      if (Number.isFinite(busy)) {
        eluSum += busy;
        eluN++;
      }
    }
    const idle = idleCalls.length > 0;
    const shown = idle ? idleCalls : slowest;
    const elu = shown === slowest ? (eluN === 0 ? Number.NaN : eluSum / eluN) : meanBusy(ctx, idleCalls);
    const waited: Req[] = [];
    for (const out of shown) if (out.owner !== undefined) waited.push(out.owner);
    const worst = shown[0] ?? worst0;
    const p50 = stats.durations.quantile(0.5);
    const p99 = stats.durations.quantile(0.99);
    const loopText = Number.isFinite(elu)
      ? `the event loop was ${Math.round(elu * 100)}% busy meanwhile`
      : 'no loop data';
    const summary = idle
      ? `waiting on the downstream ${stats.origin}: ${idleCalls.length} of ${stats.count} outgoing requests took over ${process.options.slowOutgoingMs} ms (p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, worst ${fmtMs(worst.endUs - worst.startUs)} at ${at(ctx, worst.startUs)}) while ${loopText}: the time is the downstream's, not this process's CPU`
      : `slow outgoing requests to ${stats.origin}: ${stats.slow} of ${stats.count} took over ${process.options.slowOutgoingMs} ms, but ${loopText}: a busy loop delays reading their responses too`;
    findings.push({
      kind: 'downstream-wait',
      severity:
        idle && idleCalls.length >= CRITICAL_CALLS && idleCalls.length >= stats.count * 0.1
          ? 'critical'
          : idle
            ? 'warning'
            : 'info',
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
        slowWhileIdle: idleCalls.length,
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

/**
 * How busy the loop was during one outgoing request: the share of it covered by stalls (exact to
 * ~10 ms), and when the trace has idle periods (park/unpark) the share spent in stretches of 20 ms
 * or more without parking, whatever the call's length; without them, for calls of a second or
 * more, the loop utilization of those seconds (many short callbacks make no stall but still keep
 * the loop busy).
 */
function busyShare(ctx: FindingContext, out: Out): number {
  const durationUs = out.endUs - out.startUs;
  if (durationUs <= 0) return Number.NaN;
  const unparkedUs = ctx.process.timeline.unparkedWithin(out.startUs, out.endUs, UNPARKED_BUSY_US);
  const { stalls, stallStarts, longestWorkUs } = ctx.process.sources();
  let coveredUs = 0;
  for (let i = lowerBound(stallStarts, out.startUs - longestWorkUs); i < stalls.length; i++) {
    const stall = stalls[i] as (typeof stalls)[number];
    if (stall.startUs > out.endUs) break;
    coveredUs += Math.max(0, Math.min(stall.endUs, out.endUs) - Math.max(stall.startUs, out.startUs));
  }
  const share = Math.min(1, coveredUs / durationUs);
  if (Number.isFinite(unparkedUs)) return Math.max(share, Math.min(1, unparkedUs / durationUs));
  if (durationUs < 1_000_000) return share;
  const elu = ctx.process.timeline.eluBetween(out.startUs, out.endUs);
  return Number.isFinite(elu) ? Math.max(share, elu) : share;
}

function meanBusy(ctx: FindingContext, calls: readonly Out[]): number {
  const values = calls.map((out) => busyShare(ctx, out)).filter((v) => Number.isFinite(v));
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}
