/**
 * Event-loop delay (how late the recorder's 10 ms timer fired: what every callback waited) and CPU
 * saturation (the loop busy nearly all the time for seconds on end: the process is at its capacity,
 * and queueing, not any single callback, makes requests slow).
 */
import type { Finding, Severity } from '../types.js';
import { at, type FindingContext, ms, quantile, refsInWindow } from './context.js';
import { cpuCores, elu, runsOf } from './windows.js';

const DELAY_WARNING_US = 50_000;
const DELAY_CRITICAL_US = 200_000;
/** Utilization from which the loop counts as saturated. */
const SATURATED_ELU = 0.9;
const SATURATED_MIN_SECONDS = 3;

export function loopFindings(ctx: FindingContext): Finding[] {
  const { process } = ctx;
  const seconds = process.timeline.ordered().filter((s) => s.periodUs > 0);
  if (seconds.length === 0) return [];
  const findings: Finding[] = [];

  const delays = seconds.map((s) => s.delayMaxUs);
  const p99 = quantile(delays, 0.99);
  const worst = seconds.reduce((a, b) => (b.delayMaxUs > a.delayMaxUs ? b : a));
  if (worst.delayMaxUs >= DELAY_WARNING_US) {
    const runs = runsOf(seconds, (s) => s.delayMaxUs >= DELAY_WARNING_US);
    const longest = runs.reduce((a, b) => (b.seconds.length > a.seconds.length ? b : a));
    const severity: Severity =
      worst.delayMaxUs >= DELAY_CRITICAL_US || p99 >= DELAY_WARNING_US ? 'critical' : 'warning';
    const affected = runs.reduce((n, r) => n + r.seconds.length, 0);
    const fromUs = Math.max(ctx.originUs, longest.first.index * 1e6);
    const toUs = Math.min(ctx.endUs, (longest.last.index + 1) * 1e6);
    const samples = process.stacks.sitesIn(worst.index * 1e6, (worst.index + 1) * 1e6);
    findings.push({
      kind: 'event-loop-delay',
      severity,
      summary: `event-loop delay up to ${Math.round(worst.delayMaxUs / 1000)} ms (at ${at(ctx, worst.index * 1e6)}); ${affected} of ${seconds.length} seconds had a delay over ${DELAY_WARNING_US / 1000} ms${samples === undefined ? '' : `; busiest code then: ${samples.site}`}`,
      startMs: ms(fromUs),
      durationMs: ms(toUs - fromUs),
      stack: samples?.stack ?? [],
      requests: refsInWindow(ctx, fromUs, toUs),
      evidence: {
        maxDelayMs: ms(worst.delayMaxUs),
        p99DelayMs: ms(p99),
        secondsOverThreshold: affected,
        seconds: seconds.length,
        thresholdMs: DELAY_WARNING_US / 1000,
      },
    });
  }

  const busy = runsOf(seconds, (s) => elu(s) >= SATURATED_ELU).filter((r) => r.seconds.length >= SATURATED_MIN_SECONDS);
  if (busy.length > 0) {
    const longest = busy.reduce((a, b) => (b.seconds.length > a.seconds.length ? b : a));
    const fromUs = Math.max(ctx.originUs, longest.first.index * 1e6);
    const toUs = Math.min(ctx.endUs, (longest.last.index + 1) * 1e6);
    const total = busy.reduce((n, r) => n + r.seconds.length, 0);
    const meanElu = longest.seconds.reduce((a, s) => a + elu(s), 0) / longest.seconds.length;
    const cores = longest.seconds.map(cpuCores).filter((v) => Number.isFinite(v));
    const meanCores = cores.length === 0 ? Number.NaN : cores.reduce((a, b) => a + b, 0) / cores.length;
    const samples = process.stacks.sitesIn(fromUs, toUs);
    findings.push({
      kind: 'cpu-saturation',
      severity: total >= 10 || total >= seconds.length / 2 ? 'critical' : 'warning',
      summary: `the event loop was busy ${Math.round(meanElu * 100)}% of the time for ${longest.seconds.length} s from ${at(ctx, fromUs)} (${total} saturated seconds in all${Number.isFinite(meanCores) ? `, process CPU ${meanCores.toFixed(2)} cores` : ''}): requests queue behind each other${samples === undefined ? '' : `; most CPU in ${samples.site}`}`,
      startMs: ms(fromUs),
      durationMs: ms(toUs - fromUs),
      stack: samples?.stack ?? [],
      requests: refsInWindow(ctx, fromUs, toUs),
      evidence: {
        seconds: longest.seconds.length,
        saturatedSeconds: total,
        meanUtilization: Math.round(meanElu * 1000) / 1000,
        thresholdUtilization: SATURATED_ELU,
        ...(Number.isFinite(meanCores) ? { meanCpuCores: Math.round(meanCores * 100) / 100 } : {}),
        totalMs: total * 1000,
      },
    });
  }
  return findings;
}
