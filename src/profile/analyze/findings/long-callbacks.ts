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

/** A stall this many times its site's p99 is an outlier even below the absolute threshold. */
const OUTLIER_FACTOR = 5;

interface Group {
  site: string;
  blocked: boolean;
  views: StallView[];
  stack: Frame[];
}

export function longCallbackFindings(ctx: FindingContext): Finding[] {
  const { process } = ctx;
  const { longCallbackMs, criticalCallbackMs, requestsPerFinding } = process.options;
  const groups = new Map<string, Group>();
  for (const stall of process.stalls) {
    const view = process.views.of(stall);
    let group = groups.get(view.site);
    if (group === undefined) {
      group = { site: view.site, blocked: false, views: [], stack: view.sites?.stack ?? [] };
      groups.set(view.site, group);
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
    group.blocked = withCpu.length > 0 && share < BLOCKED_CPU_SHARE;
    let severity: Severity =
      worstMs >= criticalCallbackMs ? 'critical' : worstMs >= longCallbackMs || outliers > 0 ? 'warning' : 'info';
    if (group.blocked && severity === 'info') severity = 'warning';
    const requestPart =
      ran.size > 0
        ? `ran for ${ran.size} request${ran.size === 1 ? '' : 's'}${delayedCount > 0 ? `, delayed ${delayedCount} more` : ''}`
        : delayedCount > 0
          ? `no request of its own; delayed ${delayedCount} request${delayedCount === 1 ? '' : 's'}`
          : 'no request open';
    const times = group.views.length === 1 ? 'once' : `${group.views.length} times`;
    const summary = group.blocked
      ? `${group.site} blocked the event loop without working ${times} (process CPU ${Math.round(share * 100)}% of the time: a wait, sync I/O or a lock), worst ${fmtMs(worst.stall.durationUs)} at ${at(ctx, worst.stall.startUs)}; ${requestPart}`
      : `${group.site} held the event loop ${times}, worst ${fmtMs(worst.stall.durationUs)} at ${at(ctx, worst.stall.startUs)}, ${fmtMs(totalUs)} in all; ${requestPart}`;
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
