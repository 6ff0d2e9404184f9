/**
 * Export streams: a large trace (written with the real encoder, several segments) converts with the
 * V8 heap capped far below what holding its events as objects would take, and the output is whole.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli, stopAll } from '../../helpers/service-process.js';
import { tempDir } from '../trace-files.js';
import { writeSyntheticTrace } from './synthetic-trace.js';
import { checkAsyncPairs, type TraceEvent } from './trace-event-checks.js';

const dir = tempDir('dial9-export-scale');
after(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Old-space cap for the exporting process: the trace's events as objects would need several times this. */
const HEAP_CAP = '--max-old-space-size=64';

describe('service profile export at scale', () => {
  it('converts ~300k events in 6 segments with a 64 MB heap, every request paired', async () => {
    const trace = writeSyntheticTrace(join(dir, 'trace'), { seconds: 60, requestsPerSecond: 1500, segmentSeconds: 10 });
    assert.ok(trace.events > 250_000, `${trace.events} events`);
    const file = join(dir, 'out.json');
    const startedMs = performance.now();
    const result = await runCli(['profile', 'export', trace.dir, '-o', file], { NODE_OPTIONS: HEAP_CAP }, 180_000);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(performance.now() - startedMs < 120_000, 'well within two minutes');
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as {
      traceEvents: TraceEvent[];
      metadata: { processes: { segments: number }[] };
    };
    assert.equal(parsed.metadata.processes[0]?.segments, 6);
    const pairs = checkAsyncPairs(parsed.traceEvents);
    const requests = [...pairs.values()].filter((p) => p.begin.cat === 'request');
    assert.equal(requests.length, trace.requests, 'one async pair per request');

    const cpu = await runCli(
      ['profile', 'export', trace.dir, '--format', 'cpuprofile', '-o', join(dir, 'out.cpuprofile')],
      { NODE_OPTIONS: HEAP_CAP },
      180_000,
    );
    assert.equal(cpu.code, 0, cpu.stderr);
    const profile = JSON.parse(readFileSync(join(dir, 'out.cpuprofile'), 'utf8')) as {
      samples: number[];
      timeDeltas: number[];
    };
    assert.equal(profile.samples.length, profile.timeDeltas.length);
    assert.ok(profile.samples.length >= 59 * 99, `${profile.samples.length} samples at 99 Hz over 60 s`);
  });
});
