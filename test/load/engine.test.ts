/** The engine against small in-process servers: every request accounted for once, whatever happens. */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { runLoad } from '../../src/load/engine.js';
import { HTTP_CLIENT_KINDS } from '../../src/load/http-client.js';
import { SingleRequest } from '../../src/load/workload.js';

const get = new SingleRequest({ method: 'GET', path: '/', headers: undefined, body: undefined });

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; server: Server; count: () => number }> {
  let count = 0;
  const server = createServer((req, res) => {
    count++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, count: () => count };
}

for (const httpClient of HTTP_CLIENT_KINDS)
  describe(`load engine (${httpClient} client)`, () => {
    const servers: Server[] = [];
    after(() => {
      for (const server of servers) {
        server.closeAllConnections();
        server.close();
      }
    });
    const start = async (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
      const s = await serve(handler);
      servers.push(s.server);
      return s;
    };

    test('open model, server slower than the schedule: waiting requests are counted once and timed from when they were due', async () => {
      const { url, count } = await start((_req, res) => setTimeout(() => res.end('ok'), 20));
      const result = await runLoad({
        origin: url,
        httpClient,
        workload: get,
        connections: 1,
        pipelining: 1,
        ratePerSecond: 100,
        durationMs: 1000,
        timeoutMs: 10000,
      });
      const schedule = result.schedule;
      assert.ok(schedule);
      assert.equal(schedule.planned, 100);
      assert.equal(result.sent + schedule.expiredUnsent, 100, 'every planned request is sent or given up, once');
      assert.equal(result.sent, count());
      assert.ok(
        schedule.waitedForConnection > 0 && schedule.waitedForConnection < 100,
        `${schedule.waitedForConnection} waited`,
      );
      // One connection at 20 ms a request serves 50 a second against 100 due: the queue grows all run.
      assert.ok(result.latency.percentileUs(99) / 1000 > 500, `p99 ${result.latency.percentileUs(99) / 1000} ms`);
      // Server and generator share this process (and a busy machine): generous, but far below the > 500 ms above.
      assert.ok(result.serviceTime.percentileUs(99) / 1000 < 250, 'the naive measure sees only ~20 ms');
      assert.ok(schedule.clientLag.percentileUs(99) / 1000 < 200, 'the generator itself kept time');
    });

    test('timeouts: in-flight requests are aborted, waiting ones given up unsent; all count in the latency', async () => {
      const { url, count } = await start(() => {});
      const started = Date.now();
      const result = await runLoad({
        origin: url,
        httpClient,
        workload: get,
        connections: 2,
        pipelining: 1,
        ratePerSecond: 50,
        durationMs: 500,
        timeoutMs: 200,
      });
      const tookMs = Date.now() - started;
      assert.equal(result.errors.timeout, 25);
      assert.equal(result.completed, 0);
      assert.equal((result.schedule?.expiredUnsent ?? 0) + result.sent, 25);
      assert.equal(count(), result.sent);
      assert.equal(result.latency.count, 25, 'timeouts are latencies too');
      assert.ok(result.latency.minUs / 1000 >= 195, `shortest ${result.latency.minUs / 1000} ms`);
      assert.ok(tookMs < 5000, `the run ended ${tookMs} ms after it started (~700 ms expected)`);
    });

    test('closed model: exactly --requests, and resets are counted by kind', async () => {
      const ok = await start((_req, res) => res.end('ok'));
      const closed = await runLoad({
        origin: ok.url,
        httpClient,
        workload: get,
        connections: 3,
        pipelining: 1,
        requests: 500,
        timeoutMs: 5000,
      });
      assert.equal(closed.sent, 500);
      assert.equal(closed.completed, 500);
      assert.equal(ok.count(), 500);
      assert.equal(closed.statuses.get(200), 500);

      const broken = await start((req) => req.socket.destroy());
      const resets = await runLoad({
        origin: broken.url,
        httpClient,
        workload: get,
        connections: 2,
        pipelining: 1,
        requests: 10,
        timeoutMs: 5000,
      });
      assert.equal(resets.errors.reset, 10);
      assert.equal(resets.completed, 0);
    });

    test('an abort signal stops sending; what is in flight finishes', async () => {
      const { url } = await start((_req, res) => setTimeout(() => res.end('ok'), 5));
      const stop = new AbortController();
      setTimeout(() => stop.abort(), 200);
      const started = Date.now();
      const result = await runLoad(
        { origin: url, httpClient, workload: get, connections: 4, pipelining: 1, durationMs: 10000, timeoutMs: 5000 },
        stop.signal,
      );
      assert.ok(Date.now() - started < 5000, 'stopped at the abort, not after the 10 s duration');
      assert.equal(result.completed, result.sent);
      assert.ok(result.sent > 10);
    });
  });
