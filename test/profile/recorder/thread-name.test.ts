/** The writer thread names itself `dial9-writer` for the kernel, so its CPU can be told apart. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { killAll, runToEnd, tempDir } from '../trace-files.js';

const dirs: string[] = [];
after(() => {
  killAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Lists the kernel's names of this process's threads, once the writer has had time to start. */
const PROGRAM = `
import { readdirSync, readFileSync } from 'node:fs';
const before = readFileSync('/proc/self/task/' + process.pid + '/comm', 'utf8').trim();
setTimeout(() => {
  const names = readdirSync('/proc/self/task').map((t) => readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim());
  console.log(JSON.stringify(names));
  console.log(JSON.stringify(before));
}, 1000);
`;

describe('nameThisThread', () => {
  it('names the recorder writer thread dial9-writer, and only that one', async () => {
    const dir = tempDir('dial9-trace');
    dirs.push(dir);
    const run = await runToEnd(PROGRAM, { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir });
    assert.equal(run.code, 0, run.stderr);
    const names = JSON.parse(run.stdout.trim().split('\n')[0] ?? '[]') as string[];
    assert.equal(names.filter((n) => n === 'dial9-writer').length, 1, names.join(','));
    // The name Node gave it: `node` up to Node 22, `MainThread` from Node 24.
    const before = JSON.parse(run.stdout.trim().split('\n')[1] ?? '""') as string;
    assert.match(before, /^(node|MainThread)$/);
    assert.equal(names[0], before, 'the main thread keeps its name');
  });

  it('renames the calling thread only, cut to the kernel limit of 15 bytes', async () => {
    const module = new URL('../../../src/profile/recorder/thread-name.js', import.meta.url).href;
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       import(workerData.module).then((m) => {
         m.nameThisThread('a-very-long-thread-name');
         parentPort.postMessage(require('node:fs').readFileSync('/proc/thread-self/comm', 'utf8').trim());
         parentPort.once('message', () => {});
       });`,
      { eval: true, workerData: { module } },
    );
    try {
      const name = await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      assert.equal(name, 'a-very-long-thr');
      const mine = readFileSync('/proc/thread-self/comm', 'utf8').trim();
      assert.notEqual(mine, name);
      const all = readdirSync('/proc/self/task').map((t) => readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim());
      assert.equal(all.filter((n) => n === name).length, 1);
    } finally {
      await worker.terminate();
    }
  });
});
