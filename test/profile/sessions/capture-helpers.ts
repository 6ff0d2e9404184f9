/** Shared by the profiling-session tests: run the CLI, read a capture, and check nothing is left running. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Manifest } from '../../../src/profile/sessions/manifest.js';
import { ROOT, type RunResult, runCli } from '../../helpers/service-process.js';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/profile/', import.meta.url));

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `service-${prefix}-`));
}

/** `service profile record ... --json`, bounded generously (first use of clinic installs it). */
export function record(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 240_000,
): Promise<RunResult> {
  return runCli(['profile', 'record', '--json', ...args], env, timeoutMs);
}

/** Flags of `profile record --tool recorder` on the stalling fixture app (`/stall`), after `--`. */
export function recorderAppArgs(captures: string, duration: string, connections: number): string[] {
  const app = join(FIXTURES, 'recorder-app.js');
  return [
    '--tool',
    'recorder',
    '--capture-dir',
    captures,
    '--target-path',
    '/stall',
    '--duration',
    duration,
    '--connections',
    String(connections),
    '--',
    'node',
    app,
  ];
}

export interface Capture {
  readonly dir: string;
  readonly manifest: Manifest;
}

/** The one capture in `root`, checked against its manifest: every listed file exists with its size. */
export function onlyCapture(root: string): Capture {
  const dirs = readdirSync(root);
  assert.equal(dirs.length, 1, `expected one capture in ${root}, found ${dirs.join(', ')}`);
  const dir = join(root, dirs[0] ?? '');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  for (const file of manifest.files) {
    assert.ok(existsSync(join(dir, file.path)), `${file.path} is listed but missing`);
    assert.equal(readFileSync(join(dir, file.path)).length, file.bytes, `${file.path} size`);
  }
  assert.ok(Date.parse(manifest.startedAt) <= Date.parse(manifest.endedAt));
  assert.equal(manifest.node, process.version);
  return { dir, manifest };
}

/** Processes whose command line names `needle` (the capture root, or this checkout's CLI). */
export function processesMentioning(needle: string): string[] {
  const out = execFileSync('ps', ['-A', '-o', 'pid=,stat=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes(needle) && !/^\s*\d+\s+Z/.test(line))
    .map((line) => line.trim());
}

/** Nothing of a session is left: no process naming its capture root or this checkout's `run`. */
export async function assertNoStrays(captureRoot: string): Promise<void> {
  // Killed processes may take a moment to be reaped.
  for (let i = 0; i < 50; i++) {
    const left = [...processesMentioning(captureRoot), ...processesMentioning(`${ROOT}bin/run.js run`)];
    if (left.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.deepEqual([...processesMentioning(captureRoot), ...processesMentioning(`${ROOT}bin/run.js run`)], []);
}

/** The one line a failed session prints, and only that. */
export function oneErrorLine(result: RunResult): string {
  const lines = result.stderr.split('\n').filter((line) => line.startsWith('Error: '));
  assert.equal(lines.length, 1, result.stderr);
  return lines[0] ?? '';
}
