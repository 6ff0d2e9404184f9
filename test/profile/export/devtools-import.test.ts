/**
 * The exports opened by Chrome DevTools' own trace engine (the code behind its Performance panel,
 * published as @paulirish/trace_engine): not a checker of ours, the importer users will use.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { runCli } from '../../helpers/service-process.js';
import { tempDir } from '../trace-files.js';
import { PLANTED_FUNCTION, recordTrace } from './recorded-trace.js';

interface ThreadEntry {
  readonly name?: string;
  readonly callFrame?: { readonly functionName: string };
}

let traceDir = '';
before(async () => {
  traceDir = await recordTrace();
});

describe('profile export: DevTools trace engine', () => {
  test('the Chrome trace parses, with the main thread slices and the CPU samples as entries', async () => {
    const out = join(tempDir('dial9-devtools'), 'trace.json');
    const run = await runCli(['profile', 'export', traceDir, '--format', 'chrome', '-o', out], {}, 60_000);
    assert.equal(run.code, 0, run.stderr);
    const { analyzeEvents } = await import('@paulirish/trace_engine/analyze-trace.mjs');
    const { traceEvents } = JSON.parse(readFileSync(out, 'utf8')) as { traceEvents: unknown[] };
    const { parsedTrace } = await analyzeEvents(traceEvents);
    const bounds = parsedTrace.data.Meta.traceBounds;
    assert.ok(bounds.range > 0, 'a trace with a time span');
    const names: string[] = [];
    let entries = 0;
    for (const process of parsedTrace.data.Renderer.processes.values()) {
      for (const thread of process.threads.values()) {
        entries += thread.entries.length;
        for (const entry of thread.entries as ThreadEntry[]) if (entry.name) names.push(entry.name);
      }
    }
    assert.ok(entries > 0, 'DevTools built a tree of entries');
    assert.ok(
      names.some((name) => name.includes(PLANTED_FUNCTION)),
      `the planted function is among the entries DevTools draws (${[...new Set(names)].slice(0, 20).join(', ')})`,
    );
  });
});
