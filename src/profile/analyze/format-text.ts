/**
 * The report as text for a terminal: what the trace holds, then the findings worst first (time,
 * duration, evidence, top frames, requests), then the slowest requests explained.
 */
import { frameLabel } from './stacks.js';
import type { AnalysisReport, Finding, RequestBreakdown, RequestRef } from './types.js';

const FRAMES_SHOWN = 5;
const REQUESTS_SHOWN = 8;

export function renderText(report: AnalysisReport, request?: RequestBreakdown | null): string {
  const lines: string[] = [];
  const t = report.trace;
  const origin = t.startMs;
  const rel = (ms: number) => `+${((ms - origin) / 1000).toFixed(3)} s`;
  const wall = (ms: number) => new Date(t.timeOriginMs + ms).toISOString();
  const spanS = ((t.endMs - t.startMs) / 1000).toFixed(1);
  lines.push(
    `trace: ${t.processes} process${t.processes === 1 ? '' : 'es'}, ${t.segments} segment${t.segments === 1 ? '' : 's'}, ${n(t.events)} events over ${spanS} s from ${t.processes > 0 ? wall(t.startMs) : '-'}; ${n(t.requests ?? 0)} requests${(t.requestsCounted ?? 0) > 0 ? ` (${n(t.requestsCounted ?? 0)} fast ones only counted)` : ''}, ${n(t.cpuSamples ?? 0)} CPU samples${t.truncated ? '; the last segment was cut short (truncated)' : ''}${(t.droppedEvents ?? 0) > 0 ? `; ${n(t.droppedEvents ?? 0)} events dropped` : ''}`,
  );
  const recording = t.recording as { summary?: string } | undefined;
  if (typeof recording?.summary === 'string') lines.push(`recording: ${recording.summary}`);
  if ((t.cpuSamples ?? 0) === 0)
    lines.push('note: no CPU samples, so findings name no code (DIAL9_CPU_PROFILE_ENABLED=true records them)');

  if (request !== undefined) {
    lines.push('');
    if (request === null) lines.push('request: not found in the trace (or no longer remembered)');
    else lines.push(...renderBreakdown(request, rel, true));
  }

  // Explaining one request, only the findings that ran for it or delayed it belong beside it.
  const findings =
    request == null
      ? report.findings
      : report.findings.filter((f) => f.requests.some((r) => r.requestId === request.requestId));
  lines.push('');
  if (findings.length === 0)
    lines.push(request == null ? 'findings: none (no red flags)' : 'findings about this request: none');
  else if (request == null) lines.push(`findings (${findings.length}), worst first:`);
  else
    lines.push(
      `findings about this request (${findings.length} of ${report.findings.length}; all of them without --request):`,
    );
  findings.forEach((finding, i) => {
    lines.push(...renderFinding(finding, i + 1, rel));
  });

  if (report.slowRequests.length > 0 && request === undefined) {
    lines.push('', 'slowest requests:');
    for (const b of report.slowRequests) lines.push(...renderBreakdown(b, rel, false).map((l) => `  ${l}`));
  }
  return `${lines.join('\n')}\n`;
}

function renderFinding(f: Finding, index: number, rel: (ms: number) => string): string[] {
  const out: string[] = [];
  out.push(
    `${index}. [${f.severity}] ${f.kind} at ${rel(f.startMs)} for ${f.durationMs.toFixed(1)} ms${f.pid === undefined ? '' : ` (pid ${f.pid})`}`,
  );
  out.push(`   ${f.summary}`);
  const evidence = Object.entries(f.evidence)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  if (evidence !== '') out.push(`   evidence: ${evidence}`);
  if (f.stack.length > 0) {
    out.push('   stack (leaf first):');
    for (const frame of f.stack.slice(0, FRAMES_SHOWN)) out.push(`     ${frameLabel(frame)}`);
  }
  if (f.requests.length > 0) {
    out.push('   requests:');
    for (const r of f.requests.slice(0, REQUESTS_SHOWN)) out.push(`     ${requestLine(r)}`);
    if (f.requests.length > REQUESTS_SHOWN) out.push(`     … ${f.requests.length - REQUESTS_SHOWN} more in --json`);
  }
  return out;
}

function requestLine(r: RequestRef): string {
  const role = r.role === undefined ? '' : ` (${r.role})`;
  const path = r.path !== undefined && !r.operation.includes(r.path) ? ` ${r.path}` : '';
  const wide = r.wideEvent === undefined ? '' : ` wide event: ${wideSummary(r.wideEvent)}`;
  return `${r.requestId} ${r.operation}${path} ${r.status} ${r.durationMs.toFixed(1)} ms${role}${wide}`;
}

function wideSummary(wide: Record<string, unknown>): string {
  const keys = ['StatusCode', 'Duration', 'ErrorKind', 'DownstreamDuration', 'DownstreamErrorKind'];
  return keys
    .filter((k) => wide[k] !== undefined)
    .map((k) => `${k}=${String(wide[k])}`)
    .join(' ');
}

function renderBreakdown(b: RequestBreakdown, rel: (ms: number) => string, detailed: boolean): string[] {
  const p = b.parts;
  const pct = (v: number) => (b.durationMs > 0 ? `${Math.round((v / b.durationMs) * 100)}%` : '-');
  const out: string[] = [];
  out.push(`request ${b.requestId} ${b.operation} ${b.status}: ${b.durationMs.toFixed(3)} ms from ${rel(b.startMs)}`);
  out.push(
    `  own CPU ${p.ownCpuMs.toFixed(1)} ms (${pct(p.ownCpuMs)}), queued ${p.queuedMs.toFixed(1)} ms (${pct(p.queuedMs)}), GC ${p.gcMs.toFixed(1)} ms (${pct(p.gcMs)}), I/O wait ${p.ioWaitMs.toFixed(1)} ms (${pct(p.ioWaitMs)}), unknown ${p.unknownMs.toFixed(1)} ms (${pct(p.unknownMs)})`,
  );
  for (const q of b.queuedBehind.slice(0, detailed ? 10 : 2)) {
    const who =
      q.request === undefined ? 'no request of its own' : `ran for ${q.request.requestId} ${q.request.operation}`;
    out.push(`  queued behind ${q.site} at ${rel(q.startMs)} (${q.durationMs.toFixed(1)} ms, ${who})`);
  }
  for (const o of b.outgoing.slice(0, detailed ? 10 : 2)) {
    out.push(
      `  waited on ${o.method} ${o.origin}${o.path} ${o.status}${o.error === undefined ? '' : ` ${o.error}`}: ${o.durationMs.toFixed(1)} ms`,
    );
  }
  if (detailed && b.wideEvent !== undefined) out.push(`  wide event: ${JSON.stringify(b.wideEvent)}`);
  return out;
}

function n(value: number): string {
  return value.toLocaleString('en-US');
}
