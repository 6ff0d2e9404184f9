/**
 * The viewer's deep links are a contract: a link written today must open the same view in every later
 * version. Parameters are only ever added; none is renamed or given another meaning. This test pins
 * them (append a row here and in docs/viewer.md to add one; never edit a row).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readUrlState, URL_PARAMETERS, writeUrlState } from '../../../src/profile/viewer/url-state.js';
import { ROOT } from '../../helpers/service-process.js';

const PINNED: Record<string, string> = {
  trace: 'trace directory under /files/',
  from: 'window start, ms on the trace clock',
  to: 'window end, ms on the trace clock',
  sel: 'selection: stall:<startMs> | gc:<startMs> | request:<requestId>',
  rfrom: 'range start, ms on the trace clock',
  rto: 'range end, ms on the trace clock',
  q: 'search text',
};

describe('viewer URL parameters', () => {
  it('keep every pinned name and meaning, in order (new ones only appended)', () => {
    const names = Object.keys(URL_PARAMETERS);
    assert.deepEqual(names.slice(0, Object.keys(PINNED).length), Object.keys(PINNED));
    for (const [name, meaning] of Object.entries(PINNED))
      assert.equal(URL_PARAMETERS[name as keyof typeof URL_PARAMETERS], meaning, name);
  });

  it('are the table of docs/viewer.md', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'viewer.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## URL parameters'));
    // A cell may hold escaped pipes (\|).
    const rows = [...section.matchAll(/^\| `([a-z]+)` \| ((?:[^|\\]|\\\|)+) \|/gm)].map((m) => [
      m[1],
      (m[2] ?? '').trim().replaceAll('\\|', '|'),
    ]);
    assert.deepEqual(Object.fromEntries(rows), { ...URL_PARAMETERS });
  });

  it('round-trip a view, ignore unknown parameters and keep µs precision', () => {
    const state = {
      trace: 'traces/service.42.20261130T045935Z',
      from: 1234.5678,
      to: 2345.0001,
      sel: 'stall:1500.25',
      rfrom: 1400.001,
      rto: 1600.999,
      q: 'planted-request-1',
    };
    const query = writeUrlState(state);
    assert.equal(
      query,
      '?trace=traces%2Fservice.42.20261130T045935Z&from=1234.568&to=2345&sel=stall%3A1500.25&rfrom=1400.001&rto=1600.999&q=planted-request-1',
    );
    assert.deepEqual(readUrlState(`${query}&future=1&v=2`), { ...state, from: 1234.568, to: 2345 });
    assert.deepEqual(readUrlState('?from=abc&to=&sel=request:r-1'), { sel: 'request:r-1' });
  });
});
