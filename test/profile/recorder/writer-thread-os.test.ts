/**
 * What the writer thread tells the kernel about itself: its name, `dial9-writer`, so its CPU can be
 * told apart, and the lowest priority, so it waits for the main thread where the two share a CPU.
 */
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

/**
 * Lists the kernel's name and nice value of each of this process's threads, once the writer has
 * had time to start. In /proc/<pid>/task/<tid>/stat, the nice value is the 17th field after the
 * parenthesised name (the name may hold spaces).
 */
const PROGRAM = `
import { readdirSync, readFileSync } from 'node:fs';
setTimeout(() => {
  const threads = readdirSync('/proc/self/task').map((t) => {
    const stat = readFileSync('/proc/self/task/' + t + '/stat', 'utf8');
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { name: readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim(), nice: Number(after[16]) };
  });
  console.log(JSON.stringify(threads));
}, 1000);
`;

interface ThreadInfo {
  readonly name: string;
  readonly nice: number;
}

async function recordedThreads(): Promise<ThreadInfo[]> {
  const dir = tempDir('dial9-trace');
  dirs.push(dir);
  const run = await runToEnd(PROGRAM, { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir });
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout.trim().split('\n')[0] ?? '[]') as ThreadInfo[];
}

describe('nameThisThread', () => {
  it('names the recorder writer thread dial9-writer, and only that one', async () => {
    const names = (await recordedThreads()).map((t) => t.name);
    assert.equal(names.filter((n) => n === 'dial9-writer').length, 1, names.join(','));
    assert.equal(names[0], 'node', 'the main thread keeps its name');
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

describe('lowerThisThreadPriority', () => {
  it("puts the writer thread at nice 19 and leaves every other thread at the program's own", async () => {
    const threads = await recordedThreads();
    const writer = threads.filter((t) => t.name === 'dial9-writer');
    assert.deepEqual(
      writer.map((t) => t.nice),
      [19],
      JSON.stringify(threads),
    );
    const others = threads.filter((t) => t.name !== 'dial9-writer');
    assert.ok(others.length >= 2, JSON.stringify(threads));
    // The program's own value is the test runner's (0, unless CI runs everything niced).
    const own = threads[0]?.nice;
    for (const t of others) assert.equal(t.nice, own, `${t.name} was reniced: ${JSON.stringify(threads)}`);
  });
});
