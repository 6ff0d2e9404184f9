/**
 * The flamegraph of a selected range's CPU samples: an icicle on a canvas (root on top, width =
 * samples), click a frame to zoom into it, and the same data as a table of the hottest functions (by
 * self samples), which is also what a screen reader or a test reads.
 */
import { h } from '../dom.js';
import type { FlameNode } from './protocol.js';

const ROW = 17;

function hue(name: string): number {
  let hash = 0;
  for (let i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) | 0;
  return Math.abs(hash) % 60;
}

export class Flamegraph {
  readonly #canvas: HTMLCanvasElement;
  readonly #table: HTMLElement;
  #root: FlameNode | undefined;
  #focus: FlameNode | undefined;
  #boxes: { x: number; y: number; w: number; node: FlameNode }[] = [];

  constructor(holder: HTMLElement) {
    this.#canvas = h('canvas', { class: 'flame-canvas' });
    this.#table = h('div', { class: 'flame-top' });
    holder.append(this.#canvas, this.#table);
    this.#canvas.addEventListener('click', (event) => {
      const box = this.#boxes.find(
        (b) => event.offsetX >= b.x && event.offsetX <= b.x + b.w && event.offsetY >= b.y && event.offsetY <= b.y + ROW,
      );
      this.#focus = box === undefined || box.node === this.#focus ? this.#root : box.node;
      this.draw();
    });
  }

  show(root: FlameNode, samples: number, label: string): void {
    this.#root = root;
    this.#focus = root;
    this.draw();
    const self = new Map<string, { name: string; where: string; self: number; total: number }>();
    const walk = (node: FlameNode, seen: Set<string>) => {
      const key = `${node.name} ${node.url}:${node.line}`;
      if (node !== root) {
        const entry = self.get(key) ?? { name: node.name, where: `${node.url}:${node.line}`, self: 0, total: 0 };
        entry.self += node.self;
        if (!seen.has(key)) entry.total += node.total;
        self.set(key, entry);
      }
      const below = new Set(seen).add(key);
      for (const child of node.children) walk(child, below);
    };
    walk(root, new Set());
    const top = [...self.values()].sort((a, b) => b.self - a.self || b.total - a.total).slice(0, 15);
    this.#table.replaceChildren(
      h('div', { class: 'flame-label' }, `${label}: ${samples} CPU samples`),
      h(
        'table',
        { class: 'top-functions' },
        h(
          'thead',
          {},
          h('tr', {}, h('th', {}, 'function'), h('th', {}, 'self'), h('th', {}, 'total'), h('th', {}, 'where')),
        ),
        h(
          'tbody',
          {},
          ...top.map((f) =>
            h(
              'tr',
              {},
              h('td', { class: 'fn' }, f.name),
              h('td', {}, `${((100 * f.self) / Math.max(1, samples)).toFixed(1)}%`),
              h('td', {}, `${((100 * f.total) / Math.max(1, samples)).toFixed(1)}%`),
              h('td', { class: 'dim' }, f.where.replace(/^.*\//, '')),
            ),
          ),
        ),
      ),
    );
  }

  draw(): void {
    const focus = this.#focus;
    const canvas = this.#canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 600;
    let depth = 0;
    const measure = (node: FlameNode, d: number) => {
      depth = Math.max(depth, d);
      for (const c of node.children) measure(c, d + 1);
    };
    if (focus !== undefined) measure(focus, 1);
    const height = Math.min(40, Math.max(depth, 3)) * ROW;
    canvas.style.height = `${height}px`;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    this.#boxes = [];
    if (focus === undefined || focus.total === 0) return;
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    const place = (node: FlameNode, x: number, y: number, w: number) => {
      if (w < 0.5 || y > height) return;
      ctx.fillStyle = node === focus ? '#c9c4b8' : `hsl(${10 + hue(node.name)} 80% ${62 + (hue(node.url) % 12)}%)`;
      ctx.fillRect(x, y, Math.max(0.5, w - 0.5), ROW - 1);
      this.#boxes.push({ x, y, w, node });
      if (w > 30) {
        ctx.fillStyle = '#222';
        ctx.fillText(node.name, x + 3, y + ROW / 2, w - 6);
      }
      let cx = x;
      for (const child of node.children) {
        const cw = (child.total / node.total) * w;
        place(child, cx, y + ROW, cw);
        cx += cw;
      }
    };
    place(focus, 0, 0, width);
  }
}
