/**
 * Inflates a sealed segment (`.gz`) for the Node readers, as much of it as can be read:
 *
 * - cut short (a full disk, a `kill -9` while gzip wrote it): what is there, inflated with
 *   Z_SYNC_FLUSH as the final flush instead of failing on the missing end;
 * - damaged in the middle, or followed by bytes that are not gzip: the longest prefix of the file
 *   that inflates (found by bisection, only for such a file), so the decoder still reads the complete
 *   blocks before the damage;
 * - bigger inflated than any segment the recorder writes (a gzip bomb, 1000:1 on zeros): refused
 *   once past a bound, instead of holding gigabytes. The bound comes from the segment's own header
 *   (DIAL9_MAX_FILE_SIZE_MB, which a segment passes by one block at most), read from the first
 *   bytes, and is never below DEFAULT_INFLATED_LIMIT nor above MAX_INFLATED_LIMIT.
 */
import { constants, gunzipSync, type ZlibOptions } from 'node:zlib';
import { FILE_MAGIC, isGzip, readHeader } from '../format/index.js';

const MB = 1024 * 1024;
/** Room for the recorder's default segments (100 MB) and their last block, with no header to ask. */
export const DEFAULT_INFLATED_LIMIT = 256 * MB;
/** Whatever a header says: more than this would not be analysed in memory anyway. */
export const MAX_INFLATED_LIMIT = 2048 * MB;
/** Over DIAL9_MAX_FILE_SIZE_MB: the last block, which may take a segment past it. */
const LAST_BLOCK_SLACK = 64 * MB;
/** The header is in the first kilobytes; this much input inflates to 16 MiB at most (1032:1). */
const HEAD_INPUT = 16 * 1024;

export interface SegmentBytes {
  readonly bytes: Uint8Array;
  /** Why the gzip data could not be read to its end, when it could not (what inflated is in `bytes`). */
  readonly damage?: Error;
}

/** The first inflated bytes of a `.gz` (enough for its header), or undefined when they do not inflate. */
export function inflateHead(raw: Uint8Array): Uint8Array | undefined {
  return tryGunzip(raw.subarray(0, HEAD_INPUT), { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: 32 * MB });
}

/** How far one segment may inflate, from the recorder's settings in its header when they can be read. */
export function inflatedLimit(head: Uint8Array | undefined): number {
  let configured: unknown;
  try {
    configured = head === undefined ? undefined : readHeader(head)?.header.config.maxFileSizeBytes;
  } catch {
    // Not a trace, or a header that is not whole: the decoder will say so.
  }
  if (typeof configured !== 'number' || !(configured > 0)) return DEFAULT_INFLATED_LIMIT;
  return Math.min(MAX_INFLATED_LIMIT, Math.max(DEFAULT_INFLATED_LIMIT, configured + LAST_BLOCK_SLACK));
}

/** The segment's bytes: inflated when they are gzip (as much as can be), else as they are. */
export function inflateSegment(raw: Uint8Array, limit?: number): SegmentBytes {
  if (!isGzip(raw)) return { bytes: asBytes(raw) };
  const head = inflateHead(raw);
  // Not a trace at all (a bomb of zeros, another program's gzip): the head is enough to say so.
  if (head !== undefined && !startsLikeSegment(head)) return { bytes: head };
  const maxOutputLength = limit ?? inflatedLimit(head);
  try {
    return { bytes: asBytes(gunzipSync(raw, { maxOutputLength })) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw new Error(
        `it inflates to more than ${Math.round(maxOutputLength / MB)} MB, more than any segment the recorder writes (DIAL9_MAX_FILE_SIZE_MB in its header, and one block): not read`,
      );
    const damage = err as Error;
    const options: ZlibOptions = { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength };
    // Cut short: everything there inflates.
    const whole = tryGunzip(raw, options);
    if (whole !== undefined) return { bytes: whole, damage };
    // Damaged (or followed by what is not gzip): the longest prefix that inflates. A prefix that
    // inflates has every shorter one inflate too, so bisection finds it in log2(size) tries.
    let good: Uint8Array | undefined;
    let low = 0;
    let high = raw.length - 1;
    while (low <= high) {
      const middle = Math.floor((low + high) / 2);
      const bytes = tryGunzip(raw.subarray(0, middle), options);
      if (bytes === undefined) high = middle - 1;
      else {
        good = bytes;
        low = middle + 1;
      }
    }
    if (good === undefined || good.length === 0) throw damage;
    return { bytes: good, damage };
  }
}

function tryGunzip(raw: Uint8Array, options: ZlibOptions): Uint8Array | undefined {
  try {
    return asBytes(gunzipSync(raw, options));
  } catch {
    return undefined;
  }
}

/** "DIAL9JS\0", or as much of it as there is. */
function startsLikeSegment(bytes: Uint8Array): boolean {
  for (let i = 0; i < Math.min(bytes.length, FILE_MAGIC.length); i++) if (bytes[i] !== FILE_MAGIC[i]) return false;
  return true;
}

function asBytes(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
