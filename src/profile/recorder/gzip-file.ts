/**
 * Gzips a file into another in 1 MiB steps, synchronously (the writer seals at exit too, where
 * nothing asynchronous runs), without ever holding the whole file: reading a sealed segment whole
 * and `gzipSync`-ing it took its size twice over in memory at every rotation.
 *
 * One gzip member (browsers' DecompressionStream refuses anything after the first): each step is
 * deflated on its own and ends on a byte boundary (Z_SYNC_FLUSH), the last with the final block, so
 * the pieces concatenate into one valid deflate stream; the CRC-32 and size go in the trailer.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { constants, crc32, deflateRawSync } from 'node:zlib';

const STEP_BYTES = 1024 * 1024;
/** The two read buffers, kept for every seal (fresh ones each time waited for a GC to go away). */
const steps: [Buffer, Buffer] = [Buffer.allocUnsafeSlow(STEP_BYTES), Buffer.allocUnsafeSlow(STEP_BYTES)];
/** Magic, deflate, no flags, no mtime, no extra flags, OS unknown. */
const HEADER = Uint8Array.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff]);

export function gzipFileSync(source: string, destination: string): void {
  const input = openSync(source, 'r');
  let output: number | undefined;
  try {
    output = openSync(destination, 'w');
    writeSync(output, HEADER);
    // Two buffers, reading one step ahead: the last step (the next read is empty) ends the stream.
    let current = steps[0];
    let ahead = steps[1];
    let crc = 0;
    let size = 0;
    let read = readSync(input, current, 0, STEP_BYTES, null);
    for (;;) {
      const chunk = current.subarray(0, read);
      crc = crc32(chunk, crc);
      size += read;
      const aheadRead = readSync(input, ahead, 0, STEP_BYTES, null);
      const last = aheadRead === 0;
      writeSync(output, deflateRawSync(chunk, { finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH }));
      if (last) break;
      [current, ahead] = [ahead, current];
      read = aheadRead;
    }
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE(size % 2 ** 32, 4);
    writeSync(output, trailer);
  } finally {
    closeSync(input);
    if (output !== undefined) closeSync(output);
  }
}
