/**
 * A segment file's bytes, uncompressed, for the CLI readers (analyze and export; Node only). A sealed
 * `.gz` cut short (a full disk, a `kill -9` while gzip wrote it) still inflates up to where it stops:
 * the decoder then reads its complete blocks and says `truncated`, as it does for an `.active` file.
 */
import { constants, gunzipSync } from 'node:zlib';
import { isGzip } from '../format/index.js';

export interface SegmentBytes {
  readonly bytes: Uint8Array;
  /** Why the gzip data could not be read to its end, when it could not (what inflated is in `bytes`). */
  readonly damage?: Error;
}

export function inflateSegment(raw: Uint8Array): SegmentBytes {
  if (!isGzip(raw)) return { bytes: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) };
  try {
    return { bytes: asBytes(gunzipSync(raw)) };
  } catch (err) {
    // Z_SYNC_FLUSH as the final flush: inflate what is there instead of failing on the missing end
    // ("unexpected end of file"). Data that is corrupt, not cut short, still fails: rethrow the
    // original error, it says what is wrong with the file.
    let bytes: Buffer;
    try {
      bytes = gunzipSync(raw, { finishFlush: constants.Z_SYNC_FLUSH });
    } catch {
      throw err;
    }
    return { bytes: asBytes(bytes), damage: err as Error };
  }
}

function asBytes(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
