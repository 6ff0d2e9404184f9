/**
 * The hot path: events go as fixed-size records into preallocated Float64Array buffers, the
 * strings used once (paths, request ids) as bytes after them in the same buffer. A full buffer is
 * handed to the writer thread (shared memory: neither copied nor transferred, see protocol.ts) and
 * comes back once encoded. When every buffer is out, events are dropped and counted; nothing here
 * ever blocks or grows.
 */
import { MAX_FIELDS } from '../format/schema.js';
import { MAX_INLINE_ENTRY_BYTES, writeNumbered, writeText } from './inline-text.js';
import type { Batch } from './protocol.js';

/** type, time (ms, performance.now()), then the fields. */
export const RECORD_SLOTS = 2 + MAX_FIELDS;
/** Interned strings remembered on this side; past this, forgotten and sent again (bounded memory). */
const MAX_INTERNED = 20_000;
/** Slots of the intern cache, minus one. */
const RECENT_MASK = 15;
/** Bytes for strings used once, per buffer (after the records). */
const TEXT_BYTES = 128 * 1024;
/**
 * An event has at most two strings used once (a request's id and path): a buffer ships once its text
 * area has less room than two of the longest, so the strings of the next event always fit.
 */
const TEXT_HIGH_WATER = TEXT_BYTES - 2 * MAX_INLINE_ENTRY_BYTES;

export interface RingOptions {
  /** Records per buffer. */
  readonly recordsPerBuffer?: number;
  readonly buffers?: number;
  /** Sends a full buffer; returns false when the writer is gone. */
  readonly ship: (batch: Batch) => boolean;
}

/** One buffer's views: the records, then the text area. */
interface Slab {
  readonly buffer: SharedArrayBuffer;
  readonly records: Float64Array;
  readonly text: Uint8Array;
  readonly view: DataView;
}

export class EventRing {
  #free: SharedArrayBuffer[] = [];
  #current: Slab | undefined;
  #count = 0;
  #textUsed = 0;
  #capacity: number;
  #textOffset: number;
  #defs: (number | string)[] = [];
  #interned = new Map<string, number>();
  /** The last interned strings and their ids, by a slot from their length and first character. */
  #recentStrings: (string | undefined)[] = new Array(RECENT_MASK + 1).fill(undefined);
  #recentIds = new Float64Array(RECENT_MASK + 1);
  #nextStringId = 1;
  #resetStrings = false;
  #droppedSinceShip = 0;
  #droppedAtMs = 0;
  #ship: (batch: Batch) => boolean;
  /** Sources that hold events back to record them in runs (see `deferred`). */
  #flushers: (() => void)[] = [];
  /** Totals over the recorder's life. */
  recorded = 0;
  dropped = 0;

  constructor(options: RingOptions) {
    this.#capacity = options.recordsPerBuffer ?? 4096;
    this.#textOffset = this.#capacity * RECORD_SLOTS * 8;
    this.#ship = options.ship;
    for (let i = 0; i < (options.buffers ?? 8); i++)
      this.#free.push(new SharedArrayBuffer(this.#textOffset + TEXT_BYTES));
  }

  /** The buffer events go into now; undefined when every buffer is with the writer. */
  #slab(): Slab | undefined {
    if (this.#current !== undefined) return this.#current;
    const buffer = this.#free.pop();
    if (buffer === undefined) return undefined;
    this.#current = {
      buffer,
      records: new Float64Array(buffer, 0, this.#capacity * RECORD_SLOTS),
      text: new Uint8Array(buffer, this.#textOffset, TEXT_BYTES),
      view: new DataView(buffer, this.#textOffset, TEXT_BYTES),
    };
    return this.#current;
  }

  /** Records one event; string fields hold `intern()`/`inline()` results. */
  put(type: number, timeMs: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0): void {
    const slab = this.#slab();
    if (slab === undefined) {
      if (this.#droppedSinceShip === 0) this.#droppedAtMs = timeMs;
      this.#droppedSinceShip++;
      this.dropped++;
      return;
    }
    const buffer = slab.records;
    let i = this.#count * RECORD_SLOTS;
    buffer[i++] = type;
    buffer[i++] = timeMs;
    buffer[i++] = a;
    buffer[i++] = b;
    buffer[i++] = c;
    buffer[i++] = d;
    buffer[i++] = e;
    buffer[i] = f;
    this.recorded++;
    if (++this.#count === this.#capacity || this.#textUsed > TEXT_HIGH_WATER) this.#shipCurrent();
  }

  /** A string seen often (operation names, methods, origins): sent to the writer once. */
  intern(value: string | undefined): number {
    if (value === undefined || value === '') return 0;
    // A request brings the same few strings as the one before (its operation, method, id prefix),
    // usually the very same string objects: a compare by identity first spares a hashed lookup
    // (three per request were ~6% of the recorder's main-thread time).
    const slot = (value.length * 31 + value.charCodeAt(0)) & RECENT_MASK;
    if (this.#recentStrings[slot] === value) return this.#recentIds[slot] as number;
    let id = this.#interned.get(value);
    if (id === undefined) {
      if (this.#interned.size >= MAX_INTERNED) {
        this.#shipCurrent();
        this.#interned.clear();
        this.#recentStrings.fill(undefined);
        this.#resetStrings = true;
      }
      id = this.#nextStringId++;
      this.#interned.set(value, id);
      this.#defs.push(id, value);
    }
    this.#recentStrings[slot] = value;
    this.#recentIds[slot] = id;
    return id;
  }

  /**
   * A string used once (a request id, a path): copied into this buffer's text area, cut at
   * MAX_INLINE_CHARS. Call it after `intern()` for the same event (interning may ship the buffer).
   */
  inline(value: string | undefined): number {
    if (value === undefined || value === '') return 0;
    // Nowhere to put the event it belongs to: it will be dropped, so keep nothing for it.
    const slab = this.#slab();
    if (slab === undefined) return 0;
    const at = this.#textUsed;
    this.#textUsed = writeText(slab.text, at, value);
    return -(at + 1);
  }

  /**
   * A string used once that is an interned prefix and a number (a generated request id): the two
   * numbers travel with this buffer, the writer makes the string.
   */
  numbered(prefixId: number, value: number): number {
    const slab = this.#slab();
    if (slab === undefined) return 0;
    const at = this.#textUsed;
    this.#textUsed = writeNumbered(slab.view, at, prefixId, value);
    return -(at + 1);
  }

  /**
   * `flush` records events a source holds back, whenever the ring ships on request (its timer, a
   * trigger, the close) and before those that follow; returns the unregistering function. A source
   * that records per request batches its events this way: recorded in runs, the ring's state stays
   * in cache, where one event at a time between two requests' worth of other code found it cold.
   */
  deferred(flush: () => void): () => void {
    this.#flushers.push(flush);
    return () => {
      this.#flushers = this.#flushers.filter((f) => f !== flush);
    };
  }

  /**
   * Hands the current buffer to the writer, after the events sources held back (also on a timer, so
   * quiet periods reach the disk).
   */
  ship(): void {
    for (const flush of this.#flushers) flush();
    this.#shipCurrent();
  }

  #shipCurrent(): void {
    const slab = this.#current;
    if (slab === undefined || (this.#count === 0 && this.#droppedSinceShip === 0 && this.#defs.length === 0)) return;
    const batch: Batch = {
      buffer: slab.buffer,
      count: this.#count,
      textOffset: this.#textOffset,
      textBytes: this.#textUsed,
      defs: this.#defs,
      resetStrings: this.#resetStrings,
      dropped: this.#droppedSinceShip,
      droppedAtMs: this.#droppedAtMs,
    };
    this.#current = undefined;
    this.#count = 0;
    this.#textUsed = 0;
    this.#defs = [];
    this.#resetStrings = false;
    this.#droppedSinceShip = 0;
    if (!this.#ship(batch)) this.#free.push(batch.buffer);
  }

  /** A buffer the writer is done with. */
  release(buffer: SharedArrayBuffer): void {
    this.#free.push(buffer);
  }
}
