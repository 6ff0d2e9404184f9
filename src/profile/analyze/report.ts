/**
 * Turns the analysis state into the report: findings of every rule, worst first (severity, then the
 * time they cost), and the slowest requests explained. With several processes (a capture of the
 * service and its downstream), each is analyzed on its own and its times moved onto the first
 * process's clock (their `performance.timeOrigin`s differ).
 */
import { type FindingContext, impactOf, KIND_RANK, SEVERITY_RANK } from './findings/context.js';
import { downstreamFindings } from './findings/downstream.js';
import { droppedFindings } from './findings/dropped.js';
import { gcFindings } from './findings/gc.js';
import { growthFindings } from './findings/growth.js';
import { hangFindings } from './findings/hangs.js';
import { longCallbackFindings } from './findings/long-callbacks.js';
import { loopFindings } from './findings/loop.js';
import { slowRequestFindings } from './findings/slow-requests.js';
import type { ProcessState } from './process.js';
import type { AnalysisReport, Finding, RequestBreakdown } from './types.js';

export function buildReport(processes: readonly ProcessState[]): AnalysisReport {
  const first = processes[0];
  if (first === undefined) {
    return {
      trace: {
        processes: 0,
        segments: 0,
        events: 0,
        startMs: 0,
        endMs: 0,
        timeOriginMs: 0,
        truncated: false,
        recording: undefined,
      },
      findings: [],
      slowRequests: [],
    };
  }
  const originMs = first.header.timeOriginMs;
  const findings: Finding[] = [];
  const slowRequests: RequestBreakdown[] = [];
  let startMs = Number.POSITIVE_INFINITY;
  let endMs = Number.NEGATIVE_INFINITY;
  let segments = 0;
  let events = 0;
  let requests = 0;
  let requestsCounted = 0;
  let samples = 0;
  let dropped = 0;
  for (const process of processes) {
    const shiftMs = process.header.timeOriginMs - originMs;
    const ctx: FindingContext = {
      process,
      originUs: process.timeline.minUs,
      endUs: process.timeline.maxUs,
    };
    const explained = process.requests.slowest
      .sorted()
      .slice(0, process.options.slowRequests)
      .map((req) => process.explain(req));
    const own = [
      ...hangFindings(ctx),
      ...longCallbackFindings(ctx),
      ...loopFindings(ctx),
      ...gcFindings(ctx),
      ...growthFindings(ctx),
      ...downstreamFindings(ctx),
      ...droppedFindings(ctx),
      ...slowRequestFindings(ctx, explained),
    ];
    for (const finding of capPerKind(own)) {
      if (processes.length > 1) finding.pid = process.header.process.pid;
      findings.push(shiftFinding(finding, shiftMs));
    }
    for (const b of explained) slowRequests.push(shiftBreakdown(b, shiftMs));
    if (Number.isFinite(process.timeline.minUs)) {
      startMs = Math.min(startMs, process.timeline.minUs / 1000 + shiftMs);
      endMs = Math.max(endMs, process.timeline.maxUs / 1000 + shiftMs);
    }
    segments += process.segments;
    events += process.events;
    requests += process.requests.closedCount + process.requests.skippedCount;
    requestsCounted += process.requests.skippedCount;
    samples += process.stacks.sampleCount;
    dropped += process.timeline.droppedTotal;
  }
  findings.sort(
    (a, b) =>
      SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
      KIND_RANK[a.kind] - KIND_RANK[b.kind] ||
      impactOf(b) - impactOf(a),
  );
  slowRequests.sort((a, b) => b.durationMs - a.durationMs);
  return {
    trace: {
      processes: processes.length,
      segments,
      events,
      startMs: Number.isFinite(startMs) ? round(startMs) : 0,
      endMs: Number.isFinite(endMs) ? round(endMs) : 0,
      timeOriginMs: originMs,
      truncated: processes.some((p) => p.truncated),
      recording: first.header.recording,
      requests,
      requestsCounted,
      cpuSamples: samples,
      droppedEvents: dropped,
    },
    findings,
    slowRequests: slowRequests.slice(0, first.options.slowRequests),
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function shiftFinding(finding: Finding, shiftMs: number): Finding {
  if (shiftMs === 0) return finding;
  return {
    ...finding,
    startMs: round(finding.startMs + shiftMs),
    requests: finding.requests.map((r) => ({ ...r, startMs: round(r.startMs + shiftMs) })),
  };
}

export function shiftBreakdown(b: RequestBreakdown, shiftMs: number): RequestBreakdown {
  if (shiftMs === 0) return b;
  return {
    ...b,
    startMs: round(b.startMs + shiftMs),
    queuedBehind: b.queuedBehind.map((q) => ({ ...q, startMs: round(q.startMs + shiftMs) })),
    outgoing: b.outgoing.map((o) => ({ ...o, startMs: round(o.startMs + shiftMs) })),
  };
}

/** Findings of one kind shown at most: an overloaded process stalls at dozens of sites. */
const MAX_PER_KIND = 10;

/** The worst MAX_PER_KIND of each kind; the last kept one says how many more there were. */
function capPerKind(findings: readonly Finding[]): Finding[] {
  const byKind = new Map<string, Finding[]>();
  for (const f of findings) {
    const list = byKind.get(f.kind) ?? [];
    list.push(f);
    byKind.set(f.kind, list);
  }
  const out: Finding[] = [];
  for (const list of byKind.values()) {
    list.sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || impactOf(b) - impactOf(a));
    const kept = list.slice(0, MAX_PER_KIND);
    const last = kept[kept.length - 1];
    if (last !== undefined && list.length > kept.length) last.evidence.moreOfThisKind = list.length - kept.length;
    out.push(...kept);
  }
  return out;
}
