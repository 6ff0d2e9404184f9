/**
 * `service profile analyze` on the real service: `service run` with the flight recorder, forwarding
 * to a downstream that takes 300 ms to answer. The trace says "waiting on the downstream", the
 * breakdown of a forwarded request adds up to its wide event's Duration, and --metrics joins each
 * finding's requests with their own wide events.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { analyzeTracePath } from '../../../src/profile/analyze/load-node.js';
import { scriptedDownstream } from '../../helpers/fake-downstream.js';
import { isRequestRecord, type MetricLine, parseLines } from '../../helpers/ndjson.js';
import { runCli, startService, stopAll } from '../../helpers/service-process.js';
import { tempDir } from '../trace-files.js';

const DOWNSTREAM_DELAY_MS = 300;

describe('profile analyze: the service forwarding to a slow downstream', () => {
  const dirs: string[] = [];
  after(async () => {
    await stopAll();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('downstream wait, a breakdown that adds up to the wide event, and --metrics joins the right records', async () => {
    const dir = tempDir('analyze-service');
    dirs.push(dir);
    const downstream = await scriptedDownstream((_req, _body, res) => {
      setTimeout(() => res.end('value'), DOWNSTREAM_DELAY_MS);
    });
    const service = await startService(['--downstream-url', downstream.url], {
      DIAL9_ENABLED: 'true',
      DIAL9_TRACE_DIR: join(dir, 'trace'),
    });
    // The first forwarded call also compiles undici's parser (a stall of its own): warm up with it.
    const warm = await fetch(`${service.url}/items/warm`);
    assert.equal(warm.status, 200);
    await warm.text();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${service.url}/items/key${i}`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'value');
      ids.push(res.headers.get('x-request-id') ?? '');
    }
    assert.equal(await service.stop('SIGTERM'), 0);
    await downstream.close();
    const metricsPath = join(dir, 'metrics.log');
    writeFileSync(metricsPath, service.stdout());
    const wide = parseLines<MetricLine>(service.stdout()).filter(isRequestRecord);
    assert.equal(wide.length, 5);

    const { report } = await analyzeTracePath(join(dir, 'trace'), { metricsPath });
    const finding = report.findings.find((f) => f.kind === 'downstream-wait');
    assert.ok(finding !== undefined, report.findings.map((f) => f.summary).join('\n'));
    assert.equal(finding.evidence.origin, downstream.url);
    assert.equal(finding.evidence.loopIdle, 'yes');
    // The four forwarded requests (and the start-up probe, which has no request); on a crowded machine a
    // stall of the service itself (GC, the recorder's seal) may overlap one of them, which then is not "while idle".
    assert.ok(Number(finding.evidence.slowWhileIdle) >= 3, String(finding.evidence.slowWhileIdle));
    assert.deepEqual(finding.stack, []);
    const listed = finding.requests.map((r) => r.requestId);
    for (const id of ids) assert.ok(listed.includes(id), `${id} waited on the downstream`);
    for (const ref of finding.requests) {
      assert.equal(ref.operation, 'GetItem');
      assert.equal(ref.status, 200);
      assert.equal(ref.role, 'waited');
      // The join: each request carries its own wide event.
      assert.equal(ref.wideEvent?.RequestId, ref.requestId);
      assert.equal(
        ref.wideEvent?.Path,
        ids.includes(ref.requestId) ? `/items/key${ids.indexOf(ref.requestId)}` : '/items/warm',
      );
      assert.ok(Math.abs(Number(ref.wideEvent?.Duration) - ref.durationMs) < 0.01);
    }

    const id = ids[2] as string;
    const explained = await runCli(
      ['profile', 'analyze', join(dir, 'trace'), '--metrics', metricsPath, '--request', id, '--json'],
      {},
      60_000,
    );
    assert.equal(explained.code, 0, explained.stderr);
    const { request } = JSON.parse(explained.stdout) as {
      request: {
        durationMs: number;
        parts: Record<string, number>;
        wideEvent: Record<string, unknown>;
        outgoing: { origin: string; path: string; status: number; durationMs: number }[];
      };
    };
    const duration = Number(request.wideEvent.Duration);
    assert.equal(request.wideEvent.RequestId, id);
    assert.equal(request.durationMs, Math.round(duration * 1000) / 1000);
    const sum = Object.values(request.parts).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - duration) <= duration * 0.02, `${sum} vs ${duration}`);
    assert.ok((request.parts.ioWaitMs ?? 0) >= 0.8 * duration, JSON.stringify(request.parts));
    assert.ok((request.parts.ownCpuMs ?? 0) < 0.1 * duration, JSON.stringify(request.parts));
    assert.deepEqual(
      request.outgoing.map((o) => [o.origin, o.path, o.status]),
      [[downstream.url, '/items/key2', 200]],
    );
    assert.ok((request.outgoing[0]?.durationMs ?? 0) >= DOWNSTREAM_DELAY_MS * 0.9);
  });
});
