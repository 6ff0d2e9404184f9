/** startWorker runs a worker module from the build and, through tsx, from the sources. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../src/worker-thread.js';
import { ROOT } from './helpers/service-process.js';

interface Echo {
  readonly data: unknown;
  readonly threadId: number;
  readonly fromSources: boolean;
}

function firstMessage(worker: Worker): Promise<Echo> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

describe('startWorker', () => {
  test('starts the built module with the given name and options', async () => {
    const worker = startWorker(new URL('./fixtures/echo-worker.js', import.meta.url), 'echo', {
      workerData: { n: 7 },
    });
    try {
      const echo = await firstMessage(worker);
      assert.deepEqual(echo.data, { n: 7 });
      assert.equal(echo.fromSources, false);
      assert.ok(echo.threadId > 0);
    } finally {
      await worker.terminate();
    }
  });

  test('from the sources, runs the .ts module beside the given .js URL', () => {
    // A child process that loads the helper from its .ts source, as bin/dev.js does.
    const helper = new URL('../../src/worker-thread.ts', import.meta.url).href;
    const fixture = new URL('../../test/fixtures/echo-worker.js', import.meta.url).href;
    const script = `
      import { register } from 'tsx/esm/api';
      register();
      const { startWorker } = await import(${JSON.stringify(helper)});
      const worker = startWorker(new URL(${JSON.stringify(fixture)}), 'echo', { workerData: 'hi' });
      worker.once('message', async (m) => { console.log(JSON.stringify(m)); await worker.terminate(); });
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 20000,
    });
    const echo = JSON.parse(out.trim()) as Echo;
    assert.equal(echo.data, 'hi');
    assert.equal(echo.fromSources, true);
  });
});
