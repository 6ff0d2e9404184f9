/**
 * Event-loop delay (how late the recorder's 10 ms timer fired: what every callback waited) and CPU
 * saturation (the loop busy nearly all the time for seconds on end: the process is at its capacity,
 * and queueing, not any single callback, makes requests slow).
 */
import { LONG_DELAY_US, type Second } from '../timeline.js';
import type { Finding, Severity } from '../types.js';
import { at, type FindingContext, ms, quantile, refsInWindow } from './context.js';
import { cpuCores, elu, runsOf } from './windows.js';

/** The timeline keeps each loop sample this late apart (the start-up is told from the rest by them). */
const DELAY_WARNING_US = LONG_DELAY_US;
const DELAY_CRITICAL_US = 200_000;
/** Utilization from which the loop counts as saturated. */
const SATURATED_ELU = 0.9;
const SATURATED_MIN_SECONDS = 3;

/** A start-up that blocks the loop this long is a warning (a cold start that slow hurts), else info. */
export const STARTUP_WARNING_US = 2_000_000;
/** The start-up ends this long after the process started at the latest. */
const STARTUP_MAX_US = 60_000_000;

/**
 * When the start-up ran: from the process's first event until the first request came or the loop
 * was first mostly idle over a 100 ms sample, whichever was first (60 s at most); undefined when the
 * trace does not have the process's first segment. The long-callback findings use it too. Ending
 * once the loop idles keeps a job that never serves a request from calling its first minute of
 * work "start-up".
 */
export function startupWindow(ctx: FindingContext): { startUs: number; endUs: number } | undefined {
  const timeline = ctx.process.timeline;
  const startUs = timeline.processStartUs;
  if (startUs === undefined) return undefined;
  return {
    startUs,
    endUs: Math.min(timeline.firstRequestUs, timeline.firstIdleUs, startUs + STARTUP_MAX_US),
  };
}

/**
 * The start-up (module loading, initialization: see `startupWindow`) when the trace has the
 * process's first segment, and the longest loop delay in it.
 */
function startup(ctx: FindingContext): { endUs: number; worstUs: number; worstAtUs: number } | undefined {
  const timeline = ctx.process.timeline;
  const window = startupWindow(ctx);
  if (window === undefined) return undefined;
  const { startUs, endUs } = window;
  let worstUs = 0;
  let worstAtUs = startUs;
  for (let i = 0; i < timeline.longDelayTime.length; i++) {
    const time = timeline.longDelayTime.at(i);
    const delay = timeline.longDelayUs.at(i);
    if (time < endUs && delay > worstUs) {
      worstUs = delay;
      worstAtUs = time - delay;
    }
  }
  return worstUs === 0 ? undefined : { endUs, worstUs, worstAtUs: Math.max(startUs, worstAtUs) };
}

export function loopFindings(ctx: FindingContext): Finding[] {
  const { process } = ctx;
  const findings: Finding[] = [];
  // A start-up that blocks the loop (every service's module loading does, for a fraction of a
  // second) is its own, informational finding: a critical event-loop delay at +0 s on every trace
  // said nothing about serving. Its seconds count for the rest only with their later samples.
  const start = startup(ctx);
  if (start !== undefined) {
    findings.push({
      kind: 'event-loop-delay',
      severity: start.worstUs >= STARTUP_WARNING_US ? 'warning' : 'info',
      summary: `start-up: the event loop was blocked up to ${Math.round(start.worstUs / 1000)} ms before the first request (module loading, initialization; at ${at(ctx, start.worstAtUs)}); no request waited, but a cold start (a new container, a Lambda) pays it`,
      startMs: ms(start.worstAtUs),
      durationMs: ms(start.worstUs),
      stack: [],
      requests: [],
      evidence: { maxDelayMs: ms(start.worstUs), startup: 'yes', startupEnds: at(ctx, start.endUs) },
    });
  }
  const seconds = process.timeline
    .ordered()
    .filter((s) => s.periodUs > 0)
    .map((s) => (start !== undefined && s.index * 1e6 < start.endUs ? withoutStartup(ctx, s, start.endUs) : s));
  if (seconds.length === 0) return findings;

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

/**
 * A second that began during the start-up, its delay taken from its long-delay samples after the
 * start-up only (shorter ones are below every threshold: 0 stands for them).
 */
function withoutStartup(ctx: FindingContext, second: Second, startupEndUs: number): Second {
  const timeline = ctx.process.timeline;
  const fromUs = second.index * 1e6;
  let delayMaxUs = 0;
  for (let i = 0; i < timeline.longDelayTime.length; i++) {
    const time = timeline.longDelayTime.at(i);
    if (time >= startupEndUs && time >= fromUs && time < fromUs + 1e6)
      delayMaxUs = Math.max(delayMaxUs, timeline.longDelayUs.at(i));
  }
  return { ...second, delayMaxUs };
}
