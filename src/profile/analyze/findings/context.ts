/** What every finding rule reads, and small helpers they share. */
import type { Req } from '../model.js';
import type { ProcessState } from '../process.js';
import { requestRef, round3 } from '../requests.js';
import type { Finding, FindingKind, RequestRef, Severity } from '../types.js';

export interface FindingContext {
  readonly process: ProcessState;
  /** Trace start (µs): summaries say times relative to it. */
  readonly originUs: number;
  readonly endUs: number;
}

export function ms(us: number): number {
  return round3(us / 1000);
}

/** "+12.34 s" from the trace start. */
export function at(ctx: FindingContext, us: number): string {
  return `+${(Math.max(0, us - ctx.originUs) / 1_000_000).toFixed(2)} s`;
}

export function fmtMs(us: number): string {
  const value = us / 1000;
  return value >= 100 ? `${Math.round(value)} ms` : `${value.toFixed(1)} ms`;
}

/** Distinct refs, `ran` ones first, at most `limit`. */
export function refs(ran: Iterable<Req>, delayed: Iterable<Req>, limit: number): RequestRef[] {
  const out: RequestRef[] = [];
  const seen = new Set<Req>();
  for (const req of ran) {
    if (out.length >= limit) break;
    if (seen.has(req)) continue;
    seen.add(req);
    out.push(requestRef(req, 'ran'));
  }
  for (const req of delayed) {
    if (out.length >= limit) break;
    if (seen.has(req)) continue;
    seen.add(req);
    out.push(requestRef(req, 'delayed'));
  }
  return out;
}

export const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/**
 * Within a severity, causes come before symptoms: a long callback or a slow downstream explains an
 * event-loop delay or a slow request, not the other way round.
 */
export const KIND_RANK: Record<FindingKind, number> = {
  // The loop never came back: nothing else in the trace matters as much.
  hang: -1,
  'long-callback': 0,
  'blocked-callback': 0,
  'downstream-wait': 0,
  gc: 1,
  'resource-growth': 1,
  'cpu-saturation': 2,
  'event-loop-delay': 3,
  'dropped-events': 4,
  'slow-request': 5,
};

/** How bad a finding is within its severity: the wall time it cost, roughly. */
export function impactOf(finding: Finding): number {
  const total = finding.evidence.totalMs;
  return typeof total === 'number' ? total : finding.durationMs;
}

export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** Remembered requests open in a window, slowest first, as delayed by what happened there. */
export function refsInWindow(ctx: FindingContext, fromUs: number, toUs: number): RequestRef[] {
  const limit = ctx.process.options.requestsPerFinding;
  return ctx.process.requestsIn(fromUs, toUs, limit).map((req) => requestRef(req, 'delayed'));
}
