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

export type InlineEntry =
  | { readonly kind: typeof INLINE_TEXT; readonly text: string }
  | { readonly kind: typeof INLINE_NUMBERED; readonly prefixId: number; readonly value: number };

/** Reads entries of a batch's text area (`bytes`, the area's own offsets). */
export class InlineReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #decoder = new TextDecoder();

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The entry a field value `-(offset + 1)` refers to. */
  read(field: number): InlineEntry {
    const at = -field - 1;
    const bytes = this.#bytes;
    if (bytes[at] === INLINE_NUMBERED)
      return {
        kind: INLINE_NUMBERED,
        prefixId: this.#view.getUint32(at + 1, true),
        value: this.#view.getFloat64(at + 5, true),
      };
    const length = (bytes[at + 1] as number) | ((bytes[at + 2] as number) << 8);
    return { kind: INLINE_TEXT, text: this.#text(at + 3, length) };
  }

  #text(start: number, length: number): string {
    const bytes = this.#bytes;
    const slice = bytes.subarray(start, start + length);
    // Short ASCII (nearly every path and id): one flat string, no decoder call.
    if (length <= 256 && slice.every((code) => code < 0x80))
      return String.fromCharCode.apply(null, slice as unknown as number[]);
    return this.#decoder.decode(slice);
  }
}
