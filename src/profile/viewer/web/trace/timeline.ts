/**
 * The timeline: one canvas, one time axis, a lane per kind of event. Lanes that can hold millions of
 * items (requests, CPU samples) draw merged runs per pixel, so a frame costs one pass over what is
 * visible. Wide views (or before a window is loaded) draw from the one-second overview instead.
 */
import type { OverviewData, PointOfInterest, WindowData } from './protocol.js';

export interface View {
  fromMs: number;
  toMs: number;
}

export type Hit =
  | { kind: 'stall'; startMs: number; durationMs: number }
  | { kind: 'gc'; startMs: number; durationMs: number }
  | { kind: 'request'; seq: number; startMs: number; durationMs: number };

export interface TimelineEvents {
  onView(view: View): void;
  onHit(hit: Hit | undefined): void;
  onRange(fromMs: number, toMs: number): void;
}

const GUTTER = 128;
const ROW = 14;
const MAX_OP_ROWS = 8;

interface Lane {
  name: string;
  top: number;
  height: number;
}

const STATUS_COLOURS = { ok: '#3f9c5f', client: '#d9912b', server: '#d64545' };

function statusColour(status: number): string {
  return status >= 500 ? STATUS_COLOURS.server : status >= 400 ? STATUS_COLOURS.client : STATUS_COLOURS.ok;
}

export function stallColour(ms: number): string {
  return ms >= 200 ? '#b3261e' : ms >= 50 ? '#e06c2b' : '#e5b93b';
}

function hashColour(n: number): string {
  const hue = (n * 137.508) % 360;
  return `hsl(${hue.toFixed(0)} 55% 55%)`;
}

/** First index whose value is >= x in a sorted array. */
function lowerBound(values: Float64Array, x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class Timeline {
  readonly canvas: HTMLCanvasElement;
  view: View;
  data: WindowData | undefined;
  overview: OverviewData | undefined;
  points: PointOfInterest[] = [];
  selected: Hit | undefined;
  range: { fromMs: number; toMs: number } | undefined;
  /** The whole trace, for clamping and "fit". */
  bounds: View;
  /** Requests at least this long are drawn one by one in the "slow" row. */
  #slowMs = Number.POSITIVE_INFINITY;
  #maxReqMs = 0;
  #lanes: Lane[] = [];
  #ops: string[] = [];
  #events: TimelineEvents;
  #frameRequested = false;
  readonly frameTimes: number[] = [];

  constructor(canvas: HTMLCanvasElement, view: View, bounds: View, events: TimelineEvents) {
    this.canvas = canvas;
    this.view = view;
    this.bounds = bounds;
    this.#events = events;
    this.#layout();
    this.#listen();
  }

  setData(data: WindowData): void {
    this.data = data;
    this.#ops = data.ops.slice(0, MAX_OP_ROWS);
    let max = 0;
    for (const d of data.reqIn.dur) max = Math.max(max, d);
    this.#maxReqMs = max;
    // The slowest ~0.1% (and at least 20 ms) are drawn one by one.
    const sorted = Float64Array.from(data.reqIn.dur).sort();
    this.#slowMs = Math.max(20, sorted[Math.floor(sorted.length * 0.999)] ?? Number.POSITIVE_INFINITY);
    this.#layout();
    this.redraw();
  }

  setOverview(overview: OverviewData): void {
    this.overview = overview;
    this.redraw();
  }

  /** True when the window data covers the view (else the overview is drawn). */
  detailed(): boolean {
    const d = this.data;
    return d !== undefined && d.fromMs <= this.view.fromMs + 1e-6 && d.toMs >= this.view.toMs - 1e-6;
  }

  #layout(): void {
    const lanes: Lane[] = [];
    let y = 22;
    const add = (name: string, height: number) => {
      lanes.push({ name, top: y, height });
      y += height + 4;
    };
    add('main thread', 26);
    add('GC', 14);
    const opRows = Math.max(1, this.#ops.length);
    add('requests in', ROW * (opRows + 1));
    add('requests out', ROW);
    add('CPU samples', 16);
    this.#lanes = lanes;
    const ratio = window.devicePixelRatio || 1;
    const width = this.canvas.clientWidth || 800;
    this.canvas.style.height = `${y}px`;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(y * ratio);
  }

  lane(name: string): Lane {
    return this.#lanes.find((l) => l.name === name) as Lane;
  }

  xOf(ms: number): number {
    const width = this.canvas.clientWidth - GUTTER;
    return GUTTER + ((ms - this.view.fromMs) / (this.view.toMs - this.view.fromMs)) * width;
  }

  msOf(x: number): number {
    const width = this.canvas.clientWidth - GUTTER;
    return this.view.fromMs + ((x - GUTTER) / width) * (this.view.toMs - this.view.fromMs);
  }

  setView(view: View, notify = true): void {
    const span = Math.max(0.05, Math.min(view.toMs - view.fromMs, (this.bounds.toMs - this.bounds.fromMs) * 1.1));
    let from = view.fromMs;
    from = Math.max(this.bounds.fromMs - span * 0.05, Math.min(from, this.bounds.toMs - span * 0.95));
    this.view = { fromMs: from, toMs: from + span };
    this.redraw();
    if (notify) this.#events.onView(this.view);
  }

  redraw(): void {
    if (this.#frameRequested) return;
    this.#frameRequested = true;
    requestAnimationFrame(() => {
      this.#frameRequested = false;
      this.draw();
    });
  }

  draw(): void {
    const started = performance.now();
    const ctx = this.canvas.getContext('2d') as CanvasRenderingContext2D;
    const ratio = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(this.canvas.clientWidth * ratio)) this.#layout();
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const width = this.canvas.clientWidth;
    const height = this.canvas.height / ratio;
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = '#fbfbfa';
    ctx.fillRect(0, 0, width, height);
    this.#axis(ctx, width);
    ctx.save();
    ctx.beginPath();
    ctx.rect(GUTTER, 0, width - GUTTER, height);
    ctx.clip();
    if (this.detailed()) this.#drawDetail(ctx);
    else this.#drawOverview(ctx);
    this.#drawPoints(ctx);
    if (this.range !== undefined) {
      const x0 = this.xOf(this.range.fromMs);
      const x1 = this.xOf(this.range.toMs);
      ctx.fillStyle = 'rgba(60, 110, 200, 0.15)';
      ctx.fillRect(x0, 18, Math.max(1, x1 - x0), height);
      ctx.strokeStyle = 'rgba(60, 110, 200, 0.8)';
      ctx.strokeRect(x0, 18, Math.max(1, x1 - x0), height - 18);
    }
    ctx.restore();
    this.#labels(ctx);
    this.frameTimes.push(performance.now() - started);
    if (this.frameTimes.length > 500) this.frameTimes.splice(0, 250);
  }

  #labels(ctx: CanvasRenderingContext2D): void {
    ctx.fillStyle = '#f0efeb';
    ctx.fillRect(0, 18, GUTTER - 4, this.canvas.height);
    ctx.fillStyle = '#333';
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    for (const lane of this.#lanes) {
      if (lane.name === 'requests in') {
        const slow = this.#slowMs === Number.POSITIVE_INFINITY ? '' : ` ≥ ${this.#slowMs.toFixed(0)} ms`;
        ctx.fillText(`requests in${slow}`, 6, lane.top + ROW / 2);
        ctx.fillStyle = '#666';
        this.#ops.forEach((op, i) => {
          ctx.fillText(op.slice(0, 19), 14, lane.top + ROW * (i + 1) + ROW / 2);
        });
        ctx.fillStyle = '#333';
      } else ctx.fillText(lane.name, 6, lane.top + Math.min(lane.height, ROW) / 2 + (lane.height > ROW ? 6 : 0));
    }
  }

  #axis(ctx: CanvasRenderingContext2D, width: number): void {
    const span = this.view.toMs - this.view.fromMs;
    const target = span / ((width - GUTTER) / 110);
    const steps = [
      0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000,
      120_000, 300_000,
    ];
    const step = steps.find((s) => s >= target) ?? 600_000;
    ctx.fillStyle = '#555';
    ctx.font = '10px system-ui, sans-serif';
    ctx.textBaseline = 'top';
    ctx.strokeStyle = '#e4e2dc';
    const origin = this.bounds.fromMs;
    for (let t = Math.ceil((this.view.fromMs - origin) / step) * step + origin; t <= this.view.toMs; t += step) {
      const x = this.xOf(t);
      if (x < GUTTER) continue;
      ctx.beginPath();
      ctx.moveTo(x + 0.5, 14);
      ctx.lineTo(x + 0.5, this.canvas.height);
      ctx.stroke();
      const rel = t - origin;
      ctx.fillText(
        rel >= 1000 ? `${(rel / 1000).toFixed(step < 1000 ? 2 : 0)} s` : `${rel.toFixed(step < 1 ? 2 : 0)} ms`,
        x + 2,
        3,
      );
    }
  }

  #bar(
    ctx: CanvasRenderingContext2D,
    startMs: number,
    durMs: number,
    top: number,
    height: number,
    minWidth = 1,
  ): [number, number] {
    const x0 = this.xOf(startMs);
    const x1 = Math.max(this.xOf(startMs + durMs), x0 + minWidth);
    ctx.fillRect(x0, top, x1 - x0, height);
    return [x0, x1];
  }

  #drawDetail(ctx: CanvasRenderingContext2D): void {
    const d = this.data as WindowData;
    const { fromMs, toMs } = this.view;
    const main = this.lane('main thread');
    // Idle: each loop sample covers the 100 ms before it; the less utilised, the greener.
    for (let i = 0; i < d.loop.time.length; i++) {
      const t = d.loop.time[i] as number;
      if (t < fromMs || t - 100 > toMs) continue;
      const idle = 1 - (d.loop.elu[i] as number) / 100;
      ctx.fillStyle = `rgba(80, 170, 110, ${(idle * 0.35).toFixed(3)})`;
      this.#bar(ctx, t - 100, 100, main.top, main.height);
    }
    for (let i = 0; i < d.callbacks.start.length; i++) {
      const s = d.callbacks.start[i] as number;
      const dur = d.callbacks.dur[i] as number;
      if (s > toMs || s + dur < fromMs) continue;
      ctx.fillStyle = stallColour(dur);
      this.#bar(ctx, s, dur, main.top + main.height / 2, main.height / 2);
    }
    for (let i = 0; i < d.stalls.start.length; i++) {
      const s = d.stalls.start[i] as number;
      const dur = d.stalls.dur[i] as number;
      if (s > toMs || s + dur < fromMs) continue;
      ctx.fillStyle = stallColour(dur);
      const [x0, x1] = this.#bar(ctx, s, dur, main.top, main.height, 2);
      if (this.selected?.kind === 'stall' && Math.abs(this.selected.startMs - s) < 0.002) {
        ctx.strokeStyle = '#111';
        ctx.lineWidth = 2;
        ctx.strokeRect(x0 - 1, main.top - 1, x1 - x0 + 2, main.height + 2);
        ctx.lineWidth = 1;
      }
    }
    const gcLane = this.lane('GC');
    for (let i = 0; i < d.gc.start.length; i++) {
      const s = d.gc.start[i] as number;
      const dur = d.gc.dur[i] as number;
      if (s > toMs || s + dur < fromMs) continue;
      ctx.fillStyle = (d.gc.kind[i] as number) === 4 ? '#7b4fb0' : '#9a9aa8';
      this.#bar(ctx, s, dur, gcLane.top, gcLane.height, 1);
    }
    this.#drawRequests(ctx, d);
    const out = this.lane('requests out');
    for (let i = 0; i < d.reqOut.start.length; i++) {
      const s = d.reqOut.start[i] as number;
      const dur = d.reqOut.dur[i] as number;
      if (s > toMs || s + dur < fromMs) continue;
      ctx.fillStyle =
        (d.reqOut.failed[i] as number) === 1 ? STATUS_COLOURS.server : statusColour(d.reqOut.status[i] as number);
      this.#bar(ctx, s, dur, out.top + 1, ROW - 2);
    }
    const cpuLane = this.lane('CPU samples');
    let lastX = -1;
    for (let i = lowerBound(d.cpu.time, fromMs); i < d.cpu.time.length; i++) {
      const t = d.cpu.time[i] as number;
      if (t > toMs) break;
      const x = Math.floor(this.xOf(t));
      if (x === lastX) continue;
      lastX = x;
      ctx.fillStyle = hashColour(d.cpu.fn[i] as number);
      ctx.fillRect(x, cpuLane.top, 1, cpuLane.height);
    }
  }

  /**
   * One row per operation. Each pixel column of a row takes the worst status class of the requests
   * that cover it (5xx over 4xx over the rest), then equal columns are drawn as one rectangle: a
   * frame costs one pass over the visible requests plus the row's width, however statuses interleave.
   * The slowest are then drawn one by one on top.
   */
  #drawRequests(ctx: CanvasRenderingContext2D, d: WindowData): void {
    const lane = this.lane('requests in');
    const { fromMs, toMs } = this.view;
    const rows = this.#ops.length;
    const left = this.xOf(fromMs);
    const width = Math.max(1, Math.ceil(this.xOf(toMs) - left));
    const columns = new Uint8Array(width * Math.max(1, rows));
    const { start, dur, status, op } = d.reqIn;
    const slow: number[] = [];
    const pxPerMs = width / (toMs - fromMs);
    for (let i = lowerBound(start, fromMs - this.#maxReqMs); i < start.length; i++) {
      const s = start[i] as number;
      if (s > toMs) break;
      const ms = dur[i] as number;
      if (s + ms < fromMs) continue;
      if (ms >= this.#slowMs) slow.push(i);
      const row = Math.min(op[i] as number, rows - 1);
      const code = status[i] as number;
      const cls = code >= 500 ? 3 : code >= 400 ? 2 : 1;
      const c0 = Math.max(0, Math.floor((s - fromMs) * pxPerMs));
      const c1 = Math.min(width - 1, Math.floor((s + ms - fromMs) * pxPerMs));
      const base = row * width;
      for (let c = c0; c <= c1; c++) if ((columns[base + c] as number) < cls) columns[base + c] = cls;
    }
    const colours = ['', STATUS_COLOURS.ok, STATUS_COLOURS.client, STATUS_COLOURS.server];
    for (let row = 0; row < rows; row++) {
      const base = row * width;
      const y = lane.top + ROW * (row + 1) + 1;
      for (let c = 0; c < width; ) {
        const cls = columns[base + c] as number;
        let end = c + 1;
        while (end < width && columns[base + end] === cls) end++;
        if (cls > 0) {
          ctx.fillStyle = colours[cls] as string;
          ctx.fillRect(left + c, y, end - c, ROW - 2);
        }
        c = end;
      }
    }
    for (const i of slow) {
      ctx.fillStyle = statusColour(status[i] as number);
      const [x0, x1] = this.#bar(ctx, start[i] as number, dur[i] as number, lane.top + 2, ROW - 4, 2);
      const sel = this.selected;
      if (sel?.kind === 'request' && sel.seq === d.reqIn.seq[i]) {
        ctx.strokeStyle = '#111';
        ctx.lineWidth = 2;
        ctx.strokeRect(x0 - 1, lane.top + 1, x1 - x0 + 2, ROW - 2);
        ctx.lineWidth = 1;
      }
    }
  }

  #drawOverview(ctx: CanvasRenderingContext2D): void {
    const o = this.overview;
    if (o === undefined) return;
    const { fromMs, toMs } = this.view;
    const main = this.lane('main thread');
    for (const s of o.stalls) {
      if (s.startMs > toMs || s.startMs + s.durationMs < fromMs) continue;
      ctx.fillStyle = stallColour(s.durationMs);
      this.#bar(ctx, s.startMs, s.durationMs, main.top, main.height, 2);
    }
    const gcLane = this.lane('GC');
    for (const g of o.gc) {
      if (g.startMs > toMs || g.startMs + g.durationMs < fromMs) continue;
      ctx.fillStyle = g.kind === 4 ? '#7b4fb0' : '#9a9aa8';
      this.#bar(ctx, g.startMs, g.durationMs, gcLane.top, gcLane.height, 1);
    }
    // Requests a second as a bar chart, the worst duration of each second as a line.
    const lane = this.lane('requests in');
    const { count, maxDurMs, errors } = o.perSecond;
    let peak = 1;
    for (const c of count) peak = Math.max(peak, c);
    const first = Math.max(0, Math.floor((fromMs - o.perSecondStartMs) / 1000));
    const last = Math.min(count.length - 1, Math.ceil((toMs - o.perSecondStartMs) / 1000));
    for (let s = first; s <= last; s++) {
      const c = count[s] ?? 0;
      const h = (c / peak) * (lane.height - 2);
      ctx.fillStyle = (errors[s] ?? 0) > 0 ? STATUS_COLOURS.server : STATUS_COLOURS.ok;
      const x0 = this.xOf(o.perSecondStartMs + s * 1000);
      const x1 = this.xOf(o.perSecondStartMs + (s + 1) * 1000);
      ctx.fillRect(x0, lane.top + lane.height - h, Math.max(1, x1 - x0 - 0.5), h);
    }
    let worst = 1;
    for (let s = first; s <= last; s++) worst = Math.max(worst, maxDurMs[s] ?? 0);
    ctx.strokeStyle = '#333';
    ctx.beginPath();
    for (let s = first; s <= last; s++) {
      const x = this.xOf(o.perSecondStartMs + (s + 0.5) * 1000);
      const y = lane.top + lane.height - ((maxDurMs[s] ?? 0) / worst) * (lane.height - 2);
      if (s === first) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    }
    ctx.stroke();
  }

  #drawPoints(ctx: CanvasRenderingContext2D): void {
    for (const p of this.points) {
      if (p.startMs > this.view.toMs || p.startMs + p.durationMs < this.view.fromMs) continue;
      const x = this.xOf(p.startMs);
      ctx.fillStyle = p.severity === 'critical' ? '#b3261e' : p.severity === 'warning' ? '#e06c2b' : '#888';
      ctx.beginPath();
      ctx.moveTo(x - 4, 14);
      ctx.lineTo(x + 4, 14);
      ctx.lineTo(x, 20);
      ctx.fill();
    }
  }

  hitTest(x: number, y: number): Hit | undefined {
    const ms = this.msOf(x);
    const slackMs = (3 * (this.view.toMs - this.view.fromMs)) / (this.canvas.clientWidth - GUTTER);
    const within = (lane: Lane) => y >= lane.top && y <= lane.top + lane.height;
    const main = this.lane('main thread');
    const covering = (starts: ArrayLike<number>, durs: ArrayLike<number>): number => {
      let best = -1;
      for (let i = 0; i < starts.length; i++) {
        const s = starts[i] as number;
        if (ms >= s - slackMs && ms <= s + (durs[i] as number) + slackMs) {
          if (best === -1 || (durs[i] as number) > (durs[best] as number)) best = i;
        }
      }
      return best;
    };
    if (within(main)) {
      const stalls = this.detailed() ? this.data?.stalls : undefined;
      const starts = stalls?.start ?? Float64Array.from(this.overview?.stalls ?? [], (s) => s.startMs);
      const durs = stalls?.dur ?? Float64Array.from(this.overview?.stalls ?? [], (s) => s.durationMs);
      const i = covering(starts, durs);
      if (i !== -1) return { kind: 'stall', startMs: starts[i] as number, durationMs: durs[i] as number };
    }
    const gcLane = this.lane('GC');
    if (within(gcLane) && this.detailed() && this.data !== undefined) {
      const i = covering(this.data.gc.start, this.data.gc.dur);
      if (i !== -1)
        return { kind: 'gc', startMs: this.data.gc.start[i] as number, durationMs: this.data.gc.dur[i] as number };
    }
    const lane = this.lane('requests in');
    if (within(lane) && this.detailed() && this.data !== undefined) {
      const row = Math.floor((y - lane.top) / ROW) - 1;
      const { start, dur, op, seq } = this.data.reqIn;
      let best = -1;
      for (let i = lowerBound(start, ms - this.#maxReqMs - slackMs); i < start.length; i++) {
        const s = start[i] as number;
        if (s > ms + slackMs) break;
        if (ms > s + (dur[i] as number) + slackMs) continue;
        if (row === -1 ? (dur[i] as number) < this.#slowMs : Math.min(op[i] as number, this.#ops.length - 1) !== row)
          continue;
        if (best === -1 || (dur[i] as number) > (dur[best] as number)) best = i;
      }
      if (best !== -1)
        return {
          kind: 'request',
          seq: seq[best] as number,
          startMs: start[best] as number,
          durationMs: dur[best] as number,
        };
    }
    return undefined;
  }

  #listen(): void {
    const canvas = this.canvas;
    canvas.addEventListener(
      'wheel',
      (event) => {
        event.preventDefault();
        const { fromMs, toMs } = this.view;
        const span = toMs - fromMs;
        if (event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
          const delta = ((event.shiftKey ? event.deltaY : event.deltaX) / canvas.clientWidth) * span;
          this.setView({ fromMs: fromMs + delta, toMs: toMs + delta });
          return;
        }
        const at = this.msOf(event.offsetX);
        const factor = Math.exp(event.deltaY * 0.002);
        this.setView({ fromMs: at - (at - fromMs) * factor, toMs: at + (toMs - at) * factor });
      },
      { passive: false },
    );
    let drag: { x: number; view: View; range: boolean; moved: boolean } | undefined;
    canvas.addEventListener('mousedown', (event) => {
      drag = { x: event.offsetX, view: { ...this.view }, range: event.shiftKey, moved: false };
    });
    window.addEventListener('mousemove', (event) => {
      if (drag === undefined) return;
      const x = event.clientX - canvas.getBoundingClientRect().left;
      if (Math.abs(x - drag.x) > 3) drag.moved = true;
      if (!drag.moved) return;
      if (drag.range) {
        const a = this.msOf(drag.x);
        const b = this.msOf(x);
        this.range = { fromMs: Math.min(a, b), toMs: Math.max(a, b) };
        this.redraw();
      } else {
        const deltaMs = ((drag.x - x) / (canvas.clientWidth - GUTTER)) * (drag.view.toMs - drag.view.fromMs);
        this.setView({ fromMs: drag.view.fromMs + deltaMs, toMs: drag.view.toMs + deltaMs });
      }
    });
    window.addEventListener('mouseup', (event) => {
      if (drag === undefined) return;
      const was = drag;
      drag = undefined;
      if (was.moved && was.range && this.range !== undefined) this.#events.onRange(this.range.fromMs, this.range.toMs);
      if (!was.moved && event.target === canvas) this.#events.onHit(this.hitTest(event.offsetX, event.offsetY));
    });
  }
}
