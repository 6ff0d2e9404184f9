/**
 * `service profile export -o PATH` behaves like a shell redirect: a regular file (or a new one) is
 * replaced atomically, through a symlink at the link's target; a device, a FIFO or a link to this
 * process's stdout is written in place, never replaced by a plain file; a write error is one line.
 * The devices are private nodes in a temp dir (mknod needs root, as CI runs), never /dev.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  createReadStream,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, ROOT, type RunResult, runCli, stopAll } from '../../helpers/service-process.js';
import { tempDir } from '../trace-files.js';
import { writeSyntheticTrace } from './synthetic-trace.js';

let dir = '';
let trace = '';
let out = '';

before(() => {
  dir = tempDir('dial9-export-output');
  // Small and fast to write: two segments, a few hundred events.
  trace = writeSyntheticTrace(join(dir, 'trace'), { seconds: 2, requestsPerSecond: 20, segmentSeconds: 1 }).dir;
  out = join(dir, 'out');
  mkdirSync(out);
});

after(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory per test, so a leftover temporary is easy to see. */
function outDir(name: string): string {
  const path = join(out, name);
  mkdirSync(path);
  return path;
}

/** `mknod -m 666 PATH c MAJOR MINOR`: 1 3 behaves as /dev/null, 1 7 as /dev/full. */
function charDevice(path: string, major: number, minor: number): string {
  execFileSync('mknod', ['-m', '666', path, 'c', String(major), String(minor)]);
  return path;
}

function exportTo(output: string) {
  return runCli(['profile', 'export', trace, '-o', output], {}, 60_000);
}

/**
 * Runs `service profile export <trace> -o output` under `sh -c script`, the command being "$@": for
 * what runCli cannot set up, a size limit (ulimit) or a stdout that is a real pipe (Node's are
 * socket pairs, which cannot be opened through /proc/self/fd, as with a shell redirect).
 */
function exportUnderShell(
  script: string,
  path: string,
  output: string,
  env: Record<string, string> = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const args = ['-c', script, 'sh', process.execPath, BIN, 'profile', 'export', path, '-o', output];
    const child = spawn('/bin/sh', args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function assertNoTemporary(directory: string): void {
  const partial = readdirSync(directory).filter((name) => name.includes('.partial-'));
  assert.deepEqual(partial, [], `temporaries left in ${directory}`);
}

function assertExport(text: string): void {
  const parsed = JSON.parse(text) as { traceEvents: unknown[] };
  assert.ok(parsed.traceEvents.length > 0, 'events');
}

describe('service profile export -o PATH', () => {
  it('replaces a regular file with the export, atomically, and says where it wrote', async () => {
    const here = outDir('regular');
    const file = join(here, 'trace.json');
    writeFileSync(file, 'old');
    const result = await exportTo(file);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^wrote .*trace\.json \(/);
    assert.ok(lstatSync(file).isFile());
    assertExport(readFileSync(file, 'utf8'));
    assertNoTemporary(here);
  });

  it('writes a new file', async () => {
    const here = outDir('new');
    const file = join(here, 'trace.json');
    const result = await exportTo(file);
    assert.equal(result.code, 0, result.stderr);
    assertExport(readFileSync(file, 'utf8'));
    assertNoTemporary(here);
  });

  it('through a symlink to a regular file, writes the target and keeps the link', async () => {
    const here = outDir('symlink');
    const targets = join(here, 'targets');
    mkdirSync(targets);
    const target = join(targets, 'real.json');
    writeFileSync(target, 'old');
    const link = join(here, 'link.json');
    symlinkSync('targets/real.json', link);
    const result = await exportTo(link);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(lstatSync(link).isSymbolicLink(), 'still a symlink');
    assert.equal(readlinkSync(link), 'targets/real.json');
    assertExport(readFileSync(target, 'utf8'));
    // The temporary goes next to the target (same file system as the rename), and is gone.
    assertNoTemporary(here);
    assertNoTemporary(targets);
  });

  it('writes into a character device, which stays a character device', async () => {
    const here = outDir('null');
    const device = charDevice(join(here, 'null'), 1, 3);
    const result = await exportTo(device);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(lstatSync(device).isCharacterDevice(), 'still a character device');
    assert.equal(statSync(device).rdev, statSync('/dev/null').rdev);
    // Nothing to open later, so no note.
    assert.equal(result.stdout, '');
    assertNoTemporary(here);
  });

  it('fails with one line when the device is full, leaving nothing behind', async () => {
    const here = outDir('full');
    const device = charDevice(join(here, 'full'), 1, 7);
    const result = await exportTo(device);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
    assert.match(result.stderr, /^Error: cannot write the export to .*full: ENOSPC/);
    assert.doesNotMatch(result.stderr, /\bat .*\.js:\d+/, 'no stack trace');
    assert.ok(lstatSync(device).isCharacterDevice(), 'still a character device');
    assertNoTemporary(here);
  });

  it('through a link to /proc/self/fd/1, writes to stdout (a pipe) and keeps the link', async () => {
    const here = outDir('stdout');
    const link = join(here, 'stdout');
    symlinkSync('/proc/self/fd/1', link);
    // The exit code of "$@" goes to stderr: the pipeline's is cat's.
    const result = await exportUnderShell('"$@" | cat; echo "exit $?" >&2', trace, link);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, 'exit 0\n');
    // The export alone: a note after it would make the JSON unreadable.
    assertExport(result.stdout);
    assert.ok(lstatSync(link).isSymbolicLink(), 'still a symlink');
    assertNoTemporary(here);
  });

  it('through a link to /proc/self/fd/1, writes into the file stdout is redirected to', async () => {
    const here = outDir('stdout-file');
    const link = join(here, 'stdout');
    symlinkSync('/proc/self/fd/1', link);
    const redirected = join(here, 'redirected.json');
    const result = await exportUnderShell('exec "$@" > "$REDIRECT"', trace, link, { REDIRECT: redirected });
    assert.equal(result.code, 0, result.stderr);
    assertExport(readFileSync(redirected, 'utf8'));
    assert.ok(lstatSync(link).isSymbolicLink(), 'still a symlink');
    assertNoTemporary(here);
  });

  it('writes into a FIFO, which stays a FIFO', async () => {
    const here = outDir('fifo');
    const fifo = join(here, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const chunks: Buffer[] = [];
    const read = new Promise<string>((resolve, reject) => {
      createReadStream(fifo)
        .on('data', (chunk) => chunks.push(Buffer.from(chunk)))
        .on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
        .on('error', reject);
    });
    const result = await exportTo(fifo);
    assert.equal(result.code, 0, result.stderr);
    assertExport(await read);
    assert.ok(lstatSync(fifo).isFIFO(), 'still a FIFO');
    assertNoTemporary(here);
  });

  it('a write that fails half way leaves the old file and no temporary', async () => {
    const here = outDir('too-large');
    const file = join(here, 'trace.json');
    writeFileSync(file, 'old');
    // 4 KB at most per file: the export (~30 KB) fails with EFBIG while writing its temporary.
    const result = await exportUnderShell('ulimit -f 4 && exec "$@"', trace, file);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
    assert.match(result.stderr, /^Error: cannot write the export to .*trace\.json: EFBIG/);
    assert.equal(readFileSync(file, 'utf8'), 'old');
    assertNoTemporary(here);
  });

  it('a directory that does not exist is one line naming the path asked for', async () => {
    const missing = join(out, 'no-such-dir', 'trace.json');
    const result = await exportTo(missing);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
    assert.match(result.stderr, /^Error: cannot write the export to .*no-such-dir\/trace\.json: ENOENT/);
  });
});
