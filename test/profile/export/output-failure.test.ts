/**
 * The export's text fails half way (a segment that cannot be read, a bug in a converter) while a
 * write to the output is still under way: the error that stopped it comes out, as it is, and no
 * temporary file is left behind. Destroying the stream with that write pending once raised an
 * unhandled ERR_STREAM_DESTROYED 'error' that killed the process with a stack trace and left
 * `<out>.partial-<pid>` behind.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeOutput } from '../../../src/profile/export/output-node.js';
import { tempDir } from '../trace-files.js';

const dir = tempDir('dial9-export-failure');
after(() => rmSync(dir, { recursive: true, force: true }));

/** Some text, then the failure: the last write is still in flight when the error comes. */
async function* failingHalfWay(): AsyncGenerator<string> {
  yield '{"traceEvents":[';
  yield '{"ph":"M"},';
  throw new Error('planted: the second segment cannot be read');
}

describe('an export that fails half way', () => {
  for (const existing of [false, true]) {
    it(`rejects with its own error and leaves no temporary (${existing ? 'an existing' : 'a new'} file)`, async () => {
      const out = join(dir, existing ? 'existing' : 'new');
      const file = join(out, 'out.json');
      rmSync(out, { recursive: true, force: true });
      mkdirSync(out);
      if (existing) writeFileSync(file, 'the previous export\n');
      const uncaught: unknown[] = [];
      const record = (err: unknown) => uncaught.push(err);
      process.on('uncaughtException', record);
      try {
        await assert.rejects(writeOutput(file, failingHalfWay()), /planted: the second segment cannot be read/);
        // An 'error' emitted after the rejection would land here, a tick or a write later.
        await new Promise((resolve) => setTimeout(resolve, 200));
      } finally {
        process.off('uncaughtException', record);
      }
      assert.deepEqual(uncaught, []);
      assert.deepEqual(readdirSync(out), existing ? ['out.json'] : []);
    });
  }
});
