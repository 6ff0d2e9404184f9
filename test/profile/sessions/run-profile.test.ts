/** `service run --profile TOOL`: the service runs under the tool until Ctrl-C/SIGTERM, drains, and the capture is kept. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { call } from '../../helpers/http.js';
import { isRequestRecord, isShutdownRecord, type MetricLine, metric, readRotated } from '../../helpers/ndjson.js';
import { BIN, ROOT } from '../../helpers/service-process.js';
import { waitFor } from '../../helpers/wait.js';
import { assertNoStrays, onlyCapture, tempDir } from './capture-helpers.js';

interface Running {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<number | null>;
  stderr(): string;
}

const running = new Set<ChildProcess>();

async function runProfiled(tool: string, captures: string, telemetry: string): Promise<Running> {
  const child = spawn(
    process.execPath,
    [BIN, 'run', '--port', '0', '--profile', tool, '--capture-dir', captures, '--telemetry-dir', telemetry],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  let stderr = '';
  child.stdout?.resume();
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  const url = await waitFor(
    'the service to listen under the profiler',
    () => {
      if (done) throw new Error(`exited before listening:\n${stderr}`);
      return /"address":"(http:[^"]+)"/.exec(stderr)?.[1];
    },
    180_000,
  );
  return { child, url, exited, stderr: () => stderr };
}

describe('service run --profile', () => {
  const dirs: string[] = [];
  after(() => {
    for (const child of running) child.kill('SIGKILL');
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  for (const [tool, signal] of [
    ['0x', 'SIGINT'],
    ['cpu', 'SIGTERM'],
  ] as const) {
    test(`${tool}: ${signal} drains the service and the capture is kept`, async () => {
      const base = tempDir(`run-${tool}`);
      dirs.push(base);
      const captures = join(base, 'captures');
      const telemetry = join(base, 'telemetry');
      const service = await runProfiled(tool, captures, telemetry);
      assert.equal((await call(`${service.url}/items/a`, { method: 'PUT', body: 'hello' })).status, 204);
      for (let i = 0; i < 20; i++) assert.equal((await call(`${service.url}/items/a`)).status, 200);

      service.child.kill(signal);
      const code = await service.exited;
      assert.equal(code, 0, service.stderr());

      const records = readRotated<MetricLine>(telemetry, 'metrics.log');
      assert.equal(records.filter(isRequestRecord).length, 21);
      const shutdown = records.find(isShutdownRecord);
      assert.equal(shutdown?.properties?.Reason, signal);
      assert.equal(metric(shutdown ?? { timestamp: 0 }, 'Drained'), 1);

      const { dir, manifest } = onlyCapture(captures);
      assert.equal(manifest.tool.name, tool);
      assert.equal(manifest.exit.code, 0);
      assert.equal(manifest.load, undefined);
      assert.ok(manifest.command.includes(`--telemetry-dir=${telemetry}`));
      assert.ok(!manifest.command.some((word) => word.includes('--profile')));
      if (tool === '0x') {
        const html = readFileSync(join(dir, '0x', 'flamegraph.html'), 'utf8');
        assert.match(html, /<html/i);
        // The main thread's flamegraph (0x alone may render the writer thread's).
        assert.match(html, /fastify/);
      } else {
        assert.ok(manifest.files.some((f) => f.path.endsWith('.cpuprofile')));
      }
      assert.match(service.stderr(), new RegExp(`capture: ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.match(service.stderr(), /or in the browser: service profile serve --capture-dir \S+/);
      await assertNoStrays(captures);
    });
  }
});
