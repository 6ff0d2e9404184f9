/**
 * The viewer's `/api/analysis` reads segments exactly as `service profile analyze` does: a `.gz`
 * cut short gives its complete blocks, a segment with a damaged header is skipped, and the report
 * comes with one warning line each (the page shows them) instead of the whole trace failing with a
 * raw JavaScript error.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { waitFor } from '../../helpers/wait.js';
import { killAll, processDirs, runToEnd, tempDir } from '../trace-files.js';
import { killViewers, startViewer, type ViewerProcess } from './viewer-process.js';

let root = '';
let viewer: ViewerProcess | undefined;

before(() => {
  root = tempDir('viewer-analysis');
});

after(async () => {
  await viewer?.stop();
  killViewers();
  killAll();
  rmSync(root, { recursive: true, force: true });
});

interface AnalysisState {
  status: string;
  error?: string;
  warnings?: string[];
  report?: { trace: { segments: number; events: number } };
}

describe('/api/analysis with damaged segments beside a good one', () => {
  it('reports the good one and names each damaged one in a warning', async () => {
    const traces = join(root, 'traces');
    const result = await runToEnd(
      'let n = 0; const t = setInterval(() => { if (++n === 8) clearInterval(t); }, 100);\n',
      { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: traces },
    );
    assert.equal(result.code, 0, result.stderr);
    const dir = processDirs(traces)[0] ?? assert.fail('no process directory');
    const gz = readFileSync(join(dir, 'trace.0.bin.gz'));
    // A copy cut short near its end (after the header), and one with a flipped bit in its schema.
    writeFileSync(join(dir, 'trace.1.bin.gz'), gz.subarray(0, gz.length - 30));
    const raw = gunzipSync(gz);
    const at = raw.indexOf('{"name":"request"');
    raw[at + 3] = 'i'.charCodeAt(0);
    writeFileSync(join(dir, 'trace.2.bin'), raw);

    viewer = await startViewer([traces, '--port', '0']);
    const url = `${viewer.url}api/analysis?trace=${encodeURIComponent(`traces/${basename(dir)}`)}`;
    const state = await waitFor(
      'the analysis',
      async () => {
        const answer = (await (await fetch(url)).json()) as AnalysisState;
        return answer.status === 'running' ? undefined : answer;
      },
      60_000,
    );
    assert.equal(state.status, 'done', state.error);
    assert.equal(state.report?.trace.segments, 2);
    const warnings = state.warnings ?? [];
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(
      warnings.find((w) => w.includes('trace.1.bin.gz')) ?? '',
      /is cut short \(unexpected end of file\): read its \d+ complete blocks?$/,
    );
    assert.match(
      warnings.find((w) => w.includes('trace.2.bin')) ?? '',
      /^skipped a damaged segment: .*trace\.2\.bin is not a readable trace segment: its header has event \d+ \(\w+\) with a malformed field \d+$/,
    );
  });
});
