/**
 * Strings used once (paths, request ids) travel as bytes in the same ArrayBuffer as their records,
 * after them, and are transferred with it: nothing of theirs stays on the main thread's heap. They
 * used to ride in a JavaScript array until the buffer shipped (up to 100 ms): at full load every
 * scavenge then copied a couple of thousand of them, and scavenges took ~0.3-0.5 ms longer (median,
 * `node --trace-gc`, recorder on against a build that kept no inline strings); cloning them into the
 * batch message cost as much again.
 *
 * An entry is a kind byte, then:
 * - TEXT: a u16 byte length (little endian) and that many bytes of UTF-8;
 * - NUMBERED: a u32 interned prefix id and an f64 number (a generated request id, made a string by
 *   the writer: `EventRing.numbered`).
 * A field refers to the entry at byte offset `o` of the text area as `-(o + 1)`.
 */

export const INLINE_TEXT = 0;
export const INLINE_NUMBERED = 1;
/** Characters of one string kept at most: a longer one (a 10 KB URL) is cut there. */
export const MAX_INLINE_CHARS = 4096;
/** Bytes one entry may take at most: UTF-8 needs up to 3 bytes per UTF-16 unit, plus the header. */
export const MAX_INLINE_ENTRY_BYTES = 3 + 3 * MAX_INLINE_CHARS;
const NUMBERED_BYTES = 13;

const textEncoder = new TextEncoder();

/**
 * Writes `value` (non-empty) at `at` of `bytes`; returns the offset after it. The caller checked
 * that MAX_INLINE_ENTRY_BYTES fit. ASCII, nearly every path, is copied here without a call into C++.
 */
export function writeText(bytes: Uint8Array, at: number, value: string): number {
  const length = Math.min(value.length, MAX_INLINE_CHARS);
  let end = at + 3;
  let i = 0;
  for (; i < length; i++) {
    const code = value.charCodeAt(i);
    if (code > 0x7f) break;
    bytes[end++] = code;
  }
  if (i < length) end += textEncoder.encodeInto(value.slice(i, length), bytes.subarray(end)).written;
  const byteLength = end - at - 3;
  bytes[at] = INLINE_TEXT;
  bytes[at + 1] = byteLength & 0xff;
  bytes[at + 2] = byteLength >>> 8;
  return end;
}

/** Writes a numbered entry at `at`; returns the offset after it. */
export function writeNumbered(view: DataView, at: number, prefixId: number, value: number): number {
  view.setUint8(at, INLINE_NUMBERED);
  view.setUint32(at + 1, prefixId, true);
  view.setFloat64(at + 5, value, true);
  return at + NUMBERED_BYTES;
}

/**
 * Reads entries of a batch's text area (`bytes`). Field values go in as they are in the records
 * (`-(offset + 1)`); nothing is allocated but the strings themselves.
 */
export class InlineReader {
  readonly #bytes: Uint8Array;
  readonly #buffer: Buffer;
  readonly #view: DataView;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    // Buffer's native UTF-8 slice: ~2x faster than TextDecoder on these short strings.
    this.#buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** INLINE_TEXT or INLINE_NUMBERED. */
  kind(field: number): number {
    return this.#bytes[-field - 1] as number;
  }

  /** An INLINE_TEXT entry's string. */
  text(field: number): string {
    const at = -field - 1;
    const length = (this.#bytes[at + 1] as number) | ((this.#bytes[at + 2] as number) << 8);
    return this.#buffer.toString('utf8', at + 3, at + 3 + length);
  }

  /** Whether an INLINE_TEXT entry's UTF-8 bytes are `bytes` (compared in place: no view made). */
  textEquals(field: number, bytes: Uint8Array): boolean {
    const at = -field - 1;
    const length = (this.#bytes[at + 1] as number) | ((this.#bytes[at + 2] as number) << 8);
    if (length !== bytes.length) return false;
    const own = this.#bytes;
    const start = at + 3;
    for (let i = length - 1; i >= 0; i--) if (own[start + i] !== bytes[i]) return false;
    return true;
  }

  /** An INLINE_TEXT entry's UTF-8 bytes (a view: copy to keep). */
  textBytes(field: number): Uint8Array {
    const at = -field - 1;
    const length = (this.#bytes[at + 1] as number) | ((this.#bytes[at + 2] as number) << 8);
    return this.#bytes.subarray(at + 3, at + 3 + length);
  }

  /** An INLINE_NUMBERED entry's interned prefix id. */
  prefixId(field: number): number {
    return this.#view.getUint32(-field, true);
  }

  /** An INLINE_NUMBERED entry's number. */
  number(field: number): number {
    return this.#view.getFloat64(-field + 4, true);
  }
}
