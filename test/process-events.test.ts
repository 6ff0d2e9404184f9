import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProcessEvents } from '../src/process-events.js';

describe('process events', () => {
  test('the first request stops; later ones hurry the drain and fatal ones are kept', async () => {
    const events = new ProcessEvents();
    try {
      let hurried = false;
      void events.hurried.then(() => (hurried = true));
      events.request({ kind: 'signal', signal: 'SIGTERM' });
      assert.deepEqual(await events.stopped, { kind: 'signal', signal: 'SIGTERM' });
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(hurried, false);
      const late = new Error('crash while draining');
      events.request({ kind: 'fatal', error: late });
      await events.hurried;
      assert.deepEqual(events.lateErrors, [late]);
    } finally {
      events.dispose();
    }
  });

  test('dispose() removes every listener it added', () => {
    const counts = () =>
      ['SIGTERM', 'SIGINT', 'SIGHUP', 'uncaughtException', 'unhandledRejection'].map((name) =>
        process.listenerCount(name),
      );
    const before = counts();
    const events = new ProcessEvents();
    assert.deepEqual(
      counts(),
      before.map((n) => n + 1),
    );
    events.dispose();
    assert.deepEqual(counts(), before);
  });

  test('SIGHUP is a stop signal like SIGTERM, not the default exit', async () => {
    const events = new ProcessEvents();
    // A signal handler does not keep the event loop alive; this timer does until the signal arrives.
    const alive = setTimeout(() => {}, 5000);
    try {
      process.kill(process.pid, 'SIGHUP');
      assert.deepEqual(await events.stopped, { kind: 'signal', signal: 'SIGHUP' });
    } finally {
      clearTimeout(alive);
      events.dispose();
    }
  });
});
