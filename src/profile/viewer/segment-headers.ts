/**
 * The headers of a trace's segments, read from their first bytes only (a gunzip stream stopped as
 * soon as the header is whole): the page needs every segment's start time before its first view,
 * and fetching the head of ten 30 MB downloads from the browser cost it seconds.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { readHeader } from '../format/decoder.js';
import type { TraceHeader } from '../format/schema.js';

export async function segmentHeader(path: string): Promise<TraceHeader | undefined> {
  const file = createReadStream(path, { highWaterMark: 16 * 1024 });
  const source = path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of source) {
      chunks.push(chunk as Buffer);
      const read = readHeader(new Uint8Array(Buffer.concat(chunks)));
      if (read !== undefined) return read.header;
    }
  } catch {
    return undefined;
  } finally {
    file.destroy();
    source.destroy();
  }
  return undefined;
}
