/**
 * `service profile record --tool recorder` from the TypeScript sources (bin/dev.js): the program
 * still gets the recorder's preload (the build's), so the capture holds its trace.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { eventRows } from '../../../src/profile/format/index.js';
import { DEV_BIN, ROOT } from '../../helpers/service-process.js';
import { readSegments } from '../trace-files.js';
import { onlyCapture, recorderAppArgs, tempDir } from './capture-helpers.js';

const children = new Set<ReturnType<typeof spawn>>();
const dirs: string[] = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function devRecord(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('DIAL9_') && key !== 'NODE_OPTIONS' && key !== 'NODE_TEST_CONTEXT') env[key] = value;
  const child = spawn(process.execPath, [DEV_BIN, 'profile', 'record', '--json', ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, stderr });
    });
  });
}

describe('service profile record --tool recorder from the sources (bin/dev.js)', () => {
  test('preloads the recorder into a plain program: sealed segments with its requests', async () => {
    const captures = tempDir('recorder-dev');
    dirs.push(captures);
    const result = await devRecord(recorderAppArgs(captures, '1s', 2));
    assert.equal(result.code, 0, result.stderr);
    const { dir, manifest } = onlyCapture(captures);
    assert.equal(manifest.tool.name, 'recorder');
    const segments = readSegments(join(dir, 'trace'));
    assert.ok(segments.length > 0, 'the preload wrote a trace');
    const ends = segments.flatMap(({ segment }) => eventRows(segment, 'httpInEnd'));
    assert.ok(ends.length > 0 && ends.every((r) => r.status === 200), `${ends.length} requests`);
  });
});
