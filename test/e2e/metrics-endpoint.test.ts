/** Metric records sent to a CloudWatch agent stand-in over TCP (which goes away and comes back) and UDP. */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { assertValidEmf } from '../helpers/emf-validator.js';
import { call } from '../helpers/http.js';
import { tcpListener, udpListener } from '../helpers/line-listener.js';
import { type MetricLine, parseLines } from '../helpers/ndjson.js';
import { startService, stopAll } from '../helpers/service-process.js';
import { waitFor } from '../helpers/wait.js';

const requestLines = (lines: string[]) => lines.filter((l) => l.includes('"Operation"'));

describe('--metrics-endpoint', () => {
  after(stopAll);

  test('tcp: records reach the listener; while it is gone they wait, and arrive when it is back', async () => {
    let listener = await tcpListener();
    const port = listener.port;
    const service = await startService([
      '--metrics-format',
      'emf',
      '--emf-dimensions',
      'Operation',
      '--metrics-endpoint',
      `tcp://127.0.0.1:${port}`,
      '--runtime-metrics-interval-ms',
      '0',
    ]);
    try {
      for (let i = 0; i < 20; i++)
        assert.equal((await call(`${service.url}/items/k${i}`, { method: 'PUT', body: 'v' })).status, 204);
      await waitFor('20 records at the listener', () =>
        requestLines(listener.lines).length === 20 ? true : undefined,
      );

      const before = [...listener.lines];
      await listener.close();
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (let i = 0; i < 30; i++)
        assert.equal((await call(`${service.url}/items/k${i % 20}`)).status, 200, 'the service keeps answering');
      // The writer notices the outage in its own time (later on a busy machine): bring the listener back after.
      await waitFor('the write-failure warning', () =>
        parseLines<{ msg?: string }>(service.stderr()).find(
          (l) => l.msg === `tcp://127.0.0.1:${port}: write failed, dropping entries until it recovers`,
        ),
      );

      listener = await tcpListener(port);
      const received = await waitFor(
        'the 30 held records after reconnecting',
        () => (requestLines(listener.lines).length === 30 ? listener.lines : undefined),
        15000,
      );
      assert.equal(await service.stop(), 0);
      await waitFor('the exit record', () => listener.lines.find((l) => l.includes('"ExitCode"')));

      const all = [...before, ...received];
      for (const line of all) assertValidEmf(line);
      assert.equal(requestLines(all).length, 50, 'no record lost or duplicated across the outage');
      const exit = JSON.parse(listener.lines.find((l) => l.includes('"ExitCode"')) ?? '{}');
      assert.equal(exit.ExitCode, 0);
      assert.equal(exit.MetricsDropped, 0);
      const logs = parseLines<{ msg?: string; destination?: string }>(service.stderr());
      assert.ok(
        logs.some((l) => l.msg === `tcp://127.0.0.1:${port}: write failed, dropping entries until it recovers`),
      );
      assert.ok(logs.some((l) => l.msg === `tcp://127.0.0.1:${port}: writing again`));
      assert.equal(service.stdout(), '', 'records went to the endpoint, not stdout');
    } finally {
      await service.stop();
      await listener.close();
    }
  });

  test('udp: one valid EMF event per datagram', async () => {
    const listener = await udpListener();
    const service = await startService([
      '--metrics-format',
      'emf',
      '--metrics-endpoint',
      `udp://127.0.0.1:${listener.port}`,
      '--runtime-metrics-interval-ms',
      '0',
    ]);
    try {
      for (let i = 0; i < 10; i++)
        await call(`${service.url}/echo`, {
          method: 'POST',
          body: '{"message":"x"}',
          headers: { 'content-type': 'application/json' },
        });
      await waitFor('10 datagrams', () => (requestLines(listener.lines).length === 10 ? true : undefined));
      for (const line of listener.lines) assertValidEmf(line);
      const parsed = parseLines<MetricLine & Record<string, unknown>>(listener.lines.join('\n'));
      assert.ok(parsed.every((l) => l.Operation === 'Echo'));
      assert.ok(parsed.every((l) => typeof l.Duration === 'number' && l.service_name === 'service'));
    } finally {
      assert.equal(await service.stop(), 0);
      await listener.close();
    }
  });
});
