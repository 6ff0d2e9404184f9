/**
 * Reads trace segments (uncompressed bytes; see gzip.ts for sealed `.gz` files). One module for
 * Node and the browser: no Node imports. Events come out as typed columns per event type, with the
 * segment's interned strings and stacks beside them. A file cut off mid-block (an `.active` segment
 * after `kill -9`) decodes up to its last complete block and says `truncated`.
 *
 * - `decodeSegment(bytes, { fromUs, toUs })`: the whole segment, or only the blocks that overlap a
 *   time window (definitions are always read, they are small).
 * - `indexSegment(bytes)`: the header and block list (offsets, time ranges) without decoding events.
 * - `SegmentReader`: fed chunk by chunk (a fetch stream), decodes blocks as they complete.
 */
import { ByteReader } from './bytes.js';
import { checkHeader } from './header-check.js';
import {
  BLOCK_HEADER_BYTES,
  BLOCK_MAGIC,
  DEF_NUMBERED,
  DEF_STACK,
  DEF_STRING,
  type EventSpec,
  FILE_MAGIC,
  FILE_PREAMBLE_BYTES,
  FORMAT_VERSION,
  type TraceHeader,
} from './schema.js';

export interface BlockInfo {
  /** Byte offset of the block header in the segment. */
  readonly offset: number;
  readonly bytes: number;
  readonly events: number;
  readonly minUs: number;
  readonly maxUs: number;
}

/** Interned stacks: index = stack id (0 unused); each entry is one frame on top of its parent. */
export interface StackTable {
  readonly parent: number[];
  readonly functionName: number[];
  readonly url: number[];
  /** 1-based; 0 unknown. */
  readonly line: number[];
  readonly column: number[];
}

export interface StackFrame {
  readonly functionName: string;
  readonly url: string;
  readonly line: number;
  readonly column: number;
}

/** One event type's events as columns: `time[i]` and `fields.<name>[i]` describe event i. */
export interface EventColumns {
  readonly spec: EventSpec;
  readonly count: number;
  readonly time: Float64Array;
  readonly fields: Readonly<Record<string, Float64Array>>;
}

export interface DecodedSegment {
  readonly header: TraceHeader;
  /** Index = string id; `strings[0]` is '' (none). */
  readonly strings: readonly string[];
  readonly stacks: StackTable;
  /** By event name (`stall`, `gc`, ...); types without events are absent. */
  readonly events: Readonly<Record<string, EventColumns>>;
  readonly blocks: readonly BlockInfo[];
  /** The bytes ended inside a block (or held garbage after the last good one). */
  readonly truncated: boolean;
  /** Events in blocks outside the requested window, not decoded. */
  readonly skippedEvents: number;
}

export interface DecodeOptions {
  /** Only blocks overlapping [fromUs, toUs] are decoded (events keep their exact times). */
  readonly fromUs?: number;
  readonly toUs?: number;
}

export class TraceFormatError extends Error {
  override readonly name = 'TraceFormatError';
}

interface Growing {
  spec: EventSpec;
  time: number[];
  fields: number[][];
  /** Per field: 0 unsigned, 1 signed (zigzag), 2 delta from `previous` (version 2). */
  coding: Uint8Array;
  /** Delta fields' values in the previous event of this type in the block. */
  previous: Float64Array;
}

const textDecoder = new TextDecoder();

/**
 * Header of a segment, or undefined when `bytes` does not hold all of it yet. Throws
 * TraceFormatError on a non-trace, and on a header that is not what this reader can trust (see
 * header-check.ts).
 */
export function readHeader(bytes: Uint8Array): { header: TraceHeader; bytes: number } | undefined {
  const magicLength = Math.min(bytes.length, FILE_MAGIC.length);
  for (let i = 0; i < magicLength; i++) {
    if (bytes[i] !== FILE_MAGIC[i]) {
      const hint = bytes[0] === 0x1f && bytes[1] === 0x8b ? ' (gzip: decompress it first, see gunzip())' : '';
      throw new TraceFormatError(`not a dial9-node trace segment${hint}`);
    }
  }
  if (bytes.length < FILE_PREAMBLE_BYTES) return undefined;
  const reader = new ByteReader(bytes, FILE_MAGIC.length);
  const version = reader.u32();
  if (version > FORMAT_VERSION)
    throw new TraceFormatError(`trace format version ${version} is newer than this reader (${FORMAT_VERSION})`);
  const jsonLength = reader.u32();
  const end = FILE_PREAMBLE_BYTES + jsonLength;
  if (bytes.length < end) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(textDecoder.decode(bytes.subarray(FILE_PREAMBLE_BYTES, end)));
  } catch (err) {
    throw new TraceFormatError(`its header is not JSON (${(err as Error).message})`);
  }
  // Everything after this trusts the header's shape and schema: check them once, here.
  try {
    return { header: checkHeader(json, version), bytes: end };
  } catch (err) {
    throw new TraceFormatError((err as Error).message);
  }
}

/** Incremental reader: `push()` chunks in file order, then `result()`. */
export class SegmentReader {
  #buffer = new Uint8Array(0);
  #length = 0;
  #offset = 0;
  #header: TraceHeader | undefined;
  #strings: string[] = [''];
  #stacks: StackTable = { parent: [0], functionName: [0], url: [0], line: [0], column: [0] };
  #types = new Map<number, Growing>();
  #blocks: BlockInfo[] = [];
  #skipped = 0;
  #broken = false;
  #options: DecodeOptions;

  constructor(options: DecodeOptions = {}) {
    this.#options = options;
  }

  get header(): TraceHeader | undefined {
    return this.#header;
  }

  /** Adds bytes; returns the blocks completed by them. */
  push(chunk: Uint8Array): BlockInfo[] {
    if (this.#broken) return [];
    this.#append(chunk);
    const bytes = this.#buffer.subarray(0, this.#length);
    if (this.#header === undefined) {
      const read = readHeader(bytes);
      if (read === undefined) return [];
      this.#header = read.header;
      this.#offset = read.bytes;
      // Version 1 has no delta fields; its schema never says `delta`, and is not trusted to.
      const deltas = (read.header.version ?? 1) >= 2;
      for (const spec of read.header.events) {
        this.#types.set(spec.id, {
          spec,
          time: [],
          fields: spec.fields.map(() => []),
          coding: Uint8Array.from(spec.fields, (f) => (f.kind === 'i' ? 1 : deltas && f.delta === true ? 2 : 0)),
          previous: new Float64Array(spec.fields.length),
        });
      }
    }
    const completed: BlockInfo[] = [];
    while (this.#length - this.#offset >= BLOCK_HEADER_BYTES) {
      const reader = new ByteReader(bytes, this.#offset);
      if (reader.u32() !== BLOCK_MAGIC) {
        this.#broken = true;
        break;
      }
      const defsBytes = reader.u32();
      const eventsBytes = reader.u32();
      const events = reader.u32();
      const baseUs = reader.f64();
      const minUs = reader.f64();
      const maxUs = reader.f64();
      const total = BLOCK_HEADER_BYTES + defsBytes + eventsBytes;
      if (this.#length - this.#offset < total) break;
      const block: BlockInfo = { offset: this.#offset, bytes: total, events, minUs, maxUs };
      try {
        this.#readDefs(new ByteReader(bytes, reader.offset, reader.offset + defsBytes));
        const from = this.#options.fromUs ?? Number.NEGATIVE_INFINITY;
        const to = this.#options.toUs ?? Number.POSITIVE_INFINITY;
        if (maxUs < from || minUs > to) this.#skipped += events;
        else
          this.#readEvents(
            new ByteReader(bytes, reader.offset + defsBytes, reader.offset + defsBytes + eventsBytes),
            events,
            baseUs,
          );
      } catch (err) {
        if (!(err instanceof RangeError)) throw err;
        this.#broken = true;
        break;
      }
      this.#offset += total;
      this.#blocks.push(block);
      completed.push(block);
    }
    return completed;
  }

  /** Everything decoded so far; `truncated` when bytes are left over that make no complete block. */
  result(): DecodedSegment {
    const header = this.#header;
    if (header === undefined) throw new TraceFormatError('the segment ends inside its header');
    const events: Record<string, EventColumns> = {};
    for (const growing of this.#types.values()) {
      if (growing.time.length === 0) continue;
      const fields: Record<string, Float64Array> = {};
      growing.spec.fields.forEach((field, i) => {
        fields[field.name] = Float64Array.from(growing.fields[i] as number[]);
      });
      events[growing.spec.name] = {
        spec: growing.spec,
        count: growing.time.length,
        time: Float64Array.from(growing.time),
        fields,
      };
    }
    return {
      header,
      strings: this.#strings,
      stacks: this.#stacks,
      events,
      blocks: this.#blocks,
      truncated: this.#broken || this.#offset < this.#length,
      skippedEvents: this.#skipped,
    };
  }

  #append(chunk: Uint8Array): void {
    if (this.#length + chunk.length > this.#buffer.length) {
      const next = new Uint8Array(Math.max(this.#buffer.length * 2, this.#length + chunk.length, 64 * 1024));
      next.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = next;
    }
    this.#buffer.set(chunk, this.#length);
    this.#length += chunk.length;
  }

  #readDefs(reader: ByteReader): void {
    /** Numbered strings: prefix id to the block's last number with that prefix. */
    let lastNumber: Map<number, number> | undefined;
    while (reader.offset < reader.end) {
      const kind = reader.u8();
      if (kind === DEF_STRING) this.#strings.push(reader.string());
      else if (kind === DEF_NUMBERED) {
        const prefixId = reader.varint();
        const prefix = this.#strings[prefixId];
        if (prefix === undefined) throw new RangeError(`numbered string with unknown prefix ${prefixId}`);
        lastNumber ??= new Map();
        const number = (lastNumber.get(prefixId) ?? 0) + reader.svarint();
        lastNumber.set(prefixId, number);
        this.#strings.push(prefix + String(number));
      } else if (kind === DEF_STACK) {
        const s = this.#stacks;
        s.parent.push(reader.varint());
        s.functionName.push(reader.varint());
        s.url.push(reader.varint());
        s.line.push(reader.varint());
        s.column.push(reader.varint());
      } else throw new RangeError(`unknown definition kind ${kind}`);
    }
  }

  #readEvents(reader: ByteReader, count: number, baseUs: number): void {
    let time = baseUs;
    // Delta fields start from 0 in every block.
    for (const growing of this.#types.values()) growing.previous.fill(0);
    for (let n = 0; n < count; n++) {
      const type = reader.varint();
      time += reader.svarint();
      const growing = this.#types.get(type);
      if (growing === undefined) throw new RangeError(`event type ${type} is not in the header`);
      growing.time.push(time);
      const { fields, coding, previous } = growing;
      for (let f = 0; f < fields.length; f++) {
        const code = coding[f];
        let value: number;
        if (code === 0) value = reader.varint();
        else if (code === 1) value = reader.svarint();
        else {
          value = (previous[f] as number) + reader.svarint();
          previous[f] = value;
        }
        (fields[f] as number[]).push(value);
      }
    }
  }
}

/** Decodes a whole segment (uncompressed bytes). */
export function decodeSegment(bytes: Uint8Array, options: DecodeOptions = {}): DecodedSegment {
  const reader = new SegmentReader(options);
  reader.push(bytes);
  return reader.result();
}

/** Header and block list, without decoding events: for windowed loading of big segments. */
export function indexSegment(bytes: Uint8Array): { header: TraceHeader; blocks: BlockInfo[]; truncated: boolean } {
  const decoded = decodeSegment(bytes, { fromUs: Number.POSITIVE_INFINITY, toUs: Number.NEGATIVE_INFINITY });
  return { header: decoded.header, blocks: [...decoded.blocks], truncated: decoded.truncated };
}

/** A stack's frames, leaf (innermost) first. */
export function stackFrames(segment: DecodedSegment, stackId: number): StackFrame[] {
  const frames: StackFrame[] = [];
  const { stacks, strings } = segment;
  let id = stackId;
  for (let guard = 0; id > 0 && guard < 10_000; guard++) {
    frames.push({
      functionName: strings[stacks.functionName[id] ?? 0] ?? '',
      url: strings[stacks.url[id] ?? 0] ?? '',
      line: stacks.line[id] ?? 0,
      column: stacks.column[id] ?? 0,
    });
    id = stacks.parent[id] ?? 0;
  }
  return frames;
}

export type EventRow = { readonly time: number } & Readonly<Record<string, number | string>>;

/**
 * One event type as objects (convenient, not fast): string fields resolved to their text, stack
 * fields left as ids (see `stackFrames`).
 */
export function eventRows(segment: DecodedSegment, name: string): EventRow[] {
  const columns = segment.events[name];
  if (columns === undefined) return [];
  const rows: EventRow[] = [];
  for (let i = 0; i < columns.count; i++) {
    const row: Record<string, number | string> = { time: columns.time[i] as number };
    for (const field of columns.spec.fields) {
      const value = (columns.fields[field.name] as Float64Array)[i] as number;
      row[field.name] = field.kind === 'string' ? (segment.strings[value] ?? '') : value;
    }
    rows.push(row as EventRow);
  }
  return rows;
}
