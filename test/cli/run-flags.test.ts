/** Bad flags and environment values, through the real CLI: one line, exit code 2, no stack trace. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCli, stopAll } from '../helpers/service-process.js';

describe('service run: bad input', () => {
  after(stopAll);

  const cases: Array<[string, string[], Record<string, string>, string]> = [
    [
      '--port out of range',
      ['run', '--port', '70000'],
      {},
      'Error: invalid value "70000" for --port (PORT): expected an integer port from 0 to 65535',
    ],
    [
      'PORT from the environment',
      ['run'],
      { PORT: 'eighty' },
      'Error: invalid value "eighty" for --port (PORT): expected an integer port from 0 to 65535',
    ],
    [
      'LOG_FILTER with an unknown level',
      ['run'],
      { LOG_FILTER: 'info,service=loud' },
      'Error: invalid value "info,service=loud" for --log-filter (LOG_FILTER): unknown level "loud"; expected one of trace, debug, info, warn, error, fatal, off',
    ],
    [
      '--downstream-url not http(s)',
      ['run', '--downstream-url', 'file:///etc/passwd'],
      {},
      'Error: invalid value "file:///etc/passwd" for --downstream-url (DOWNSTREAM_URL): expected an absolute http:// or https:// URL, e.g. http://127.0.0.1:3001',
    ],
    [
      'TELEMETRY_DIR that is a file',
      ['run'],
      { TELEMETRY_DIR: '/etc/hostname' },
      'Error: invalid value "/etc/hostname" for --telemetry-dir (TELEMETRY_DIR): expected a directory, found a file',
    ],
    ['an unknown flag', ['run', '--prot', '3000'], {}, 'Error: Nonexistent flag: --prot (see --help)'],
    [
      'EMF_DIMENSIONS naming a metric',
      ['run', '--metrics-format', 'emf'],
      { EMF_DIMENSIONS: 'Duration' },
      'Error: invalid value "Duration" for --emf-dimensions (EMF_DIMENSIONS): Duration is a metric; dimensions must be properties (Operation, Path, Reason, RequestId, StatusCode, service_name)',
    ],
    [
      '--metrics-sample-rate out of range',
      ['run', '--metrics-sample-rate', '2'],
      {},
      'Error: invalid value "2" for --metrics-sample-rate (METRICS_SAMPLE_RATE): expected a fraction from 0.000001 to 1, e.g. 0.1',
    ],
  ];

  for (const [name, args, env, expected] of cases) {
    test(name, async () => {
      const result = await runCli(args, env);
      assert.equal(result.code, 2);
      assert.equal(result.stderr, `${expected}\n`);
      assert.equal(result.stdout, '');
    });
  }

  test('a flag wins over its environment variable', async () => {
    const result = await runCli(['run', '--port', '99999'], { PORT: '3000' });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /"99999"/);
  });

  test('an unwritable telemetry directory (a read-only mount)', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'service-ro-'));
    t.after(() => {
      try {
        execFileSync('umount', [dir], { stdio: 'ignore' });
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    });
    let readOnly: string;
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', dir], { stdio: 'ignore' });
      readOnly = dir;
    } catch {
      // Not root: a directory without write permission does the same job.
      execFileSync('chmod', ['0555', dir]);
      readOnly = dir;
    }
    const result = await runCli(['run', '--telemetry-dir', readOnly]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /^Error: invalid value ".+" for --telemetry-dir \(TELEMETRY_DIR\): expected a writable directory \((read-only file system|permission denied)\)\n$/,
    );
  });

  test('help lists every flag with its environment variable', async () => {
    const result = await runCli(['run', '--help']);
    assert.equal(result.code, 0);
    for (const env of [
      'BIND_ADDR',
      'PORT',
      'LOG_FILTER',
      'SERVICE_NAME',
      'TELEMETRY_DIR',
      'DOWNSTREAM_URL',
      'METRICS_FORMAT',
    ]) {
      assert.match(result.stdout, new RegExp(`\\[env: ${env}\\]`));
    }
    assert.match(result.stdout, /EXAMPLES/);
  });
});
