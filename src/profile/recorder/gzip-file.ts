/**
 * Gzips a file into another, synchronously (the writer seals at exit too, where nothing
 * asynchronous runs), in 1 MiB steps, without ever holding the whole file: reading a sealed segment
 * whole and `gzipSync`-ing it took its size twice over in memory at every rotation.
 *
 * One deflate stream for the writer thread's life, reset between files, fed through one input and
 * one output buffer: nothing is allocated per step. A fresh `deflateRawSync` per 1 MiB step
 * allocated a zlib state, 16 KiB output chunks and their concatenation every time, and the thread
 * kept that memory: gzipping a 40 MB file in a worker left ~30 MB more anonymous memory behind,
 * against ~2 MB this way (docs/benchmarks.md, "Flight recorder memory, 10 minutes").
 *
 * Node has no public synchronous API for a deflate stream that outlives one call (`deflateRawSync`
 * closes its handle), so this drives the handle of a `DeflateRaw` the way Node's own sync path does.
 * Should a Node version change that internal, the per-step `deflateRawSync` path takes over.
 *
 * Either way the output is ONE gzip member (browsers' DecompressionStream refuses anything after
 * the first), with the CRC-32 and size in the trailer.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { constants, crc32, createDeflateRaw, type DeflateRaw, deflateRawSync } from 'node:zlib';

const STEP_BYTES = 1024 * 1024;
const OUT_BYTES = 256 * 1024;
/**
 * Level 3: on a 60 s full-load segment 2% larger than the default 6 for less than half its CPU
 * (the writer shares 2 cores with the service it records; docs/benchmarks.md has the table).
 */
export const GZIP_LEVEL = 3;
/** The read buffers, kept for every seal (fresh ones each time waited for a GC to go away). */
const steps: [Buffer, Buffer] = [Buffer.allocUnsafeSlow(STEP_BYTES), Buffer.allocUnsafeSlow(STEP_BYTES)];
const out = Buffer.allocUnsafeSlow(OUT_BYTES);
const EMPTY = Buffer.alloc(0);
/** Magic, deflate, no flags, no mtime, no extra flags, OS unknown. */
const HEADER = Uint8Array.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff]);

/** The internals of a zlib stream that Node's synchronous path uses (lib/zlib.js, processChunkSync). */
interface ZlibInternals {
  _handle: {
    writeSync(
      flush: number,
      input: Uint8Array,
      inOffset: number,
      inLength: number,
      output: Uint8Array,
      outOffset: number,
      outLength: number,
    ): void;
  } | null;
  /** After each write: [output bytes still free, input bytes not consumed]. */
  _writeState: Uint32Array;
}

let stream: (DeflateRaw & ZlibInternals) | undefined;

/** The writer thread's deflate stream, reset for a new file; undefined when Node's internals differ. */
function deflateStream(): (DeflateRaw & ZlibInternals) | undefined {
  if (stream === undefined || stream.destroyed || stream._handle === null) {
    stream = createDeflateRaw({ level: GZIP_LEVEL }) as DeflateRaw & ZlibInternals;
    // Errors surface as a destroyed stream, checked after each file; no listener would keep it alive.
    stream.on('error', () => {});
  } else stream.reset();
  if (typeof stream._handle?.writeSync !== 'function' || !(stream._writeState instanceof Uint32Array)) return undefined;
  return stream;
}

/** Which way files are deflated: `stream` (one reused deflate stream) or `steps` (the fallback). */
export function gzipEngine(): 'stream' | 'steps' {
  return deflateStream() === undefined ? 'steps' : 'stream';
}

/**
 * Called before each write to the destination with the bytes about to be written: the disk budget
 * makes room for them first (segments.ts).
 */
export type BeforeWrite = (bytes: number) => void;

/** `engine: 'steps'` forces the fallback (tests compare the two). */
export function gzipFileSync(
  source: string,
  destination: string,
  engine?: 'stream' | 'steps',
  beforeWrite?: BeforeWrite,
): void {
  const deflate = engine === 'steps' ? undefined : deflateStream();
  const input = openSync(source, 'r');
  let output: number | undefined;
  try {
    const fd = openSync(destination, 'w');
    output = fd;
    const write = (bytes: Uint8Array, length = bytes.length): void => {
      beforeWrite?.(length);
      // All of it or an error: a short write (a disk filling up) would leave a .gz cut short, and
      // the plain file is deleted once the gzip returns.
      for (let offset = 0; offset < length; ) {
        const n = writeSync(fd, bytes, offset, length - offset);
        if (n === 0) throw Object.assign(new Error('write made no progress'), { code: 'ENOSPC' });
        offset += n;
      }
    };
    write(HEADER);
    const { crc, size } = deflate === undefined ? deflateInSteps(input, write) : deflateStreamed(deflate, input, write);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE(size % 2 ** 32, 4);
    write(trailer);
  } finally {
    closeSync(input);
    if (output !== undefined) closeSync(output);
  }
}

type Write = (bytes: Uint8Array, length?: number) => void;

interface Summary {
  readonly crc: number;
  readonly size: number;
}

function deflateStreamed(deflate: DeflateRaw & ZlibInternals, input: number, write: Write): Summary {
  const handle = deflate._handle;
  const state = deflate._writeState;
  if (handle === null) throw new Error('deflate stream closed');
  /** Deflates `chunk`, writing output whenever the buffer fills, until zlib has taken all of it. */
  const put = (chunk: Buffer, flush: number): void => {
    let inOffset = 0;
    let inLength = chunk.length;
    for (;;) {
      handle.writeSync(flush, chunk, inOffset, inLength, out, 0, OUT_BYTES);
      const outFree = state[0] as number;
      const inLeft = state[1] as number;
      if (outFree < OUT_BYTES) write(out, OUT_BYTES - outFree);
      inOffset += inLength - inLeft;
      inLength = inLeft;
      // Output space left over means zlib is done with this input (and, for Z_FINISH, the stream).
      if (outFree !== 0) break;
    }
    if (deflate.destroyed) throw new Error('deflate failed');
  };
  const buffer = steps[0];
  let crc = 0;
  let size = 0;
  for (;;) {
    const read = readSync(input, buffer, 0, STEP_BYTES, null);
    if (read === 0) break;
    const chunk = buffer.subarray(0, read);
    crc = crc32(chunk, crc);
    size += read;
    put(chunk, constants.Z_NO_FLUSH);
  }
  put(EMPTY, constants.Z_FINISH);
  return { crc, size };
}

/**
 * The fallback: each step deflated on its own, ending on a byte boundary (Z_SYNC_FLUSH), the last
 * with the final block, so the pieces concatenate into one valid deflate stream.
 */
function deflateInSteps(input: number, write: Write): Summary {
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
    write(
      deflateRawSync(chunk, { level: GZIP_LEVEL, finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH }),
    );
    if (last) break;
    [current, ahead] = [ahead, current];
    read = aheadRead;
  }
  return { crc, size };
}
