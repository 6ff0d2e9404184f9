/**
 * What the writer thread encodes: ring batches from the main thread and V8's CPU and heap profiles,
 * into one segment's events. It keeps the tables that map the main thread's string ids, inline
 * strings and V8 stack texts to the segment's ids; `newSegment()` starts fresh tables. No I/O here
 * (writer-worker.ts writes the blocks), so a benchmark or a test can drive it on any thread.
 */
import { SegmentEncoder } from '../format/encoder.js';
import { EV, EVENTS } from '../format/schema.js';
import { INLINE_NUMBERED, InlineReader } from './inline-text.js';
import type { Batch, CpuProfile, HeapProfileNode, ProfileNode } from './protocol.js';
import { RECORD_SLOTS } from './ring.js';

/**
 * Which fields of each event type are strings (1) or stacks (2): the main thread sends both as its
 * string ids (a stack as V8's text, `at f (file:line:col)` lines), remapped here per segment.
 */
const STRING_FIELDS: (Uint8Array | undefined)[] = [];
for (const spec of EVENTS)
  STRING_FIELDS[spec.id] = Uint8Array.from(spec.fields, (f) => (f.kind === 'string' ? 1 : f.kind === 'stack' ? 2 : 0));
/** `at [async ]name (location)` or `at location`; location is `url:line:column` or a word like `native`. */
const FRAME_LINE = /^\s*at (?:async )?(?:(.*?) \((.*)\)|(.*))$/;
const LOCATION = /^(.*?):(\d+):(\d+)$/;
/** Inline strings remembered per segment: a path repeats, a request id never does (cleared when full). */
const MAX_RECENT_INLINE = 1024;
/** Stack texts remembered per segment. */
const MAX_TEXT_STACKS = 10_000;

export class BatchEncoder {
  #encoder = new SegmentEncoder();
  /** The main thread's interned strings, by its ids (they outlive segments). */
  #mainStrings = new Map<number, string>();
  /**
   * The current segment's string id for a main-thread string id, so an operation or method name
   * costs an array read per event instead of two Map lookups.
   */
  #segmentIds: number[] = [];
  /** Stack texts already interned in the current segment. */
  #textStacks = new Map<string, number>();
  /**
   * Inline strings (request ids, paths) recently defined in the current segment. Small and cleared
   * when full, so it costs no memory to speak of, unlike remembering every one of them (see
   * SegmentEncoder.stringOnce).
   */
  #recentInline = new Map<string, number>();
  /** The last inline text's bytes and segment id: a path repeated back to back is matched on its bytes. */
  #lastText = new Uint8Array(0);
  #lastTextId = 0;
  /** V8 time of the last CPU sample written: consecutive profiles overlap by a moment (hand-over). */
  #lastSampleV8Us = Number.NEGATIVE_INFINITY;
  readonly #fields = new Float64Array(RECORD_SLOTS);
  /** `performance.now()` µs minus `process.hrtime()` µs on the main thread (CPU profiles use the latter). */
  readonly #hrtimeOffsetUs: number;

  constructor(hrtimeOffsetUs: number) {
    this.#hrtimeOffsetUs = hrtimeOffsetUs;
  }

  /** Starts a segment: fresh string and stack tables (the next block is its first). */
  newSegment(): void {
    this.#encoder = new SegmentEncoder();
    this.#textStacks = new Map();
    this.#recentInline = new Map();
    this.#segmentIds = [];
    this.#lastTextId = 0;
  }

  /** Events encoded since the last block was taken. */
  get pendingEvents(): number {
    return this.#encoder.pendingEvents;
  }

  /**
   * Of those, the ring's `dropped` events, and the events they say were dropped: should the block be
   * lost, its data events are counted lost and the drops it reported are carried to the next one.
   */
  readonly pendingDrops = { markers: 0, count: 0 };

  /** The block of everything encoded since the last call, as parts (see SegmentEncoder.takeBlockParts). */
  takeBlockParts(): readonly Uint8Array[] | undefined {
    this.pendingDrops.markers = 0;
    this.pendingDrops.count = 0;
    return this.#encoder.takeBlockParts();
  }

  /** Appends one event whose fields hold no strings (the writer's own events). */
  event(type: number, timeUs: number, fields: ArrayLike<number>): void {
    this.#encoder.event(type, timeUs, fields);
  }

  get stringCount(): number {
    return this.#encoder.stringCount;
  }

  batch(batch: Batch): void {
    const encoder = this.#encoder;
    if (batch.resetStrings) {
      this.#mainStrings = new Map();
      this.#segmentIds = [];
    }
    const mainStrings = this.#mainStrings;
    for (let i = 0; i < batch.defs.length; i += 2)
      mainStrings.set(batch.defs[i] as number, batch.defs[i + 1] as string);
    if (batch.dropped > 0) {
      encoder.event(EV.dropped, batch.droppedAtMs * 1000, [batch.dropped]);
      this.pendingDrops.markers++;
      this.pendingDrops.count += batch.dropped;
    }
    const records = new Float64Array(batch.buffer, 0, batch.count * RECORD_SLOTS);
    const inline = new InlineReader(new Uint8Array(batch.buffer, batch.textOffset, batch.textBytes));
    const fields = this.#fields;
    for (let r = 0; r < batch.count; r++) {
      const base = r * RECORD_SLOTS;
      const type = records[base] as number;
      const strings = STRING_FIELDS[type];
      if (strings === undefined) continue;
      for (let f = 0; f < strings.length; f++) {
        let value = records[base + 2 + f] as number;
        if (strings[f] !== 0 && value !== 0) {
          if (value < 0) {
            if (inline.kind(value) === INLINE_NUMBERED) {
              const prefix = inline.prefixId(value);
              const number = inline.number(value);
              value =
                encoder.numberedOnceById(this.#segmentId(prefix), number) ??
                encoder.numberedOnce(mainStrings.get(prefix) ?? '', number);
            } else value = this.#inlineText(inline, value);
          } else if (strings[f] === 2) {
            value = this.#stackFromText(mainStrings.get(value) ?? '');
          } else value = this.#segmentId(value);
        }
        fields[f] = value;
      }
      encoder.event(type, (records[base + 1] as number) * 1000, fields);
    }
  }

  cpuProfile(profile: CpuProfile): void {
    const samples = profile.samples ?? [];
    const deltas = profile.timeDeltas ?? [];
    const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
    const stacks = this.#stackIds(profile.nodes);
    let timeUs = profile.startTime;
    const after = this.#lastSampleV8Us;
    const fields = this.#fields;
    for (let i = 0; i < samples.length; i++) {
      timeUs += deltas[i] ?? 0;
      const node = samples[i] as number;
      if (timeUs <= after) continue;
      this.#lastSampleV8Us = Math.max(this.#lastSampleV8Us, timeUs);
      if (idle.has(node)) continue;
      fields[0] = stacks.get(node) ?? 0;
      this.#encoder.event(EV.cpuSample, timeUs - this.#hrtimeOffsetUs, fields);
    }
  }

  heapProfile(head: HeapProfileNode, timeMs: number): void {
    const encoder = this.#encoder;
    const fields = this.#fields;
    const visit = (node: HeapProfileNode, parent: number, depth: number): void => {
      const f = node.callFrame;
      const stack =
        depth === 0 ? 0 : encoder.stack(parent, f.functionName || '(anonymous)', f.url, f.lineNumber, f.columnNumber);
      if (node.selfSize > 0 && depth > 0) {
        fields[0] = stack;
        fields[1] = node.selfSize;
        encoder.event(EV.heapSample, timeMs * 1000, fields);
      }
      for (const child of node.children) visit(child, stack, depth + 1);
    };
    visit(head, 0, 0);
  }

  /** The segment's id for a string the main thread interned (`mainId` > 0). */
  #segmentId(mainId: number): number {
    const known = this.#segmentIds[mainId];
    if (known !== undefined) return known;
    const id = this.#encoder.string(this.#mainStrings.get(mainId) ?? '');
    this.#segmentIds[mainId] = id;
    return id;
  }

  /** The segment's id for an inline string: defined again unless seen among the recent ones. */
  #inlineString(text: string): number {
    let id = this.#recentInline.get(text);
    if (id !== undefined) return id;
    id = this.#encoder.stringOnce(text);
    if (this.#recentInline.size >= MAX_RECENT_INLINE) this.#recentInline.clear();
    this.#recentInline.set(text, id);
    return id;
  }

  /** The segment's id for the inline text a field refers to. */
  #inlineText(inline: InlineReader, field: number): number {
    if (this.#lastTextId !== 0 && inline.textEquals(field, this.#lastText)) return this.#lastTextId;
    this.#lastTextId = this.#inlineString(inline.text(field));
    this.#lastText = inline.textBytes(field).slice();
    return this.#lastTextId;
  }

  /** The segment's stack id for a V8 stack text (leaf first), built from its outermost frame up. */
  #stackFromText(text: string): number {
    const known = this.#textStacks.get(text);
    if (known !== undefined) return known;
    let id = 0;
    const lines = text.split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      const match = FRAME_LINE.exec(lines[i] as string);
      if (match === null) continue;
      const where = match[2] ?? match[3] ?? '';
      const location = LOCATION.exec(where);
      const url = location?.[1] ?? where;
      const line = location === null ? -1 : Number(location[2]) - 1;
      const column = location === null ? -1 : Number(location[3]) - 1;
      id = this.#encoder.stack(id, match[1] || '(anonymous)', url, line, column);
    }
    if (this.#textStacks.size < MAX_TEXT_STACKS) this.#textStacks.set(text, id);
    return id;
  }

  /** The frames of a profile node, by node id, as segment stack ids (the root frame left out). */
  #stackIds(nodes: readonly ProfileNode[]): Map<number, number> {
    const encoder = this.#encoder;
    const parentOf = new Map<number, number>();
    const byId = new Map<number, ProfileNode>();
    for (const node of nodes) {
      byId.set(node.id, node);
      for (const child of node.children ?? []) parentOf.set(child, node.id);
    }
    const ids = new Map<number, number>();
    const resolve = (id: number): number => {
      const known = ids.get(id);
      if (known !== undefined) return known;
      const node = byId.get(id);
      const parent = parentOf.get(id);
      if (node === undefined || parent === undefined) {
        ids.set(id, 0); // the root
        return 0;
      }
      const f = node.callFrame;
      const stack = encoder.stack(
        resolve(parent),
        f.functionName || '(anonymous)',
        f.url,
        f.lineNumber,
        f.columnNumber,
      );
      ids.set(id, stack);
      return stack;
    };
    for (const node of nodes) resolve(node.id);
    return ids;
  }
}
