/**
 * CPU sample stacks of one segment, root first, memoised by stack id: stack ids are interned per
 * segment, so exporters that span segments compare frames by `key` (function, file, line, column).
 */
import type { DecodedSegment } from '../format/index.js';

export interface ExportFrame {
  /** Identity of the frame across segments. */
  readonly key: string;
  readonly functionName: string;
  readonly url: string;
  /** 1-based as in the trace; 0 unknown. */
  readonly line: number;
  readonly column: number;
}

const NO_FRAMES: readonly ExportFrame[] = [];

export class SegmentStacks {
  readonly #segment: DecodedSegment;
  readonly #memo = new Map<number, readonly ExportFrame[]>();

  constructor(segment: DecodedSegment) {
    this.#segment = segment;
  }

  /** The frames of `stackId`, outermost first (the profile tree's root itself is not stored). */
  rootFirst(stackId: number): readonly ExportFrame[] {
    if (stackId <= 0) return NO_FRAMES;
    const known = this.#memo.get(stackId);
    if (known !== undefined) return known;
    // Iterative: walk up to the deepest memoised ancestor, then build down (stacks can be deep).
    const chain: number[] = [];
    let id = stackId;
    while (id > 0 && !this.#memo.has(id) && chain.length < 10_000) {
      chain.push(id);
      id = this.#segment.stacks.parent[id] ?? 0;
    }
    let frames = id > 0 ? (this.#memo.get(id) ?? NO_FRAMES) : NO_FRAMES;
    for (let i = chain.length - 1; i >= 0; i--) {
      const frameId = chain[i] as number;
      frames = [...frames, this.#frame(frameId)];
      this.#memo.set(frameId, frames);
    }
    return frames;
  }

  #frame(id: number): ExportFrame {
    const { stacks, strings } = this.#segment;
    const functionName = strings[stacks.functionName[id] ?? 0] ?? '';
    const url = strings[stacks.url[id] ?? 0] ?? '';
    const line = stacks.line[id] ?? 0;
    const column = stacks.column[id] ?? 0;
    return { key: `${functionName}\u0000${url}\u0000${line}\u0000${column}`, functionName, url, line, column };
  }
}
