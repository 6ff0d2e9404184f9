/**
 * Long callbacks and blocked callbacks, grouped by site: the top app frame of the CPU samples taken
 * during them (or, without samples, the operation of the request they ran for). Each group is
 * judged on absolute thresholds and against its site's baseline (the p99 of the same operation's
 * requests): a 60 ms stretch is normal for an operation whose p99 is 80 ms, an outlier for one whose
 * p99 is 2 ms. A stall whose process CPU was far below its wall time waited rather than worked.
 */
import type { StallView } from '../attribution.js';
import { BLOCKED_CPU_SHARE, cpuShare } from '../attribution.js';
import type { Req } from '../model.js';
import type { Finding, Frame, Severity } from '../types.js';
import { at, type FindingContext, fmtMs, ms, quantile, refs } from './context.js';
import { STARTUP_WARNING_US, startupWindow } from './loop.js';

/** A stall this many times its site's p99 is an outlier even below the absolute threshold. */
const OUTLIER_FACTOR = 5;
/** Share of the expected CPU samples under which a low-CPU stall is starvation, not a wait. */
const MIN_SAMPLE_DENSITY = 0.5;

interface Group {
  site: string;
  /** Stalls before the first request, when the trace has the process's start (see startupWindow). */
  startup: boolean;
  blocked: boolean;
  views: StallView[];
  stack: Frame[];
}

export function longCallbackFindings(ctx: FindingContext): Finding[] {
  const { process } = ctx;
  const { longCallbackMs, criticalCallbackMs, requestsPerFinding } = process.options;
  const groups = new Map<string, Group>();
  // Work before the first request (module loading, building the app) is grouped apart and judged
  // as the start-up's loop delay is: every service has some, no request waits for it, only a cold
  // start pays it. Mixed with the same site's work while serving, it made a warning of a routine
  // 900 ms start-up.
  const startupEndUs = startupWindow(ctx)?.endUs ?? Number.NEGATIVE_INFINITY;
  for (const stall of process.stalls) {
    const view = process.views.of(stall);
    const startup = stall.startUs < startupEndUs && view.ranFor === undefined;
    const key = startup ? `${view.site}\u0000start-up` : view.site;
    let group = groups.get(key);
    if (group === undefined) {
      group = { site: view.site, startup, blocked: false, views: [], stack: view.sites?.stack ?? [] };
      groups.set(key, group);
    }
    group.views.push(view);
    if (group.stack.length === 0 && view.sites !== undefined) group.stack = view.sites.stack;
  }
  const findings: Finding[] = [];
  for (const group of groups.values()) {
    const durations = group.views.map((v) => v.stall.durationUs);
    const worst = group.views.reduce((a, b) => (b.stall.durationUs > a.stall.durationUs ? b : a));
    const totalUs = durations.reduce((a, b) => a + b, 0);
    const ran = new Set<Req>();
    const delayed = new Set<Req>();
    let delayedCount = 0;
    for (const view of group.views) {
      if (view.ranFor !== undefined) ran.add(view.ranFor);
      for (const req of view.stall.overlapping) if (req !== view.ranFor) delayed.add(req);
      delayedCount += Math.max(0, view.stall.overlapCount - (view.ranFor === undefined ? 0 : 1));
    }
    for (const req of ran) delayed.delete(req);
    const operations = [...new Set([...ran].map((r) => r.operation))];
    const baselineMs = Math.max(
      ...operations.map((op) => process.requests.operationQuantile(op, 0.99)).filter((v) => Number.isFinite(v)),
      Number.NEGATIVE_INFINITY,
    );
    const worstMs = worst.stall.durationUs / 1000;
    const outliers = Number.isFinite(baselineMs)
      ? durations.filter((d) => d / 1000 >= OUTLIER_FACTOR * baselineMs).length
      : 0;
    // Judged per site over all its stalls: one stall of a CPU loop may look idle on a crowded
    // machine (the process was descheduled), a site that waits looks idle every time.
    const withCpu = group.views.filter((v) => v.stall.cpuWindowUs > 0);
    const share =
      withCpu.reduce((a, v) => a + cpuShare(v.stall) * v.stall.durationUs, 0) /
      Math.max(
        1,
        withCpu.reduce((a, v) => a + v.stall.durationUs, 0),
      );
    // A thread that waits is still sampled by V8's profiler (its stack shows where it waits); a
    // process the machine did not schedule is not. So with CPU samples on, low CPU counts as
    // blocked only when the samples kept coming.
    const density = sampleDensity(ctx, group.views);
    group.blocked = withCpu.length > 0 && share < BLOCKED_CPU_SHARE && !(density < MIN_SAMPLE_DENSITY);
    let severity: Severity =
      worstMs >= criticalCallbackMs ? 'critical' : worstMs >= longCallbackMs || outliers > 0 ? 'warning' : 'info';
    if (group.blocked && severity === 'info') severity = 'warning';
    // Work no request saw (start-up, or an idle moment) ranks below work that slowed requests:
    // the scan answers "why are requests slow" first.
    if (ran.size === 0 && delayedCount === 0) severity = severity === 'critical' ? 'warning' : 'info';
    if (group.startup && delayedCount === 0)
      severity = worst.stall.durationUs >= STARTUP_WARNING_US ? 'warning' : 'info';
    const requestPart =
      group.startup && delayedCount === 0
        ? 'before the first request (start-up: no request waited, but a cold start pays it)'
        : ran.size > 0
          ? `ran for ${ran.size} request${ran.size === 1 ? '' : 's'}${delayedCount > 0 ? `, delayed ${delayedCount} more` : ''}`
          : delayedCount > 0
            ? `no request of its own; delayed ${delayedCount} request${delayedCount === 1 ? '' : 's'}`
            : 'no request open (start-up or idle: no request saw it)';
    const times = group.views.length === 1 ? 'once' : `${group.views.length} times`;
    const summary =
      (group.startup ? 'start-up: ' : '') +
      (group.blocked
        ? `${group.site} blocked the event loop without working ${times} (process CPU ${Math.round(share * 100)}% of the time: a wait, sync I/O or a lock), worst ${fmtMs(worst.stall.durationUs)} at ${at(ctx, worst.stall.startUs)}; ${requestPart}`
        : `${group.site} held the event loop ${times}, worst ${fmtMs(worst.stall.durationUs)} at ${at(ctx, worst.stall.startUs)}, ${fmtMs(totalUs)} in all; ${requestPart}`);
    const evidence: Record<string, number | string> = {
      count: group.views.length,
      totalMs: ms(totalUs),
      worstMs: ms(worst.stall.durationUs),
      p50Ms: ms(quantile(durations, 0.5)),
      p99Ms: ms(quantile(durations, 0.99)),
      thresholdMs: longCallbackMs,
      criticalMs: criticalCallbackMs,
      ranFor: ran.size,
      delayed: delayedCount,
      cpuShare: Math.round(share * 1000) / 1000,
    };
    if (Number.isFinite(baselineMs)) {
      evidence.siteP99Ms = Math.round(baselineMs * 1000) / 1000;
      evidence.outliers = outliers;
    }
    if (worst.sites !== undefined) evidence.samples = worst.sites.samples;
    if (group.blocked) evidence.blockedBelowCpuShare = BLOCKED_CPU_SHARE;
    if (group.startup) evidence.startup = 'yes';
    if (Number.isFinite(density)) evidence.sampleDensity = Math.round(density * 100) / 100;
    findings.push({
      kind: group.blocked ? 'blocked-callback' : 'long-callback',
      severity,
      summary,
      startMs: ms(worst.stall.startUs),
      durationMs: ms(worst.stall.durationUs),
      stack: group.stack,
      requests: refs(ran, delayed, requestsPerFinding),
      evidence,
      site: group.site,
    });
  }
  return findings;
}

/** Samples taken in the stalls over those the profiler's rate promises; NaN without CPU sampling. */
function sampleDensity(ctx: FindingContext, views: readonly StallView[]): number {
  const config = ctx.process.header.config as { cpuProfile?: unknown; cpuSampleHz?: unknown };
  const hz = typeof config.cpuSampleHz === 'number' ? config.cpuSampleHz : 0;
  if (config.cpuProfile !== true || hz <= 0 || ctx.process.stacks.sampleCount === 0) return Number.NaN;
  let samples = 0;
  let expected = 0;
  for (const view of views) {
    samples += view.sites?.total ?? 0;
    expected += (view.stall.durationUs / 1e6) * hz;
  }
  return expected <= 0 ? Number.NaN : samples / expected;
}
