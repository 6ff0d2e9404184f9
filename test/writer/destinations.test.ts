/**
 * The file destination's recovery path, with a stream that fails on demand in place of
 * rotating-file-stream: a failed write (half a batch on disk) drops the stream, the file is trimmed
 * back to whole lines, a new stream opens after the rest, and writing resumes.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { openDestination } from '../../src/writer/destinations.js';
import { parseLines } from '../helpers/ndjson.js';

describe('rotating file destination', () => {
  const dir = mkdtempSync(join(tmpdir(), 'service-dest-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a write error drops the stream, trims the torn line, reopens, and writing resumes', async () => {
    const path = join(dir, 'metrics.log');
    let failNext = false;
    let opened = 0;
    const events: string[] = [];
    const destination = openDestination(
      { kind: 'rotating-file', dir, file: 'metrics.log', interval: '1h', maxFiles: 0, name: 'metrics.log' },
      { onError: (err) => events.push(`error ${err.code}`), onRecovered: () => events.push('recovered') },
      {
        reopenDelayMs: 50,
        openStream: () => {
          opened++;
          return new Writable({
            write(chunk: Buffer, _encoding, callback) {
              if (failNext) {
                failNext = false;
                // Like a disk that fills mid-write: half the batch lands, then ENOSPC.
                appendFileSync(path, chunk.subarray(0, Math.floor(chunk.length / 2)));
                callback(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
                return;
              }
              appendFileSync(path, chunk);
              callback();
            },
          });
        },
      },
    );
    const batch = (from: number) =>
      Buffer.from(Array.from({ length: 3 }, (_, k) => `${JSON.stringify({ i: from + k })}\n`).join(''));

    assert.equal(await destination.write(batch(0), 3), undefined);
    failNext = true;
    const failed = await destination.write(batch(3), 3);
    assert.equal((failed as NodeJS.ErrnoException | undefined)?.code, 'ENOSPC');
    // Resting: refused at once, without touching the (dropped) stream.
    const resting = await destination.write(batch(6), 3);
    assert.equal((resting as NodeJS.ErrnoException | undefined)?.code, 'EAGAIN');
    assert.match(readFileSync(path, 'utf8'), /\{"i":3\}\n\{"i"$|\{"i":4/, 'half a batch is on disk');

    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.equal(await destination.write(batch(9), 3), undefined);
    await destination.close();

    assert.equal(opened, 2, 'a fresh stream after the rest');
    assert.deepEqual(events, ['error ENOSPC', 'recovered'], 'one report per failure streak, then recovery');
    const lines = parseLines<{ i: number }>(readFileSync(path, 'utf8'));
    // Whole lines only: batch 3's complete first line survived, its torn second line was cut.
    assert.deepEqual(
      lines.map((l) => l.i),
      [0, 1, 2, 3, 9, 10, 11],
    );
  });
});
