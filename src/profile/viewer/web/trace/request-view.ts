/**
 * One request on its own timeline: where its wall time went. Without the analysis this is an
 * estimate from the loaded window: main-thread work of this request (own CPU), of other requests or
 * none (queued behind them), GC pauses, outgoing requests in flight (I/O wait), and the rest unknown.
 */
import type { RequestBreakdown } from '../../../analyze/types.js';
import { duration, h } from '../dom.js';
import type { RequestInfo, WindowData } from './protocol.js';
import { stallColour } from './timeline.js';

export interface Breakdown {
  ownCpuMs: number;
  queuedMs: number;
  gcMs: number;
  ioWaitMs: number;
  unknownMs: number;
}

export interface Segment {
  startMs: number;
  durationMs: number;
  kind: keyof Breakdown;
  label: string;
}

const COLOURS: Record<keyof Breakdown, string> = {
  ownCpuMs: '#3c6ec8',
  queuedMs: '#e06c2b',
  gcMs: '#7b4fb0',
  ioWaitMs: '#3f9c5f',
  unknownMs: '#c8c6c0',
};
const LABELS: Record<keyof Breakdown, string> = {
  ownCpuMs: 'own CPU',
  queuedMs: 'queued behind other callbacks',
  gcMs: 'GC',
  ioWaitMs: 'I/O wait',
  unknownMs: 'unknown',
};

/** Intervals in the request's time, by kind; an earlier kind wins where they overlap. */
export function estimate(
  request: RequestInfo,
  data: WindowData | undefined,
): { parts: Breakdown; segments: Segment[] } {
  const from = request.startMs;
  const to = request.startMs + request.durationMs;
  const segments: Segment[] = [];
  const clip = (s: number, d: number): [number, number] | undefined => {
    const a = Math.max(from, s);
    const b = Math.min(to, s + d);
    return b > a ? [a, b - a] : undefined;
  };
  if (data !== undefined) {
    for (let i = 0; i < data.gc.start.length; i++) {
      const c = clip(data.gc.start[i] as number, data.gc.dur[i] as number);
      if (c) segments.push({ startMs: c[0], durationMs: c[1], kind: 'gcMs', label: 'GC pause' });
    }
    for (let i = 0; i < data.stalls.start.length; i++) {
      const c = clip(data.stalls.start[i] as number, data.stalls.dur[i] as number);
      if (!c) continue;
      const own = data.stalls.req[i] === request.seq;
      segments.push({
        startMs: c[0],
        durationMs: c[1],
        kind: own ? 'ownCpuMs' : 'queuedMs',
        label: own
          ? 'its own long callback'
          : `behind a ${duration(data.stalls.dur[i] as number)} callback${(data.stalls.req[i] as number) > 0 ? ' of another request' : ''}`,
      });
    }
    for (let i = 0; i < data.reqOut.start.length; i++) {
      const c = clip(data.reqOut.start[i] as number, data.reqOut.dur[i] as number);
      if (c) segments.push({ startMs: c[0], durationMs: c[1], kind: 'ioWaitMs', label: 'outgoing request in flight' });
    }
  }
  // Sum by kind without double counting: walk 0.01 ms steps? No: sweep the sorted edges.
  const order: (keyof Breakdown)[] = ['gcMs', 'ownCpuMs', 'queuedMs', 'ioWaitMs'];
  const edges = [...new Set([from, to, ...segments.flatMap((s) => [s.startMs, s.startMs + s.durationMs])])].sort(
    (a, b) => a - b,
  );
  const parts: Breakdown = { ownCpuMs: 0, queuedMs: 0, gcMs: 0, ioWaitMs: 0, unknownMs: 0 };
  for (let e = 0; e + 1 < edges.length; e++) {
    const a = edges[e] as number;
    const b = edges[e + 1] as number;
    const mid = (a + b) / 2;
    const covering = segments.filter((s) => s.startMs <= mid && s.startMs + s.durationMs >= mid).map((s) => s.kind);
    const kind = order.find((k) => covering.includes(k)) ?? 'unknownMs';
    parts[kind] += b - a;
  }
  return { parts, segments };
}

export function renderBreakdown(parts: Breakdown, totalMs: number, source: string): HTMLElement {
  const bar = h('div', { class: 'breakdown-bar' });
  for (const kind of Object.keys(COLOURS) as (keyof Breakdown)[]) {
    const ms = parts[kind];
    if (ms <= 0) continue;
    bar.append(
      h('span', {
        style: `width:${((100 * ms) / Math.max(totalMs, 1e-9)).toFixed(2)}%;background:${COLOURS[kind]}`,
        title: `${LABELS[kind]} ${duration(ms)}`,
      }),
    );
  }
  return h(
    'div',
    { class: 'breakdown', 'data-source': source },
    bar,
    h(
      'table',
      { class: 'breakdown-table' },
      h(
        'tbody',
        {},
        ...(Object.keys(COLOURS) as (keyof Breakdown)[]).map((kind) =>
          h(
            'tr',
            { 'data-part': kind },
            h('td', {}, h('i', { style: `background:${COLOURS[kind]}` }), LABELS[kind]),
            h('td', {}, duration(parts[kind])),
          ),
        ),
      ),
    ),
    h('p', { class: 'dim' }, source),
  );
}

/** The request's own timeline: its span and what overlapped it, one row per kind. */
function requestTimeline(request: RequestInfo, segments: readonly Segment[]): HTMLCanvasElement {
  const canvas = h('canvas', { class: 'request-timeline' });
  requestAnimationFrame(() => {
    const width = canvas.clientWidth || 360;
    const rows = 5;
    const height = rows * 14 + 4;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    canvas.style.height = `${height}px`;
    const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const x = (ms: number) => ((ms - request.startMs) / Math.max(request.durationMs, 1e-6)) * width;
    ctx.fillStyle = '#3f9c5f';
    ctx.fillRect(0, 2, width, 10);
    const rowOf: Record<keyof Breakdown, number> = { ownCpuMs: 1, queuedMs: 2, gcMs: 3, ioWaitMs: 4, unknownMs: 4 };
    for (const s of segments) {
      ctx.fillStyle = s.kind === 'queuedMs' ? stallColour(s.durationMs) : COLOURS[s.kind];
      ctx.fillRect(x(s.startMs), 2 + rowOf[s.kind] * 14, Math.max(1, x(s.startMs + s.durationMs) - x(s.startMs)), 10);
    }
  });
  return canvas;
}

/** The analysis's breakdown as the same parts and timeline segments. */
export function fromAnalysis(b: RequestBreakdown): { parts: Breakdown; segments: Segment[]; notes: string[] } {
  const segments: Segment[] = [
    ...b.queuedBehind.map((q) => ({
      startMs: q.startMs,
      durationMs: q.durationMs,
      kind: 'queuedMs' as const,
      label: `behind ${q.site} for ${duration(q.overlapMs ?? q.durationMs)}${q.request ? ` (request ${q.request.requestId} ${q.request.operation})` : ''}`,
    })),
    ...b.outgoing.map((o) => ({
      startMs: o.startMs,
      durationMs: o.durationMs,
      kind: 'ioWaitMs' as const,
      label: `${o.method} ${o.origin}${o.path} → ${o.error ?? o.status}`,
    })),
  ];
  return { parts: { ...b.parts }, segments, notes: b.notes ?? [] };
}

export function renderRequest(
  request: RequestInfo,
  data: WindowData | undefined,
  analysis?: RequestBreakdown | undefined,
): HTMLElement {
  const local = estimate(request, data);
  const { parts, segments } = analysis === undefined ? local : fromAnalysis(analysis);
  const source =
    analysis === undefined
      ? 'estimate from the loaded window (main-thread stalls, GC, outgoing requests); the analysis is not ready'
      : `the analysis (service profile analyze --request ${request.requestId})${analysis.fidelity ? `, measured from ${analysis.fidelity}` : ''}`;
  return h(
    'div',
    {
      class: 'request-view',
      'data-request-id': request.requestId,
      'data-source': analysis === undefined ? 'estimate' : 'analysis',
    },
    h('h4', {}, 'Where its time went'),
    renderBreakdown(parts, request.durationMs, source),
    ...(analysis?.notes ?? []).map((note) => h('p', { class: 'dim' }, note)),
    requestTimeline(request, segments),
    segments.filter((s) => s.kind === 'queuedMs' || s.kind === 'ioWaitMs').length === 0
      ? ''
      : h(
          'ul',
          { class: 'queued' },
          ...segments
            .filter((s) => s.kind === 'queuedMs' || s.kind === 'ioWaitMs')
            .map((s) =>
              h('li', { 'data-kind': s.kind }, `${s.label} at +${duration(Math.max(0, s.startMs - request.startMs))}`),
            ),
        ),
  );
}
