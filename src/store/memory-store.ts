import { HttpError } from '../errors.js';
import type { ItemStore } from './store.js';

export interface MemoryStoreLimits {
  /** Characters of keys and values, counted as V8 holds them (see `heldBytes`). */
  readonly maxBytes: number;
  readonly maxItems: number;
}

export const MEMORY_STORE_DEFAULTS: MemoryStoreLimits = Object.freeze({
  maxBytes: 64 * 1024 * 1024, // 64 MiB
  maxItems: 100_000,
});

/** V8's Map holds at most 2^24 entries; past that `set` throws. */
export const MAX_STORE_ITEMS = 2 ** 24;

/**
 * The heap a string's characters take: V8 keeps ASCII text one byte a character; other text is
 * counted two bytes a UTF-16 code unit, which is what V8 uses unless every character fits in
 * Latin-1 (then it uses one: counted high, never low).
 */
export function heldBytes(text: string): number {
  return Buffer.byteLength(text, 'utf8') === text.length ? text.length : 2 * text.length;
}

/**
 * The default store: a Map, bounded so no client can grow the heap without limit. A PUT that
 * would take the store over `maxItems` or `maxBytes` is refused with 507 `SVC_ERR_STORE_FULL`;
 * overwriting a key with a value no larger always succeeds, and reads never fail. Values are lost
 * when the process exits.
 */
export class MemoryStore implements ItemStore {
  readonly limits: MemoryStoreLimits;
  #items = new Map<string, string>();
  #bytes = 0;

  constructor(limits: MemoryStoreLimits = MEMORY_STORE_DEFAULTS) {
    this.limits = limits;
  }

  /** Bytes held by keys and values, as `heldBytes` counts them. */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#items.size;
  }

  async get(key: string): Promise<string | undefined> {
    return this.#items.get(key);
  }

  async set(key: string, value: string): Promise<void> {
    const valueBytes = heldBytes(value);
    const old = this.#items.get(key);
    if (old !== undefined) {
      const grown = valueBytes - heldBytes(old);
      if (grown > 0 && this.#bytes + grown > this.limits.maxBytes) throw this.#full(grown);
      this.#items.set(key, value);
      this.#bytes += grown;
      return;
    }
    if (this.#items.size >= this.limits.maxItems) throw this.#full(0);
    const added = heldBytes(key) + valueBytes;
    if (this.#bytes + added > this.limits.maxBytes) throw this.#full(added);
    // A route parameter is a slice of the request URL, and V8 keeps the whole URL alive as long as
    // the slice lives (query string included): store a copy, so a key holds only its own characters.
    const copy = Buffer.from(key, 'utf8').toString('utf8');
    // (A key with a lone surrogate would not survive the round trip; HTTP cannot send one.)
    this.#items.set(copy === key ? copy : key, value);
    this.#bytes += added;
  }

  async close(): Promise<void> {}

  #full(neededBytes: number): HttpError {
    const { maxItems, maxBytes } = this.limits;
    const what =
      neededBytes === 0
        ? `it holds ${maxItems} items, the most --store-max-items allows`
        : `${neededBytes} more bytes would exceed --store-max-bytes (${this.#bytes} of ${maxBytes} used)`;
    return new HttpError(507, 'SVC_ERR_STORE_FULL', `the item store is full: ${what}`);
  }
}
