/** Sealing gzips in 1 MiB steps: the result is one gzip member that Node and the browser decoder read whole. */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { gunzip } from '../../../src/profile/format/index.js';
import { gzipFileSync } from '../../../src/profile/recorder/gzip-file.js';
import { tempDir } from '../trace-files.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Compressible but not trivial bytes, like a trace's varints and strings. */
function content(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let x = 7;
  for (let i = 0; i < bytes; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out[i] = i % 64 < 40 ? 97 + (i % 7) : x & 0xff;
  }
  return out;
}

describe('gzipFileSync', () => {
  for (const bytes of [0, 1, 1024 * 1024, 3 * 1024 * 1024 + 17]) {
    it(`round-trips ${bytes} bytes through gunzipSync and DecompressionStream`, async () => {
      const dir = tempDir('dial9-gzip');
      dirs.push(dir);
      const source = join(dir, 'in.bin');
      const original = content(bytes);
      writeFileSync(source, original);
      gzipFileSync(source, `${source}.gz`);
      const gz = readFileSync(`${source}.gz`);
      assert.ok(gz.length < Math.max(64, bytes), `${gz.length} bytes gzipped`);
      assert.ok(gunzipSync(gz).equals(original));
      const decoded = await gunzip(new Uint8Array(gz));
      assert.ok(Buffer.from(decoded).equals(original), 'the browser decoder reads one whole member');
    });
  }
});
