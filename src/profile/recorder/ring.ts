/**
 * The hot path: events go as fixed-size records into preallocated Float64Array buffers. A full
 * buffer is handed to the writer thread (transferred, not copied) and comes back once encoded.
 * When every buffer is out, events are dropped and counted; nothing here ever blocks or grows.
 */
import { MAX_FIELDS } from '../format/schema.js';
import type { Batch } from './protocol.js';

/** type, time (ms, performance.now()), then the fields. */
export const RECORD_SLOTS = 2 + MAX_FIELDS;
/** Interned strings remembered on this side; past this, forgotten and sent again (bounded memory). */
const MAX_INTERNED = 20_000;

export interface RingOptions {
  /** Records per buffer. */
  readonly recordsPerBuffer?: number;
  readonly buffers?: number;
  /** Sends a full buffer; returns false when the writer is gone. */
  readonly ship: (batch: Batch) => boolean;
}

export class EventRing {
  #free: Float64Array[] = [];
  #current: Float64Array | undefined;
  #count = 0;
  #capacity: number;
  #defs: (number | string)[] = [];
  #inline: (string | number)[] = [];
  #interned = new Map<string, number>();
  #nextStringId = 1;
  #resetStrings = false;
  #droppedSinceShip = 0;
  #droppedAtMs = 0;
  #ship: (batch: Batch) => boolean;
  /** Totals over the recorder's life. */
  recorded = 0;
  dropped = 0;

  constructor(options: RingOptions) {
    this.#capacity = options.recordsPerBuffer ?? 4096;
    this.#ship = options.ship;
    for (let i = 0; i < (options.buffers ?? 8); i++) this.#free.push(new Float64Array(this.#capacity * RECORD_SLOTS));
    this.#current = this.#free.pop();
  }

  /** Records one event; string fields hold `intern()`/`inline()` results. */
  put(type: number, timeMs: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0): void {
    let buffer = this.#current;
    if (buffer === undefined) {
      buffer = this.#current = this.#free.pop();
      if (buffer === undefined) {
        if (this.#droppedSinceShip === 0) this.#droppedAtMs = timeMs;
        this.#droppedSinceShip++;
        this.dropped++;
        return;
      }
    }
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
    if (++this.#count === this.#capacity) this.ship();
  }

  /** A string seen often (operation names, methods, origins): sent to the writer once. */
  intern(value: string | undefined): number {
    if (value === undefined || value === '') return 0;
    let id = this.#interned.get(value);
    if (id !== undefined) return id;
    if (this.#interned.size >= MAX_INTERNED) {
      this.ship();
      this.#interned.clear();
      this.#resetStrings = true;
    }
    id = this.#nextStringId++;
    this.#interned.set(value, id);
    this.#defs.push(id, value);
    return id;
  }

  /** A string used once (a request id, a path): travels with this buffer only. */
  inline(value: string | undefined): number {
    // Nowhere to put the event it belongs to: it will be dropped, so keep nothing for it.
    if (value === undefined || value === '' || (this.#current === undefined && this.#free.length === 0)) return 0;
    return -this.#inline.push(value);
  }

  /**
   * A string used once that is an interned prefix and a number (a generated request id): the two
   * numbers travel with this buffer, the writer makes the string (`Batch.inline`).
   */
  numbered(prefixId: number, value: number): number {
    if (this.#current === undefined && this.#free.length === 0) return 0;
    return -(this.#inline.push(prefixId, value) - 1);
  }

  /** Hands the current buffer to the writer (also on a timer, so quiet periods reach the disk). */
  ship(): void {
    const buffer = this.#current;
    if (buffer === undefined || (this.#count === 0 && this.#droppedSinceShip === 0 && this.#defs.length === 0)) return;
    const batch: Batch = {
      buffer: buffer.buffer as ArrayBuffer,
      count: this.#count,
      defs: this.#defs,
      inline: this.#inline,
      resetStrings: this.#resetStrings,
      dropped: this.#droppedSinceShip,
      droppedAtMs: this.#droppedAtMs,
    };
    this.#current = this.#free.pop();
    this.#count = 0;
    this.#defs = [];
    this.#inline = [];
    this.#resetStrings = false;
    this.#droppedSinceShip = 0;
    if (!this.#ship(batch)) this.#free.push(new Float64Array(batch.buffer));
  }

  /** A buffer the writer is done with. */
  release(buffer: ArrayBuffer): void {
    this.#free.push(new Float64Array(buffer));
  }
}
