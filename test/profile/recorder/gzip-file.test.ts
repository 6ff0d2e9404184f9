/**
 * Sealing gzips in 1 MiB steps through one deflate stream the writer thread keeps: the result is one
 * gzip member that Node and the browser decoder read whole, file after file, and sealing does not
 * leave memory behind.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { gunzipSync } from 'node:zlib';
import { gunzip } from '../../../src/profile/format/index.js';
import { GZIP_LEVEL, gzipEngine, gzipFileSync } from '../../../src/profile/recorder/gzip-file.js';
import { tempDir } from '../trace-files.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Compressible but not trivial bytes, like a trace's varints and strings. */
function content(bytes: number, seed = 7): Buffer {
  const out = Buffer.alloc(bytes);
  let x = seed;
  for (let i = 0; i < bytes; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out[i] = i % 64 < 40 ? 97 + (i % 7) : x & 0xff;
  }
  return out;
}

/** Gzips `original` from a file and checks both decoders give it back from one member. */
async function roundTrip(dir: string, name: string, original: Buffer, engine?: 'stream' | 'steps'): Promise<Buffer> {
  const source = join(dir, name);
  writeFileSync(source, original);
  gzipFileSync(source, `${source}.gz`, engine);
  const gz = readFileSync(`${source}.gz`);
  assert.ok(gz.length < Math.max(64, original.length), `${gz.length} bytes gzipped`);
  assert.ok(gunzipSync(gz).equals(original), `${name}: gunzipSync gives the bytes back`);
  const decoded = await gunzip(new Uint8Array(gz));
  assert.ok(Buffer.from(decoded).equals(original), `${name}: the browser decoder reads one whole member`);
  return gz;
}

/** Anonymous memory of this process in MB (Linux), from /proc/self/status. */
function anonMb(): number {
  return Number(/RssAnon:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1024;
}

describe('gzipFileSync', () => {
  it('uses one reused deflate stream on this Node (not the per-step fallback)', () => {
    assert.equal(gzipEngine(), 'stream');
    assert.equal(GZIP_LEVEL, 3);
  });

  for (const bytes of [0, 1, 1024 * 1024, 3 * 1024 * 1024 + 17]) {
    it(`round-trips ${bytes} bytes through gunzipSync and DecompressionStream`, async () => {
      const dir = tempDir('dial9-gzip');
      dirs.push(dir);
      await roundTrip(dir, 'in.bin', content(bytes));
    });
  }

  it('keeps decoding file after file through the same stream, a small one right after a big one', async () => {
    const dir = tempDir('dial9-gzip');
    dirs.push(dir);
    const sizes = [5 * 1024 * 1024 + 3, 10, 0, 2 * 1024 * 1024, 4096];
    for (const [i, bytes] of sizes.entries()) await roundTrip(dir, `seg.${i}.bin`, content(bytes, i + 1));
  });

  it('gives back the same bytes as the per-step fallback, and compresses at least as well', async () => {
    const dir = tempDir('dial9-gzip');
    dirs.push(dir);
    const original = content(4 * 1024 * 1024 + 5, 11);
    const streamed = await roundTrip(dir, 'a.bin', original, 'stream');
    const stepped = await roundTrip(dir, 'b.bin', original, 'steps');
    assert.ok(streamed.length <= stepped.length, `${streamed.length} streamed vs ${stepped.length} in steps`);
  });

  it('leaves no memory behind in its thread after sealing a 32 MB file three times', async () => {
    const dir = tempDir('dial9-gzip');
    dirs.push(dir);
    const source = join(dir, 'big.bin');
    writeFileSync(source, content(32 * 1024 * 1024, 3));
    const module = new URL('../../../src/profile/recorder/gzip-file.js', import.meta.url).href;
    // A thread of its own, like the writer: what malloc keeps for it stays with the process.
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       import(workerData.module).then(async (m) => {
         m.gzipFileSync(workerData.source, workerData.source + '.gz');
         parentPort.postMessage('warm');
         await new Promise((r) => parentPort.once('message', r));
         for (let i = 0; i < 3; i++) m.gzipFileSync(workerData.source, workerData.source + '.gz');
         parentPort.postMessage('done');
         await new Promise((r) => parentPort.once('message', r));
       });`,
      { eval: true, workerData: { module, source } },
    );
    try {
      const next = () =>
        new Promise<unknown>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        });
      await next();
      const beforeMb = anonMb();
      worker.postMessage('go');
      await next();
      const grownMb = anonMb() - beforeMb;
      // A fresh deflateRawSync per 1 MiB step left ~30 MB behind per 40 MB file; one stream ~2 MB.
      assert.ok(grownMb < 12, `anonymous memory grew ${grownMb.toFixed(1)} MB`);
      assert.ok(gunzipSync(readFileSync(`${source}.gz`)).length === 32 * 1024 * 1024);
    } finally {
      await worker.terminate();
    }
  });
});
