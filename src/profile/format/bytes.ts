/**
 * Growable byte buffer and its reader: LEB128 varints (safe to 2^53, so arithmetic rather than
 * 32-bit shifts), zigzag for signed values, little-endian u32/f64, UTF-8 strings. No Node imports.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/**
 * What the encoder clamps to (see `svarintUnchecked`). Signed: the widest range whose zigzag form a
 * double holds exactly (2v for v up to 2^53 - 1 is even and below 2^54; -2v - 1 must stay at or below
 * 2^53 to be exact, or a negative value would round to an even, positive one). Unsigned: 2^54, which
 * takes 8 varint bytes, the room `ensure()` makes per field.
 */
const SIGNED_MAX = Number.MAX_SAFE_INTEGER;
const SIGNED_MIN = -(2 ** 52);
const UNSIGNED_MAX = 2 ** 54;

export class ByteWriter {
  #bytes: Uint8Array;
  #view: DataView;
  length = 0;

  constructor(initialBytes = 64 * 1024) {
    this.#bytes = new Uint8Array(initialBytes);
    this.#view = new DataView(this.#bytes.buffer);
  }

  #reserve(extra: number): void {
    if (this.length + extra <= this.#bytes.length) return;
    let size = this.#bytes.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#bytes.subarray(0, this.length));
    this.#bytes = next;
    this.#view = new DataView(next.buffer);
  }

  /** Makes room for `extra` more bytes, so that the `*Unchecked` writes after it need no check each. */
  ensure(extra: number): void {
    this.#reserve(extra);
  }

  /** Unsigned varint; negative or fractional values are clamped and truncated. */
  varint(value: number): void {
    this.#reserve(8);
    this.varintUnchecked(value);
  }

  /** `varint()` into room made by `ensure()` (8 bytes each: a varint below 2^53 takes at most 8). */
  varintUnchecked(value: number): void {
    let v = value > 0 ? Math.floor(value) : 0;
    const bytes = this.#bytes;
    // Below 2^31 (nearly every value), 32-bit shifts: several times faster than division.
    if (v < 0x80000000) {
      while (v >= 0x80) {
        bytes[this.length++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      bytes[this.length++] = v;
      return;
    }
    // Clamped (Infinity included): the loop below must end, within the 8 bytes made room for.
    if (v > UNSIGNED_MAX) v = UNSIGNED_MAX;
    while (v >= 0x80) {
      bytes[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    bytes[this.length++] = v;
  }

  /** Signed varint (zigzag). */
  svarint(value: number): void {
    this.#reserve(8);
    this.svarintUnchecked(value);
  }

  /**
   * Values above 2^53 - 1 or below -2^52 are clamped to that bound, keeping their sign, and NaN is 0:
   * the division loop never ended for Infinity (the writer thread spun), and anything much larger
   * made a varint the decoder refused, losing the rest of the segment.
   */
  svarintUnchecked(value: number): void {
    let v = Math.trunc(value);
    if (!(v <= SIGNED_MAX && v >= SIGNED_MIN)) v = v > 0 ? SIGNED_MAX : v < 0 ? SIGNED_MIN : 0;
    this.varintUnchecked(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  u8(value: number): void {
    this.#reserve(1);
    this.#bytes[this.length++] = value;
  }

  u32(value: number): void {
    this.#reserve(4);
    this.#view.setUint32(this.length, value, true);
    this.length += 4;
  }

  f64(value: number): void {
    this.#reserve(8);
    this.#view.setFloat64(this.length, value, true);
    this.length += 8;
  }

  /** Varint byte length, then the UTF-8 bytes. */
  string(value: string): void {
    const encoded = encoder.encode(value);
    this.varint(encoded.length);
    this.raw(encoded);
  }

  raw(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#bytes.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Overwrites a u32 written earlier (block lengths are known only at the end). */
  patchU32(offset: number, value: number): void {
    this.#view.setUint32(offset, value, true);
  }

  patchF64(offset: number, value: number): void {
    this.#view.setFloat64(offset, value, true);
  }

  /** A view of the bytes written so far (valid until the next write). */
  view(): Uint8Array {
    return this.#bytes.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }
}

export class ByteReader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  offset: number;
  readonly end: number;

  constructor(bytes: Uint8Array, offset = 0, end = bytes.length) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = offset;
    this.end = end;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    const bytes = this.bytes;
    for (;;) {
      if (this.offset >= this.end) throw new RangeError('varint runs past the end');
      const byte = bytes[this.offset++] as number;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new RangeError('varint too long');
    }
  }

  svarint(): number {
    const v = this.varint();
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }

  u8(): number {
    if (this.offset >= this.end) throw new RangeError('u8 past the end');
    return this.bytes[this.offset++] as number;
  }

  u32(): number {
    const v = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return v;
  }

  f64(): number {
    const v = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return v;
  }

  string(): string {
    const length = this.varint();
    if (this.offset + length > this.end) throw new RangeError('string runs past the end');
    const value = decoder.decode(this.bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return value;
  }
}
