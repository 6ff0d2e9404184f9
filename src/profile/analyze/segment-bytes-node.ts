/**
 * A segment file's bytes, uncompressed, for the CLI readers (analyze and export; Node only). A sealed
 * `.gz` cut short (a full disk, a `kill -9` while gzip wrote it) still inflates up to where it stops:
 * the decoder then reads its complete blocks and says `truncated`, as it does for an `.active` file.
 */
import { closeSync, constants as fs, fstatSync, openSync, readFileSync, readSync, type Stats } from 'node:fs';
import { constants, gunzipSync } from 'node:zlib';
import { TraceError } from '../../errors.js';
import { type DecodedSegment, decodeSegment, isGzip } from '../format/index.js';

export interface SegmentBytes {
  readonly bytes: Uint8Array;
  /** Why the gzip data could not be read to its end, when it could not (what inflated is in `bytes`). */
  readonly damage?: Error;
}

/**
 * A segment file's raw bytes (all of them, or the first `maxBytes`), for every reader of segment
 * files. Only a regular file is read: a FIFO or a device named like a segment (`trace.0.bin.active`)
 * would block the reader forever or feed it without end. Opened with O_NONBLOCK, so opening a FIFO
 * does not itself wait for a writer; the type is checked on the open descriptor, not on a name
 * that could change in between. Throws TraceError SVC_ERR_TRACE_UNREADABLE.
 */
export function readRawSegment(path: string, maxBytes?: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, fs.O_RDONLY | fs.O_NONBLOCK);
  } catch (err) {
    throw unreadable(`cannot read trace segment ${path}`, err);
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw new Error(`it is ${fileType(info)}, not a regular file`);
    if (maxBytes === undefined) return asBytes(readFileSync(fd));
    const buffer = new Uint8Array(Math.min(maxBytes, info.size));
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read);
  } catch (err) {
    throw unreadable(`cannot read trace segment ${path}`, err);
  } finally {
    closeSync(fd);
  }
}

function fileType(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
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

export interface SegmentRead {
  readonly segment: DecodedSegment;
  /** Set when a `.gz` was cut short: what was read of it, for one warning line. */
  readonly cutShort?: string;
}

/**
 * Decodes one segment file's raw bytes, for analyze and export alike. Throws TraceError
 * SVC_ERR_TRACE_UNREADABLE when nothing can be read: the gzip error when the file was cut inside its
 * header (it says why better than the decoder), else the decoder's.
 */
export function decodeSegmentFile(path: string, raw: Uint8Array): SegmentRead {
  let inflated: SegmentBytes;
  try {
    inflated = inflateSegment(raw);
  } catch (err) {
    throw unreadable(`cannot read trace segment ${path}`, err);
  }
  const { bytes, damage } = inflated;
  let segment: DecodedSegment;
  try {
    segment = decodeSegment(bytes);
  } catch (err) {
    if (damage !== undefined) throw unreadable(`cannot read trace segment ${path}`, damage);
    throw unreadable(`${path} is not a readable trace segment`, err);
  }
  if (damage === undefined) return { segment };
  const blocks = segment.blocks.length;
  return {
    segment,
    cutShort: `${path} is cut short (${damage.message}): read its ${blocks} complete block${blocks === 1 ? '' : 's'}`,
  };
}

export function unreadable(what: string, err: unknown): TraceError {
  const why = err instanceof Error ? err.message : String(err);
  return new TraceError('SVC_ERR_TRACE_UNREADABLE', `${what}: ${why}`, err);
}
