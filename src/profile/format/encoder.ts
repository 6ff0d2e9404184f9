/**
 * Writes one segment: the header, then blocks. A block holds the definitions (strings, stacks)
 * first used by its events, then the events, each as type, time delta and varint fields. Blocks
 * are self-delimiting, so a reader stops cleanly at the last complete one of a cut-off file.
 * Strings and stacks are interned per segment: every segment decodes on its own.
 */
import { ByteWriter } from './bytes.js';
import {
  BLOCK_HEADER_BYTES,
  BLOCK_MAGIC,
  DEF_STACK,
  DEF_STRING,
  EVENTS,
  type EventSpec,
  FILE_MAGIC,
  FORMAT_VERSION,
  type TraceHeader,
} from './schema.js';

const textEncoder = new TextEncoder();
/** Distinct strings a segment's table remembers at most (operation names, origins, frames' files). */
const MAX_REMEMBERED_STRINGS = 50_000;

/** The file's first bytes: magic, version, header JSON. */
export function encodeHeader(header: TraceHeader): Uint8Array {
  const json = textEncoder.encode(JSON.stringify(header));
  const out = new ByteWriter(json.length + 16);
  for (const byte of FILE_MAGIC) out.u8(byte);
  out.u32(FORMAT_VERSION);
  out.u32(json.length);
  out.raw(json);
  return out.view().slice();
}

export class SegmentEncoder {
  #defs = new ByteWriter(16 * 1024);
  #events = new ByteWriter(256 * 1024);
  #eventCount = 0;
  #baseUs = 0;
  #lastUs = 0;
  #minUs = Number.POSITIVE_INFINITY;
  #maxUs = Number.NEGATIVE_INFINITY;
  #strings = new Map<string, number>();
  /** Strings defined in the segment so far (remembered or not): the last id given. */
  #stringCount = 0;
  #stacks = new Map<string, number>();
  /** Per event type, one entry per field: 1 when it is signed (zigzag), else 0. */
  #signed: (Uint8Array | undefined)[] = [];

  constructor(events: readonly EventSpec[] = EVENTS) {
    for (const spec of events) this.#signed[spec.id] = Uint8Array.from(spec.fields, (f) => (f.kind === 'i' ? 1 : 0));
  }

  /**
   * The segment's id for `value` (defined in the current block when new); '' is 0, "none". Past
   * MAX_REMEMBERED_STRINGS distinct strings, new ones are defined each time they are used instead:
   * the table's memory stays bounded whatever the cardinality.
   */
  string(value: string): number {
    if (value === '') return 0;
    const id = this.#strings.get(value);
    if (id !== undefined) return id;
    if (this.#strings.size >= MAX_REMEMBERED_STRINGS) return this.stringOnce(value);
    const next = this.stringOnce(value);
    this.#strings.set(value, next);
    return next;
  }

  /**
   * A fresh id for a string used once (a request id): defined in the current block and not
   * remembered. Remembering every request id of a segment held ~700,000 strings (~70 MB) on the
   * writer thread per minute of full-speed load.
   */
  stringOnce(value: string): number {
    if (value === '') return 0;
    this.#defs.u8(DEF_STRING);
    this.#defs.string(value);
    return ++this.#stringCount;
  }

  /** The segment's id for a frame on top of `parent` (0 for a root frame). */
  stack(parent: number, functionName: string, url: string, line: number, column: number): number {
    const key = `${parent}\u0000${functionName}\u0000${url}\u0000${line}\u0000${column}`;
    let id = this.#stacks.get(key);
    if (id !== undefined) return id;
    const fn = this.string(functionName);
    const file = this.string(url);
    id = this.#stacks.size + 1;
    this.#stacks.set(key, id);
    this.#defs.u8(DEF_STACK);
    this.#defs.varint(parent);
    this.#defs.varint(fn);
    this.#defs.varint(file);
    this.#defs.varint(line + 1);
    this.#defs.varint(column + 1);
    return id;
  }

  /**
   * Appends one event. `fields` holds at least the type's field count of values; string and stack
   * fields must already be this segment's ids. Times are µs; they need not be increasing.
   */
  event(type: number, timeUs: number, fields: ArrayLike<number>, offset = 0): void {
    const signed = this.#signed[type];
    if (signed === undefined) throw new RangeError(`unknown event type ${type}`);
    const t = Math.round(timeUs);
    if (this.#eventCount === 0) {
      this.#baseUs = t;
      this.#lastUs = t;
    }
    const out = this.#events;
    out.varint(type);
    out.svarint(t - this.#lastUs);
    this.#lastUs = t;
    if (t < this.#minUs) this.#minUs = t;
    if (t > this.#maxUs) this.#maxUs = t;
    for (let f = 0; f < signed.length; f++) {
      const value = fields[offset + f] as number;
      if (signed[f] === 1) out.svarint(value);
      else out.varint(value);
    }
    this.#eventCount++;
  }

  /** Strings remembered in the segment's table (for the recorder's own memory report). */
  get stringCount(): number {
    return this.#strings.size;
  }

  get pendingEvents(): number {
    return this.#eventCount;
  }

  /** Bytes the next block will take, roughly (for size caps). */
  get pendingBytes(): number {
    return BLOCK_HEADER_BYTES + this.#defs.length + this.#events.length;
  }

  /** The block of everything appended since the last call, or undefined when there is nothing. */
  takeBlock(): Uint8Array | undefined {
    if (this.#eventCount === 0 && this.#defs.length === 0) return undefined;
    const out = new ByteWriter(BLOCK_HEADER_BYTES + this.#defs.length + this.#events.length);
    out.u32(BLOCK_MAGIC);
    out.u32(this.#defs.length);
    out.u32(this.#events.length);
    out.u32(this.#eventCount);
    out.f64(this.#baseUs);
    out.f64(this.#eventCount === 0 ? this.#baseUs : this.#minUs);
    out.f64(this.#eventCount === 0 ? this.#baseUs : this.#maxUs);
    out.raw(this.#defs.view());
    out.raw(this.#events.view());
    this.#defs.reset();
    this.#events.reset();
    this.#eventCount = 0;
    this.#minUs = Number.POSITIVE_INFINITY;
    this.#maxUs = Number.NEGATIVE_INFINITY;
    return out.view();
  }
}
