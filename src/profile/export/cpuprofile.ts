/**
 * A V8 `.cpuprofile` (what DevTools, VS Code and speedscope open) built from the trace's CPU samples:
 * `{ nodes, startTime, endTime, samples, timeDeltas }`, times in µs on the trace clock. Browser-safe.
 *
 * The call tree is rebuilt from the interned stacks (one node per distinct path, so it stays as
 * small as the program's code); samples are kept as two typed arrays, never as objects. Lines
 * become 0-based, as V8 writes them (the trace stores 1-based, 0 unknown -> -1). The recorder leaves
 * idle samples out; a gap longer than two sampling periods gets one `(idle)` sample a period after
 * the last one, so that tools do not charge the idle time to the stack sampled before it.
 */
import type { DecodedSegment } from '../format/index.js';
import { GrowableFloat64 } from './growable.js';
import { type ExportFrame, SegmentStacks } from './stacks.js';

interface NodeFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

const ROOT_ID = 1;

export class CpuProfileBuilder {
  readonly #periodUs: number;
  readonly #parent: number[] = [0, 0];
  readonly #frames: NodeFrame[] = [
    { functionName: '', url: '', lineNumber: -1, columnNumber: -1 },
    { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 },
  ];
  readonly #hits: number[] = [0, 0];
  readonly #childIds = new Map<string, number>();
  readonly #scriptIds = new Map<string, number>();
  readonly #sampleNodes = new GrowableFloat64();
  readonly #sampleTimes = new GrowableFloat64();
  #idleId = 0;

  constructor(sampleHz: number) {
    this.#periodUs = 1e6 / (sampleHz > 0 ? sampleHz : 99);
  }

  get sampleCount(): number {
    return this.#sampleNodes.length;
  }

  addSegment(segment: DecodedSegment): void {
    const samples = segment.events.cpuSample;
    if (samples === undefined) return;
    const stacks = new SegmentStacks(segment);
    const nodeOfStack = new Map<number, number>();
    const stackIds = samples.fields.stack as Float64Array;
    for (let i = 0; i < samples.count; i++) {
      const stackId = stackIds[i] as number;
      let node = nodeOfStack.get(stackId);
      if (node === undefined) {
        node = ROOT_ID;
        for (const frame of stacks.rootFirst(stackId)) node = this.#child(node, frame);
        nodeOfStack.set(stackId, node);
      }
      this.#sampleNodes.push(node);
      this.#sampleTimes.push(samples.time[i] as number);
    }
  }

  #child(parent: number, frame: ExportFrame): number {
    const key = `${parent}\u0001${frame.key}`;
    let id = this.#childIds.get(key);
    if (id === undefined) {
      id = this.#frames.length;
      this.#childIds.set(key, id);
      this.#parent.push(parent);
      this.#hits.push(0);
      this.#frames.push({
        functionName: frame.functionName,
        url: frame.url,
        lineNumber: frame.line - 1,
        columnNumber: frame.column - 1,
      });
    }
    return id;
  }

  #idleNode(): number {
    if (this.#idleId === 0)
      this.#idleId = this.#child(ROOT_ID, { key: '(idle)', functionName: '(idle)', url: '', line: 0, column: 0 });
    return this.#idleId;
  }

  #scriptId(url: string): string {
    if (url === '') return '0';
    let id = this.#scriptIds.get(url);
    if (id === undefined) {
      id = this.#scriptIds.size + 1;
      this.#scriptIds.set(url, id);
    }
    return String(id);
  }

  /** The profile as text chunks (call after every segment was added; needs at least one sample). */
  *chunks(): Generator<string> {
    const times = this.#sampleTimes.view();
    const nodes = this.#sampleNodes.view();
    // Bursts from different segments may interleave: samples go out in time order.
    const order = new Uint32Array(times.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    order.sort((a, b) => (times[a] as number) - (times[b] as number));
    const sampleIds: number[] = [];
    const sampleTimes: number[] = [];
    let lastUs = Number.NaN;
    for (const i of order) {
      const timeUs = Math.round(times[i] as number);
      if (timeUs - lastUs > 2 * this.#periodUs) {
        sampleIds.push(this.#idleNode());
        sampleTimes.push(Math.round(lastUs + this.#periodUs));
      }
      const node = nodes[i] as number;
      sampleIds.push(node);
      sampleTimes.push(timeUs);
      lastUs = timeUs;
    }
    for (const node of sampleIds) this.#hits[node] = (this.#hits[node] ?? 0) + 1;
    const children: number[][] = this.#frames.map(() => []);
    for (let id = ROOT_ID + 1; id < this.#frames.length; id++) children[this.#parent[id] as number]?.push(id);

    const startTime = sampleTimes[0] ?? 0;
    const endTime = Math.round((sampleTimes[sampleTimes.length - 1] ?? 0) + this.#periodUs);
    yield '{"nodes":[\n';
    let batch: string[] = [];
    for (let id = ROOT_ID; id < this.#frames.length; id++) {
      const frame = this.#frames[id] as NodeFrame;
      batch.push(
        JSON.stringify({
          id,
          callFrame: { ...frame, scriptId: this.#scriptId(frame.url) },
          hitCount: this.#hits[id] ?? 0,
          children: children[id],
        }),
      );
      if (batch.length >= 2000) {
        yield `${batch.join(',\n')}${id + 1 < this.#frames.length ? ',\n' : ''}`;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch.join(',\n');
    yield `\n],\n"startTime":${startTime},\n"endTime":${endTime},\n"samples":[`;
    yield* numberList(sampleIds);
    yield '],\n"timeDeltas":[';
    const deltas = sampleTimes.map((t, i) => t - (i === 0 ? startTime : (sampleTimes[i - 1] as number)));
    yield* numberList(deltas);
    yield ']}\n';
  }
}

function* numberList(values: readonly number[]): Generator<string> {
  for (let i = 0; i < values.length; i += 10_000) yield (i === 0 ? '' : ',') + values.slice(i, i + 10_000).join(',');
}
