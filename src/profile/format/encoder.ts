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
  DEF_NUMBERED,
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

/**
 * The file's first bytes: magic, version, header JSON. `version` 1 writes the old layout's header
 * (no delta flags in the schema), for a `SegmentEncoder` made with `{ version: 1 }`.
 */
export function encodeHeader(header: TraceHeader, version: number = FORMAT_VERSION): Uint8Array {
  const events = version >= 2 ? header.events : header.events.map(withoutDelta);
  const json = textEncoder.encode(JSON.stringify({ ...header, version, events }));
  const out = new ByteWriter(json.length + 16);
  for (const byte of FILE_MAGIC) out.u8(byte);
  out.u32(version);
  out.u32(json.length);
  out.raw(json);
  return out.view().slice();
}

function withoutDelta(spec: EventSpec): EventSpec {
  return { ...spec, fields: spec.fields.map(({ name, kind }) => ({ name, kind })) };
}

/** Field coding per event type: 0 unsigned, 1 signed (zigzag), 2 unsigned delta-coded. */
const UNSIGNED = 0;
const SIGNED = 1;
const DELTA = 2;

/** Prefixes seen once, waiting for a second string to share them (bounded; cleared when full). */
const MAX_PREFIX_CANDIDATES = 1024;
/**
 * Numbered strings end in a number below 2^52: the zigzag of a delta between two of them stays
 * below 2^53, exact in a double. Larger ones are plain strings (2^52 has 16 digits).
 */
const MAX_NUMBER = 2 ** 52;
const MAX_NUMBER_DIGITS = 16;

export interface SegmentEncoderOptions {
  /** Layout to write: the current one, or 1 (no delta fields, no numbered strings) for compatibility tests. */
  readonly version?: number;
}

export class SegmentEncoder {
  #defs = new ByteWriter(16 * 1024);
  #events = new ByteWriter(256 * 1024);
  #header = new ByteWriter(BLOCK_HEADER_BYTES);
  #eventCount = 0;
  #baseUs = 0;
  #lastUs = 0;
  #minUs = Number.POSITIVE_INFINITY;
  #maxUs = Number.NEGATIVE_INFINITY;
  #strings = new Map<string, number>();
  /** Strings defined in the segment so far (remembered or not): the last id given. */
  #stringCount = 0;
  #stacks = new Map<string, number>();
  /** Per event type, one entry per field: UNSIGNED, SIGNED or DELTA. */
  #coding: (Uint8Array | undefined)[] = [];
  /** Per event type with delta fields: the previous event's values in this block (0 at its start). */
  #previous: (Float64Array | undefined)[] = [];
  /** Types whose `#previous` holds values to clear at the end of the block, and a flag per type. */
  #touched: number[] = [];
  #isTouched: Uint8Array;
  readonly version: number;
  /**
   * Prefix id to the last number of a numbered string with that prefix in this block; the prefix
   * used last is kept apart (nearly every numbered string has the one prefix of generated ids).
   */
  #lastNumber = new Map<number, number>();
  #numberPrefix = -1;
  #numberLast = 0;
  #prefixCandidates = new Set<string>();

  constructor(events: readonly EventSpec[] = EVENTS, options: SegmentEncoderOptions = {}) {
    this.version = options.version ?? FORMAT_VERSION;
    const deltas = this.version >= 2;
    this.#isTouched = new Uint8Array(Math.max(0, ...events.map((spec) => spec.id)) + 1);
    for (const spec of events) {
      const coding = Uint8Array.from(spec.fields, (f) =>
        f.kind === 'i' ? SIGNED : deltas && f.delta === true ? DELTA : UNSIGNED,
      );
      this.#coding[spec.id] = coding;
      if (coding.includes(DELTA)) this.#previous[spec.id] = new Float64Array(coding.length);
    }
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
    if (this.#strings.size >= MAX_REMEMBERED_STRINGS) return this.#define(value);
    const next = this.#define(value);
    this.#strings.set(value, next);
    return next;
  }

  /** Defines a plain string: the next string id. */
  #define(value: string): number {
    this.#defs.u8(DEF_STRING);
    this.#defs.string(value);
    return ++this.#stringCount;
  }

  /**
   * A fresh id for a string used once (a request id): defined in the current block and not
   * remembered. Remembering every request id of a segment held ~700,000 strings (~70 MB) on the
   * writer thread per minute of full-speed load.
   */
  stringOnce(value: string): number {
    if (value === '') return 0;
    if (this.version >= 2 && this.#numbered(value)) return ++this.#stringCount;
    return this.#define(value);
  }

  /**
   * Defines `value` as a numbered string when it ends in a canonical decimal (no leading zero, a
   * safe integer) after a prefix already shared by an earlier string: `<prefix>-41`, then
   * `<prefix>-42` cost about 3 bytes each, one gzip can predict. False (nothing written) otherwise:
   * anything that would not round-trip exactly (`x-007`, digits past 2^53) stays a plain string,
   * and a prefix seen once is not remembered, so unique ids that happen to end in a digit do not
   * fill the string table.
   */
  #numbered(value: string): boolean {
    let start = value.length;
    while (start > 0 && value.charCodeAt(start - 1) >= 48 && value.charCodeAt(start - 1) <= 57) start--;
    const digits = value.length - start;
    if (digits === 0 || digits > MAX_NUMBER_DIGITS) return false;
    if (digits > 1 && value.charCodeAt(start) === 48) return false;
    const number = Number(value.slice(start));
    if (!(number < MAX_NUMBER)) return false;
    const prefix = value.slice(0, start);
    let prefixId = prefix === '' ? 0 : this.#strings.get(prefix);
    if (prefixId === undefined) {
      if (!this.#prefixCandidates.has(prefix)) {
        if (this.#prefixCandidates.size >= MAX_PREFIX_CANDIDATES) this.#prefixCandidates.clear();
        this.#prefixCandidates.add(prefix);
        return false;
      }
      if (this.#strings.size >= MAX_REMEMBERED_STRINGS) return false;
      this.#prefixCandidates.delete(prefix);
      prefixId = this.string(prefix);
    }
    this.#defineNumbered(prefixId, number);
    return true;
  }

  /**
   * A fresh id for the string `prefix` + `number` (a generated request id, handed over as its
   * parts): a numbered string when the number allows it (a non-negative integer below 2^52), else
   * a plain one. The prefix is remembered at once.
   */
  numberedOnce(prefix: string, number: number): number {
    if (!this.#canNumber(number)) return this.stringOnce(prefix + String(number));
    this.#defineNumbered(prefix === '' ? 0 : this.string(prefix), number);
    return ++this.#stringCount;
  }

  /**
   * As `numberedOnce`, the prefix given as its id (`string(prefix)`), which spares a lookup by the
   * string; undefined, and nothing defined, when `number` cannot be numbered (then `numberedOnce`).
   */
  numberedOnceById(prefixId: number, number: number): number | undefined {
    if (!this.#canNumber(number)) return undefined;
    this.#defineNumbered(prefixId, number);
    return ++this.#stringCount;
  }

  #canNumber(number: number): boolean {
    return this.version >= 2 && Number.isInteger(number) && number >= 0 && number < MAX_NUMBER;
  }

  #defineNumbered(prefixId: number, number: number): void {
    let last = this.#numberLast;
    if (prefixId !== this.#numberPrefix) {
      if (this.#numberPrefix >= 0) this.#lastNumber.set(this.#numberPrefix, this.#numberLast);
      last = this.#lastNumber.get(prefixId) ?? 0;
      this.#numberPrefix = prefixId;
    }
    this.#numberLast = number;
    this.#defs.u8(DEF_NUMBERED);
    this.#defs.varint(prefixId);
    this.#defs.svarint(number - last);
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
    const coding = this.#coding[type];
    if (coding === undefined) throw new RangeError(`unknown event type ${type}`);
    const t = Math.round(timeUs);
    if (this.#eventCount === 0) {
      this.#baseUs = t;
      this.#lastUs = t;
    }
    const out = this.#events;
    out.ensure(8 * (2 + coding.length));
    out.varintUnchecked(type);
    out.svarintUnchecked(t - this.#lastUs);
    this.#lastUs = t;
    if (t < this.#minUs) this.#minUs = t;
    if (t > this.#maxUs) this.#maxUs = t;
    const previous = this.#previous[type];
    if (previous !== undefined && this.#isTouched[type] === 0) {
      this.#isTouched[type] = 1;
      this.#touched.push(type);
    }
    for (let f = 0; f < coding.length; f++) {
      const value = fields[offset + f] as number;
      const code = coding[f];
      if (code === UNSIGNED) out.varintUnchecked(value);
      else if (code === SIGNED) out.svarintUnchecked(value);
      else {
        // The value an unsigned varint would have stored: the same decoded value in both layouts.
        const stored = value > 0 ? Math.floor(value) : 0;
        out.svarintUnchecked(stored - (previous?.[f] as number));
        (previous as Float64Array)[f] = stored;
      }
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
    const parts = this.takeBlockParts();
    if (parts === undefined) return undefined;
    const out = new Uint8Array(parts[0].length + parts[1].length + parts[2].length);
    out.set(parts[0], 0);
    out.set(parts[1], parts[0].length);
    out.set(parts[2], parts[0].length + parts[1].length);
    return out;
  }

  /**
   * The same block as its three parts (header, definitions, events): views of the encoder's own
   * buffers, valid only until the next call that adds to the encoder. The writer thread writes
   * them with one writev; a block copied whole took a fresh zeroed buffer per block (~13% of
   * encoding time in a loop over a service's batches).
   */
  takeBlockParts(): [Uint8Array, Uint8Array, Uint8Array] | undefined {
    if (this.#eventCount === 0 && this.#defs.length === 0) return undefined;
    const header = this.#header;
    header.reset();
    header.u32(BLOCK_MAGIC);
    header.u32(this.#defs.length);
    header.u32(this.#events.length);
    header.u32(this.#eventCount);
    header.f64(this.#baseUs);
    header.f64(this.#eventCount === 0 ? this.#baseUs : this.#minUs);
    header.f64(this.#eventCount === 0 ? this.#baseUs : this.#maxUs);
    const parts: [Uint8Array, Uint8Array, Uint8Array] = [header.view(), this.#defs.view(), this.#events.view()];
    this.#defs.reset();
    this.#events.reset();
    this.#eventCount = 0;
    this.#minUs = Number.POSITIVE_INFINITY;
    this.#maxUs = Number.NEGATIVE_INFINITY;
    // Blocks decode on their own (a time window skips whole blocks): deltas start again from 0.
    for (const type of this.#touched) {
      this.#previous[type]?.fill(0);
      this.#isTouched[type] = 0;
    }
    this.#touched.length = 0;
    this.#lastNumber.clear();
    this.#numberPrefix = -1;
    return parts;
  }
}
