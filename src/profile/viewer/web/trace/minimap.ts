/** The whole trace in one strip: requests a second, stalls, and where the view is. */
import type { OverviewData } from './protocol.js';
import { stallColour, type View } from './timeline.js';

export function drawMinimap(
  canvas: HTMLCanvasElement,
  overview: OverviewData | undefined,
  bounds: View,
  view: View,
): void {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 800;
  const height = 34;
  if (canvas.width !== Math.round(width * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.height = `${height}px`;
  }
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.fillStyle = '#f0efeb';
  ctx.fillRect(0, 0, width, height);
  const span = Math.max(1, bounds.toMs - bounds.fromMs);
  const x = (ms: number) => ((ms - bounds.fromMs) / span) * width;
  if (overview !== undefined) {
    const { count } = overview.perSecond;
    let peak = 1;
    for (const c of count) peak = Math.max(peak, c);
    ctx.fillStyle = '#9cc7a9';
    for (let s = 0; s < count.length; s++) {
      const h = ((count[s] ?? 0) / peak) * (height - 4);
      const x0 = x(overview.perSecondStartMs + s * 1000);
      ctx.fillRect(x0, height - h, Math.max(1, x(overview.perSecondStartMs + (s + 1) * 1000) - x0), h);
    }
    for (const stall of overview.stalls) {
      ctx.fillStyle = stallColour(stall.durationMs);
      ctx.fillRect(x(stall.startMs), 0, Math.max(2, x(stall.startMs + stall.durationMs) - x(stall.startMs)), 10);
    }
    if (overview.segmentsDone < overview.segmentsTotal) {
      ctx.fillStyle = '#555';
      ctx.font = '10px system-ui, sans-serif';
      ctx.fillText(`overview: ${overview.segmentsDone}/${overview.segmentsTotal} segments`, 6, 22);
    }
  }
  const x0 = x(view.fromMs);
  ctx.fillStyle = 'rgba(60, 110, 200, 0.18)';
  ctx.fillRect(x0, 0, Math.max(2, x(view.toMs) - x0), height);
  ctx.strokeStyle = 'rgba(60, 110, 200, 0.9)';
  ctx.strokeRect(x0 + 0.5, 0.5, Math.max(2, x(view.toMs) - x0), height - 1);
}
