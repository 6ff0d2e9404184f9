/**
 * Connections that do not behave, against the real CLI: silent and half-sent heads must not hold up
 * a graceful stop, slowloris heads are cut by --headers-timeout-ms, and SIGHUP stops like SIGTERM.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import {
  isExitRecord,
  isRequestRecord,
  isShutdownRecord,
  type MetricLine,
  metric,
  parseLines,
} from '../helpers/ndjson.js';
import { openSocket, readUntilClose } from '../helpers/raw-http.js';
import { startService, stopAll } from '../helpers/service-process.js';

const EMPTY: MetricLine = { timestamp: 0 };

describe('misbehaving connections against the CLI', () => {
  after(stopAll);

  test('silent and half-sent connections are closed when the drain starts: exit 0 at once, Drained=1', async () => {
    const service = await startService();
    // A keep-alive connection that completed one request and stays open.
    const used = await openSocket(service.url);
    const usedReply = readUntilClose(used, 20000);
    used.write('GET /items/a HTTP/1.1\r\nHost: x\r\n\r\n');
    // One that never sends a byte (a preconnect, a TCP probe), and one that stops halfway through a head.
    const silent = await openSocket(service.url);
    const silentReply = readUntilClose(silent, 20000);
    const half = await openSocket(service.url);
    const halfReply = readUntilClose(half, 20000);
    half.write('PUT /items/b HTTP/1.1\r\nHost: x\r\nContent-Len');
    await new Promise((resolve) => setTimeout(resolve, 200));

    const stopping = Date.now();
    const code = await service.stop('SIGTERM', 40000);
    const tookMs = Date.now() - stopping;
    assert.equal(code, 0);
    assert.ok(tookMs < 5000, `shutdown took ${tookMs} ms`);
    assert.match(await usedReply, /^HTTP\/1\.1 404 /);
    assert.equal(await silentReply, '', 'no status for a connection that sent nothing');
    assert.equal(await halfReply, '', 'no status for half a head cut by the drain');

    const lines = parseLines<MetricLine>(service.stdout());
    assert.deepEqual(
      lines.filter(isRequestRecord).map((r) => [r.properties?.Path, r.properties?.StatusCode]),
      [['/items/a', '404']],
    );
    const [shutdown] = lines.filter(isShutdownRecord);
    assert.equal(metric(shutdown ?? EMPTY, 'Drained'), 1);
    assert.equal(metric(shutdown ?? EMPTY, 'InFlight'), 0);
    assert.ok((metric(shutdown ?? EMPTY, 'DrainDuration') ?? Number.POSITIVE_INFINITY) < 5000);
    assert.equal(metric(lines.filter(isExitRecord)[0] ?? EMPTY, 'ExitCode'), 0);
  });

  test('SIGHUP stops like SIGTERM: records flushed, shutdown and exit records, exit 0', async () => {
    const service = await startService();
    const socket = await openSocket(service.url);
    const reply = readUntilClose(socket);
    socket.write('PUT /items/hup HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
    assert.match(await reply, /^HTTP\/1\.1 204 /);
    assert.equal(await service.stop('SIGHUP'), 0);
    const lines = parseLines<MetricLine>(service.stdout());
    assert.deepEqual(
      lines.filter(isRequestRecord).map((r) => [r.properties?.Operation, r.properties?.StatusCode]),
      [['SetItem', '204']],
    );
    const shutdown = lines.filter(isShutdownRecord);
    assert.equal(shutdown.length, 1);
    assert.equal(shutdown[0]?.properties?.Reason, 'SIGHUP');
    assert.equal(metric(shutdown[0] ?? EMPTY, 'Drained'), 1);
    const exit = lines.filter(isExitRecord);
    assert.equal(exit.length, 1);
    assert.equal(metric(exit[0] ?? EMPTY, 'ExitCode'), 0);
    assert.equal(lines.at(-1), exit[0], 'the exit record is the last line');
  });

  test('slowloris: 100 heads trickling a line every 200 ms are cut by HEADERS_TIMEOUT_MS with a recorded 408', async () => {
    const service = await startService([], { HEADERS_TIMEOUT_MS: '1000' });
    const sockets: Socket[] = [];
    const replies: Array<Promise<string>> = [];
    const started = Date.now();
    for (let i = 0; i < 100; i++) {
      const socket = await openSocket(service.url);
      replies.push(readUntilClose(socket, 30000));
      socket.write(`GET /items/loris${i} HTTP/1.1\r\nHost: x\r\n`);
      sockets.push(socket);
    }
    const trickle = setInterval(() => {
      for (const socket of sockets) if (socket.writable) socket.write('X-Loris: 1\r\n');
    }, 200);
    let answers: string[];
    try {
      answers = await Promise.all(replies);
    } finally {
      clearInterval(trickle);
    }
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 8000, `all closed after ${elapsed} ms`);
    assert.equal(answers.filter((text) => /^HTTP\/1\.1 408 /.test(text)).length, 100);
    assert.equal(await service.stop('SIGTERM'), 0);
    const requests = parseLines<MetricLine>(service.stdout()).filter(isRequestRecord);
    assert.equal(requests.length, 100, 'one record per 408 sent');
    for (const record of requests) {
      assert.equal(record.properties?.StatusCode, '408');
      assert.equal(record.properties?.ErrorKind, 'Timeout');
      assert.equal(record.properties?.Operation, 'Other');
      assert.ok((metric(record, 'Duration') ?? 0) >= 900, `Duration ${metric(record, 'Duration')}`);
    }
  });
});
