/**
 * Counter charts under the timeline, drawn by uPlot (small, fast, well kept): loop delay, event loop
 * utilisation, heap, RSS and requests in flight, on the timeline's time axis.
 */
import uPlot from 'uplot';
import type { OverviewData, WindowData } from './protocol.js';
import type { View } from './timeline.js';

interface Counter {
  readonly label: string;
  readonly colour: string;
  series(data: WindowData | undefined, overview: OverviewData | undefined): [ArrayLike<number>, ArrayLike<number>];
}

const empty: [number[], number[]] = [[], []];

const COUNTERS: Counter[] = [
  {
    label: 'loop delay (ms)',
    colour: '#b3261e',
    series: (d, o) => (d ? [d.loop.time, d.loop.delayMs] : o ? [o.loop.time, o.loop.delayMs] : empty),
  },
  {
    label: 'loop utilisation (%)',
    colour: '#e06c2b',
    series: (d, o) => (d ? [d.loop.time, d.loop.elu] : o ? [o.loop.time, o.loop.elu] : empty),
  },
  {
    label: 'heap used (MB)',
    colour: '#7b4fb0',
    series: (d, o) => (d ? [d.res.time, d.res.heapMb] : o ? [o.res.time, o.res.heapMb] : empty),
  },
  {
    label: 'RSS (MB)',
    colour: '#3c6ec8',
    series: (d, o) => (d ? [d.res.time, d.res.rssMb] : o ? [o.res.time, o.res.rssMb] : empty),
  },
  {
    label: 'requests in flight',
    colour: '#3f9c5f',
    series: (d) => (d ? [d.inflight.time, d.inflight.count] : empty),
  },
];

export class Counters {
  readonly #charts: uPlot[] = [];
  readonly #root: HTMLElement;
  #gutterPx: number;

  constructor(root: HTMLElement, gutterPx: number) {
    this.#root = root;
    this.#gutterPx = gutterPx;
    const width = root.clientWidth || 800;
    for (const counter of COUNTERS) {
      const holder = document.createElement('div');
      holder.className = 'counter';
      holder.dataset.counter = counter.label;
      const label = document.createElement('span');
      label.className = 'counter-label';
      label.textContent = counter.label;
      holder.append(label);
      root.append(holder);
      const opts: uPlot.Options = {
        width,
        height: 64,
        legend: { show: false },
        cursor: { drag: { x: false, y: false }, points: { show: false } },
        scales: { x: { time: false } },
        axes: [
          { show: false },
          {
            size: this.#gutterPx,
            font: '10px system-ui, sans-serif',
            ticks: { show: false },
            splits: (_u, _axis, min, max) => [min, max],
            values: (_u, splits) => splits.map((v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1))),
          },
        ],
        series: [{}, { stroke: counter.colour, width: 1, fill: `${counter.colour}22`, points: { show: false } }],
      };
      this.#charts.push(new uPlot(opts, [[], []], holder));
    }
  }

  setData(data: WindowData | undefined, overview: OverviewData | undefined, view: View): void {
    // With DIAL9_REQUEST_EVENTS_PER_SEC set, a busy service's fast requests are counted, not
    // written: the in-flight line shows the written ones only, and says so.
    const counted = data?.requestsCounted ?? 0;
    const inFlightLabel = this.#root.querySelector<HTMLElement>('[data-counter="requests in flight"] .counter-label');
    if (inFlightLabel !== null) {
      inFlightLabel.textContent = counted > 0 ? 'requests in flight (written only)' : 'requests in flight';
      inFlightLabel.title =
        counted > 0
          ? `${counted.toLocaleString('en-US')} fast requests in this window were only counted (DIAL9_REQUEST_EVENTS_PER_SEC): they are in no lane and not in this line`
          : '';
    }
    COUNTERS.forEach((counter, i) => {
      const [x, y] = counter.series(data, overview);
      const chart = this.#charts[i] as uPlot;
      chart.setData([Array.from(x), Array.from(y)], false);
      chart.setScale('x', { min: view.fromMs, max: view.toMs });
    });
  }

  setView(view: View): void {
    for (const chart of this.#charts) chart.setScale('x', { min: view.fromMs, max: view.toMs });
  }

  resize(): void {
    const width = this.#root.clientWidth;
    for (const chart of this.#charts) chart.setSize({ width, height: 64 });
  }
}
