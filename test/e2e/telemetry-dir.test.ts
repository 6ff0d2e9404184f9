/**
 * The telemetry directory through the real CLI: a path that cannot be created, a torn line left by
 * a crash, and the directory deleted while the service runs.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { runCli, stopAll } from '../helpers/service-process.js';

describe('--telemetry-dir', () => {
  after(stopAll);

  for (const [flag, env] of [
    ['--telemetry-dir', 'TELEMETRY_DIR'],
    ['--metrics-archive-dir', 'METRICS_ARCHIVE_DIR'],
  ] as const) {
    test(`${flag} under /proc: one line and exit 2, at once`, async () => {
      // Node's recursive mkdir never returns for /proc/nope (it spun at 100% CPU here).
      const started = Date.now();
      const result = await runCli(['run', '--port', '0', flag, '/proc/nope/telemetry']);
      const elapsedMs = Date.now() - started;
      assert.equal(result.code, 2);
      assert.equal(
        result.stderr,
        `Error: invalid value "/proc/nope/telemetry" for ${flag} (${env}): expected a directory that can be created (the file system refuses new directories there)\n`,
      );
      assert.equal(result.stdout, '');
      assert.ok(elapsedMs < 10000, `took ${elapsedMs} ms`);
    });
  }
});
