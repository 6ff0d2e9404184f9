import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppFrame } from '../../../src/profile/analyze/stacks.js';

test('isAppFrame: an anonymous function of the program is its code; V8 entries, Node, dependencies and the recorder are not', () => {
  const frame = (functionName: string, url: string) => ({ functionName, url, line: 1, column: 1 });
  // Route handlers are often arrows: the encoder names them "(anonymous)", and they are where to look.
  assert.equal(isAppFrame(frame('(anonymous)', 'file:///srv/app/dist/src/http/routes/items.js')), true);
  assert.equal(isAppFrame(frame('plantedStall', 'file:///tmp/plant.mjs')), true);
  for (const entry of ['(garbage collector)', '(program)', '(root)', '(idle)'])
    assert.equal(isAppFrame(frame(entry, '')), false, entry);
  assert.equal(isAppFrame(frame('(anonymous)', 'node:internal/process/task_queues')), false);
  assert.equal(isAppFrame(frame('route', 'file:///srv/app/node_modules/fastify/lib/route.js')), false);
  assert.equal(isAppFrame(frame('ship', 'file:///srv/app/dist/src/profile/recorder/ring.js')), false);
});
