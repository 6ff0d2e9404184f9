/** The recorder API in a real program: tasks, spans through the targets filter, marks, the sealed hook, opt-in sources. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { eventRows, stackFrames } from '../../../src/profile/format/index.js';
import { activeRecorder, mark, span, task } from '../../../src/profile/recorder/index.js';
import { killAll, readSegments, runToEnd, tempDir } from '../trace-files.js';

const API = pathToFileURL(new URL('../../../src/profile/recorder/index.js', import.meta.url).pathname).href;
const dirs: string[] = [];
after(() => {
  killAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the recorder API', () => {
  it('runs the function and returns its value, recording nothing, when the recorder is off', async () => {
    assert.equal(activeRecorder(), undefined);
    assert.equal(
      task('t', () => 5),
      5,
    );
    assert.equal(await span('app', 's', async () => 'v'), 'v');
    assert.throws(() => span('app', 's', () => assert.fail('boom')), /boom/);
    mark('app', 'm', 1);
  });

  it('records tasks, spans the targets filter keeps, marks, opt-in callbacks, pending operations and heap samples', async () => {
    const dir = tempDir('dial9-api');
    dirs.push(dir);
    const run = await runToEnd(
      `
      import { activeRecorder, mark, onSegmentSealed, span, task } from ${JSON.stringify(API)};
      const sealed = [];
      onSegmentSealed((segment) => sealed.push(segment));
      const burn = (ms) => { const end = performance.now() + ms; while (performance.now() < end); };
      const kept = [];
      await task('refresh-cache', () => new Promise((resolve) => setTimeout(resolve, 50)));
      span('app:db', 'query users', () => burn(30));
      span('chatty-lib', 'noise', () => burn(1));
      span('chatty-lib', 'failure', () => burn(1), 'error');
      mark('app', 'cache-size', 42);
      await new Promise((resolve) => setTimeout(() => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 40); resolve(); }, 10));
      for (let i = 0; i < 2000; i++) kept.push(new Array(500).fill(i));
      const pending = setTimeout(() => {}, 60_000);
      await new Promise((resolve) => setTimeout(resolve, 1300));
      clearTimeout(pending);
      await activeRecorder().close();
      console.log(JSON.stringify(sealed));
      `,
      {
        DIAL9_ENABLED: 'true',
        DIAL9_TRACE_DIR: dir,
        DIAL9_CALLBACK_TRACKING_ENABLED: 'true',
        DIAL9_TASK_DUMP_ENABLED: 'true',
        DIAL9_MEMORY_PROFILE_ENABLED: 'true',
        DIAL9_MEMORY_SAMPLE_RATE_BYTES: '65536',
      },
    );
    assert.equal(run.code, 0, run.stderr);
    const files = readSegments(dir);
    assert.equal(files.length, 1);
    const segment = files[0]?.segment ?? assert.fail('no segment');

    const sealed = JSON.parse(run.stdout) as { path: string; index: number; pinned: boolean }[];
    assert.deepEqual(sealed, [{ path: files[0]?.path, index: 0, pinned: false, bytes: files[0]?.bytes }]);

    const starts = eventRows(segment, 'taskStart');
    assert.deepEqual(
      starts.map((t) => t.name),
      ['refresh-cache'],
    );
    const end = eventRows(segment, 'taskEnd').find((t) => t.task === starts[0]?.task);
    assert.ok(Number(end?.durationUs) >= 45_000, `task took ${end?.durationUs} µs`);
    assert.equal(end?.failed, 0);

    const spans = eventRows(segment, 'span');
    assert.deepEqual(
      spans.map((s) => `${s.target} ${s.name}`),
      ['app:db query users', 'chatty-lib failure'],
      'chatty-lib is kept at error only',
    );
    assert.ok(Number(spans[0]?.durationUs) >= 29_000);
    assert.deepEqual(
      eventRows(segment, 'mark').map((m) => [m.target, m.name, m.value]),
      [['app', 'cache-size', 42]],
    );

    const callbacks = eventRows(segment, 'callback');
    assert.ok(callbacks.length > 10, `${callbacks.length} callbacks`);
    assert.ok(
      callbacks.some((c) => c.type === 'Timeout' && Number(c.durationUs) >= 39_000),
      'the blocking timer callback, with its type',
    );

    const pending = eventRows(segment, 'pending');
    assert.ok(
      pending.some((p) => p.type === 'Timeout' && Number(p.count) >= 1),
      JSON.stringify(pending.slice(0, 5)),
    );

    const heap = eventRows(segment, 'heapSample');
    assert.ok(heap.length > 0, 'heap samples');
    assert.ok(heap.every((h) => Number(h.bytes) > 0 && stackFrames(segment, Number(h.stack)).length > 0));
  });
});
