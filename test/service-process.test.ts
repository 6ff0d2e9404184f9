/** src/service-process.ts: the one way tests, benchmarks and profiling start `service run` and find its URL. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { listeningUrl, startServiceProcess } from '../src/service-process.js';
import { call } from './helpers/http.js';

describe('service process', () => {
  test('listeningUrl reads the address of a complete startup line, skipping other lines', () => {
    const startup = JSON.stringify({
      level: 'info',
      msg: 'listening on http://127.0.0.1:4100; logs to stderr',
      address: 'http://127.0.0.1:4100',
    });
    assert.equal(listeningUrl(''), undefined);
    assert.equal(listeningUrl(`(node:1) Warning: listening on nothing\n${startup}\n`), 'http://127.0.0.1:4100');
    assert.equal(listeningUrl(startup), undefined, 'an incomplete line is not read yet');
    assert.equal(listeningUrl(`${JSON.stringify({ msg: 'stopped', address: 'http://x' })}\n`), undefined);
  });

  test('starts the built CLI on a free port, answers, stops with exit 0', async () => {
    const service = await startServiceProcess({ args: ['--runtime-metrics-interval-ms', '0'], keepStdout: false });
    assert.match(service.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(service.url, 'http://127.0.0.1:0');
    assert.equal((await call(`${service.url}/health`)).status, 200);
    assert.equal(await service.stop(), 0);
    assert.equal(service.stdout(), '', 'stdout was not kept');
  });

  test('a service that exits before listening rejects with its exit code and stderr', async () => {
    await assert.rejects(startServiceProcess({ args: ['--drain-timeout-ms', 'soon'] }), (err: Error) => {
      assert.match(
        err.message,
        /^service exited with 2 before listening:\nError: invalid value "soon" for --drain-timeout-ms/,
      );
      return true;
    });
  });
});
