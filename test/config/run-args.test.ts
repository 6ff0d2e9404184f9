import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { loadRunConfig } from '../../src/config/run.js';
import { serviceArgs } from '../../src/config/run-args.js';

describe('run options written back as flags', () => {
  test('only the given options, as --flag=value, with directories made absolute', () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-args-'));
    try {
      const raw = { port: '0', logFilter: 'info', telemetryDir: relative(process.cwd(), join(dir, 'telemetry')) };
      assert.deepEqual(serviceArgs(raw, loadRunConfig(raw)), [
        '--port=0',
        '--log-filter=info',
        `--telemetry-dir=${join(dir, 'telemetry')}`,
      ]);
      assert.deepEqual(serviceArgs({}, loadRunConfig({})), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
