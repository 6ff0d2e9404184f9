/**
 * Explains one request: its wall time split into its own CPU, time queued behind other work, GC,
 * waiting on its outgoing requests, and an explicit unknown. The split is a partition of the
 * request's interval [close − Duration, close]: every instant gets the first label that covers it, in
 * the order GC, own work, other work, I/O wait; what is left is unknown. So the parts add up to the
 * duration exactly, and what the trace cannot see is said, not spread around.
 *
 * Work comes from stalls (always on; only stretches over the stall threshold, so short slices of
 * work are in unknown) and, when callback tracking was on, from callbacks of 1 ms and more.
 */
import type { StallViews } from './attribution.js';
import type { Callback, Req, Stall } from './model.js';
import { requestRef, round3 } from './requests.js';
import { lowerBound, type StackStore } from './stacks.js';
import type { OutgoingRef, QueuedBehind, RequestBreakdown } from './types.js';

export interface BreakdownSources {
  /** Sorted by start. */
  readonly stalls: readonly Stall[];
  readonly stallStarts: Float64Array;
  /** Sorted by start. */
  readonly callbacks: readonly Callback[];
  readonly callbackStarts: Float64Array;
  readonly gc: { time: Float64Array; duration: Float64Array };
  readonly views: StallViews;
  readonly stacks: StackStore;
  readonly callbackTracking: boolean;
  /** Longest stall or callback: how far before the request a covering one may start. */
  readonly longestWorkUs: number;
}

const GC = 0;
const OWN = 1;
const OTHER = 2;
const IO = 3;

interface Piece {
  readonly from: number;
  readonly to: number;
  readonly label: number;
  /** For OTHER: which queuedBehind entry it belongs to. */
  readonly item: number;
}

const MAX_QUEUED_LISTED = 20;

export function explainRequest(req: Req, sources: BreakdownSources): RequestBreakdown {
  const durationMs = wideDurationMs(req) ?? req.durationUs / 1000;
  const from = req.endUs - req.durationUs;
  const to = req.endUs;
  const pieces: Piece[] = [];
  const queued: (QueuedBehind & { overlapUs: number })[] = [];
  const clip = (a: number, b: number) => [Math.max(a, from), Math.min(b, to)] as const;

  // GC pauses
  const gc = sources.gc;
  for (let i = Math.max(0, lowerBound(gc.time, from - 1_000_000)); i < gc.time.length; i++) {
    const start = gc.time[i] as number;
    if (start > to) break;
    const [a, b] = clip(start, start + (gc.duration[i] as number));
    if (b > a) pieces.push({ from: a, to: b, label: GC, item: -1 });
  }
  // Stalls
  const firstStall = lowerBound(sources.stallStarts, from - sources.longestWorkUs);
  for (let i = firstStall; i < sources.stalls.length; i++) {
    const stall = sources.stalls[i] as Stall;
    if (stall.startUs > to) break;
    const [a, b] = clip(stall.startUs, stall.endUs);
    if (b <= a) continue;
    const view = sources.views.of(stall);
    if (view.ranFor === req) pieces.push({ from: a, to: b, label: OWN, item: -1 });
    else {
      pieces.push({ from: a, to: b, label: OTHER, item: queued.length });
      queued.push({
        startMs: round3(stall.startUs / 1000),
        durationMs: round3(stall.durationUs / 1000),
        site: view.site,
        stack: view.sites?.stack ?? [],
        ...(view.ranFor === undefined ? {} : { request: requestRef(view.ranFor, 'ran') }),
        overlapUs: 0,
      });
    }
  }
  // Callbacks (opt-in tracking)
  const firstCallback = lowerBound(sources.callbackStarts, from - sources.longestWorkUs);
  for (let i = firstCallback; i < sources.callbacks.length; i++) {
    const cb = sources.callbacks[i] as Callback;
    if (cb.startUs > to) break;
    const [a, b] = clip(cb.startUs, cb.startUs + cb.durationUs);
    if (b <= a) continue;
    if (cb.requestRef === req) pieces.push({ from: a, to: b, label: OWN, item: -1 });
    else if (cb.requestRef !== undefined) {
      pieces.push({ from: a, to: b, label: OTHER, item: queued.length });
      const sites = sources.stacks.sitesIn(cb.startUs, cb.startUs + cb.durationUs);
      queued.push({
        startMs: round3(cb.startUs / 1000),
        durationMs: round3(cb.durationUs / 1000),
        site: sites?.site ?? `${cb.type} callback`,
        stack: sites?.stack ?? [],
        request: requestRef(cb.requestRef, 'ran'),
        overlapUs: 0,
      });
    }
  }
  // Outgoing requests
  const outgoing: OutgoingRef[] = [];
  for (const out of req.outgoing ?? []) {
    const end = Number.isNaN(out.endUs) ? to : out.endUs;
    const [a, b] = clip(out.startUs, end);
    if (b > a) pieces.push({ from: a, to: b, label: IO, item: -1 });
    outgoing.push({
      startMs: round3(out.startUs / 1000),
      durationMs: round3((end - out.startUs) / 1000),
      method: out.method,
      origin: out.origin,
      path: out.path,
      status: out.status,
      ...(out.error === '' ? {} : { error: out.error }),
    });
  }

  const totals = partition(pieces, from, to, queued);
  const scale = req.durationUs > 0 ? durationMs / (req.durationUs / 1000) : 1;
  const ms = (us: number) => round3((us / 1000) * scale);
  const ownCpuMs = ms(totals[OWN] as number);
  const queuedMs = ms(totals[OTHER] as number);
  const gcMs = ms(totals[GC] as number);
  const ioWaitMs = ms(totals[IO] as number);
  const unknownMs = round3(Math.max(0, durationMs - ownCpuMs - queuedMs - gcMs - ioWaitMs));

  const breakdown: RequestBreakdown = {
    requestId: req.requestId,
    operation: req.operation,
    status: req.status,
    startMs: round3(from / 1000),
    durationMs: round3(durationMs),
    parts: { ownCpuMs, queuedMs, gcMs, ioWaitMs, unknownMs },
    queuedBehind: queued
      .filter((q) => q.overlapUs > 0)
      .sort((a, b) => b.overlapUs - a.overlapUs)
      .slice(0, MAX_QUEUED_LISTED)
      .map(({ overlapUs, ...q }) => ({ ...q, overlapMs: round3(overlapUs / 1000) })),
    outgoing,
    fidelity: sources.callbackTracking ? 'stalls and callbacks' : 'stalls',
  };
  if (req.wideEvent !== undefined) breakdown.wideEvent = req.wideEvent;
  return breakdown;
}

/** Time per label over [from, to], first covering label wins; fills each queued item's overlap. */
function partition(
  pieces: readonly Piece[],
  from: number,
  to: number,
  queued: { overlapUs: number }[],
): [number, number, number, number] {
  const totals: [number, number, number, number] = [0, 0, 0, 0];
  if (pieces.length === 0 || to <= from) return totals;
  const cuts = new Set<number>([from, to]);
  for (const p of pieces) {
    cuts.add(p.from);
    cuts.add(p.to);
  }
  const sorted = [...cuts].sort((a, b) => a - b);
  const byLabel = [...pieces].sort((a, b) => a.label - b.label || a.from - b.from);
  for (let i = 0; i + 1 < sorted.length; i++) {
    const a = sorted[i] as number;
    const b = sorted[i + 1] as number;
    const mid = (a + b) / 2;
    const cover = byLabel.find((p) => p.from <= mid && p.to >= mid);
    if (cover === undefined) continue;
    totals[cover.label as 0 | 1 | 2 | 3] += b - a;
    if (cover.label === OTHER && cover.item >= 0) (queued[cover.item] as { overlapUs: number }).overlapUs += b - a;
  }
  return totals;
}

/** The wide event's Duration (ms) when a metrics.log was joined. */
function wideDurationMs(req: Req): number | undefined {
  const wide = req.wideEvent;
  if (wide === undefined) return undefined;
  const value = wide.Duration;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
