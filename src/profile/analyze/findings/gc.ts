/**
 * GC: long pauses (each one stops the loop) and the share of wall time spent in GC over a window
 * (allocation pressure: the fix is allocating less, not a faster callback). The stack is what ran on
 * the CPU in the worst window: usually the code that allocates.
 */
import type { Finding, Severity } from '../types.js';
import { at, type FindingContext, ms, refsInWindow } from './context.js';

const PAUSE_WARNING_US = 50_000;
const PAUSE_CRITICAL_US = 200_000;
const SHARE_WARNING = 0.1;
const SHARE_CRITICAL = 0.25;
const WINDOW_SECONDS = 10;

export function gcFindings(ctx: FindingContext): Finding[] {
  const { timeline } = ctx.process;
  const seconds = timeline.ordered();
  const gcSeconds = seconds.filter((s) => s.gcCount > 0);
  if (gcSeconds.length === 0) return [];
  let totalUs = 0;
  let count = 0;
  let maxUs = 0;
  let maxAt = 0;
  for (const s of gcSeconds) {
    totalUs += s.gcUs;
    count += s.gcCount;
    if (s.gcMaxUs > maxUs) {
      maxUs = s.gcMaxUs;
      maxAt = s.index;
    }
  }
  // Worst window of WINDOW_SECONDS consecutive seconds by GC share.
  const byIndex = new Map(seconds.map((s) => [s.index, s]));
  let worstShare = 0;
  let worstFrom = gcSeconds[0]?.index ?? 0;
  const span = Math.max(1, Math.min(WINDOW_SECONDS, seconds.length));
  for (const s of gcSeconds) {
    let gcUs = 0;
    for (let i = s.index; i < s.index + span; i++) gcUs += byIndex.get(i)?.gcUs ?? 0;
    const share = gcUs / (span * 1e6);
    if (share > worstShare) {
      worstShare = share;
      worstFrom = s.index;
    }
  }
  const traceUs = Math.max(1, ctx.endUs - ctx.originUs);
  const share = totalUs / traceUs;
  const severity: Severity | undefined =
    maxUs >= PAUSE_CRITICAL_US || worstShare >= SHARE_CRITICAL
      ? 'critical'
      : maxUs >= PAUSE_WARNING_US || worstShare >= SHARE_WARNING
        ? 'warning'
        : undefined;
  if (severity === undefined) return [];
  const pauseLed = maxUs >= PAUSE_WARNING_US && worstShare < SHARE_WARNING;
  const fromUs = Math.max(ctx.originUs, pauseLed ? maxAt * 1e6 : worstFrom * 1e6);
  const toUs = Math.min(ctx.endUs, pauseLed ? (maxAt + 1) * 1e6 : (worstFrom + span) * 1e6);
  const samples = ctx.process.stacks.sitesIn(fromUs, toUs);
  return [
    {
      kind: 'gc',
      severity,
      summary: `GC took ${Math.round(worstShare * 100)}% of the time over ${span} s from ${at(ctx, worstFrom * 1e6)} (${(share * 100).toFixed(1)}% of the whole trace, ${count} pauses), longest pause ${Math.round(maxUs / 1000)} ms at ${at(ctx, maxAt * 1e6)}${samples === undefined ? '' : `; busiest code then: ${samples.site}`}`,
      startMs: ms(fromUs),
      durationMs: ms(toUs - fromUs),
      stack: samples?.stack ?? [],
      requests: refsInWindow(ctx, fromUs, toUs),
      evidence: {
        pauses: count,
        totalMs: ms(totalUs),
        maxPauseMs: ms(maxUs),
        traceShare: Math.round(share * 1000) / 1000,
        worstWindowShare: Math.round(worstShare * 1000) / 1000,
        windowSeconds: span,
        pauseWarningMs: PAUSE_WARNING_US / 1000,
        shareWarning: SHARE_WARNING,
      },
    },
  ];
}
