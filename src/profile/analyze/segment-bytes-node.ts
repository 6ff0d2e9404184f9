/**
 * A segment file's bytes, uncompressed, for the CLI readers (analyze and export; Node only). A sealed
 * `.gz` cut short (a full disk, a `kill -9` while gzip wrote it) still inflates up to where it stops:
 * the decoder then reads its complete blocks and says `truncated`, as it does for an `.active` file.
 */
import { closeSync, constants as fs, fstatSync, openSync, readFileSync, readSync, type Stats } from 'node:fs';
import { TraceError } from '../../errors.js';
import { type DecodedSegment, decodeSegment, FILE_MAGIC, isGzip } from '../format/index.js';
import { inflateSegment, type SegmentBytes } from './inflate-node.js';

export { inflateHead, inflateSegment, type SegmentBytes } from './inflate-node.js';

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
    if (maxBytes === undefined) {
      const all = readFileSync(fd);
      return new Uint8Array(all.buffer, all.byteOffset, all.byteLength);
    }
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

export interface SegmentRead {
  readonly segment: DecodedSegment;
  /** Set when a `.gz` was cut short or is damaged: what was read of it, for one warning line. */
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
    if (damage === undefined) throw unreadable(`${path} is not a readable trace segment`, err);
    // Cut short inside its header: that is the whole story. Damaged: say what the damage did too.
    if (damage.message === 'unexpected end of file') throw unreadable(`cannot read trace segment ${path}`, damage);
    throw unreadable(`cannot read trace segment ${path}`, `${damage.message} (${(err as Error).message})`);
  }
  const blocks = segment.blocks.length;
  const read = `read its ${blocks} complete block${blocks === 1 ? '' : 's'}`;
  if (damage !== undefined) {
    const cut = damage.message === 'unexpected end of file';
    return { segment, cutShort: `${path} is ${cut ? 'cut short' : 'damaged'} (${damage.message}): ${read}` };
  }
  // A sealed segment inflated whole, yet holds bytes after its last block that are not a block: a
  // second segment appended as another gzip member, or damage inside the data (gzip's CRC only
  // covers what it was given). An `.active` file ending inside a block is normal: no warning.
  if (segment.truncated && isGzip(raw)) {
    const last = segment.blocks[blocks - 1];
    const end = last === undefined ? undefined : last.offset + last.bytes;
    const another = end !== undefined && FILE_MAGIC.every((byte, i) => bytes[end + i] === byte);
    const what = another ? 'another segment (a second gzip member)' : 'bytes that are not a block';
    return { segment, cutShort: `${path} is damaged (${what} after its last complete block): ${read}` };
  }
  return { segment };
}

export function unreadable(what: string, err: unknown): TraceError {
  const why = err instanceof Error ? err.message : String(err);
  return new TraceError('SVC_ERR_TRACE_UNREADABLE', `${what}: ${why}`, err);
}
