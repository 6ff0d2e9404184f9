/**
 * Test helpers for the flight recorder: run a plain Node program under the preload, and decode
 * every segment a trace directory holds (sealed `.gz` or `.active`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { type DecodedSegment, decodeSegment } from '../../src/profile/format/index.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const REGISTER = fileURLToPath(new URL('../../src/profile/recorder/register.js', import.meta.url));

export interface SegmentFile {
  readonly path: string;
  readonly name: string;
  readonly bytes: number;
  readonly segment: DecodedSegment;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

/** Process sub-directories of a trace directory. */
export function processDirs(traceDir: string): string[] {
  return readdirSync(traceDir)
    .map((name) => join(traceDir, name))
    .filter((path) => statSync(path).isDirectory());
}

/** Every segment file under `dir` (recursively), decoded, in index order. */
export function readSegments(dir: string): SegmentFile[] {
  const out: SegmentFile[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      out.push(...readSegments(path));
      continue;
    }
    if (!/^trace\.\d+/.test(name)) continue;
    const raw = readFileSync(path);
    const bytes = name.endsWith('.gz') ? gunzipSync(raw) : raw;
    out.push({ path, name, bytes: raw.length, segment: decodeSegment(new Uint8Array(bytes)) });
  }
  const index = (name: string) => Number(/^trace\.(\d+)/.exec(name)?.[1]);
  return out.sort((a, b) => index(a.name) - index(b.name));
}

/** Total bytes of the files under `dir`. */
export function diskBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    total += stat.isDirectory() ? diskBytes(path) : stat.size;
  }
  return total;
}

export interface ProgramRun {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
}

const running = new Set<ChildProcess>();

export interface ProgramOptions {
  readonly nodeArgs?: readonly string[];
  readonly register?: string;
  /** Working directory (default: the repository). */
  readonly cwd?: string;
  /** Shell `ulimit` options set before node starts, e.g. `-f 0` (no file may grow: a full disk). */
  readonly ulimit?: string;
}

/** Writes `source` to a .mjs file and runs it with the recorder preloaded. */
export function runProgram(source: string, env: Record<string, string>, options: ProgramOptions = {}): ProgramRun {
  const dir = tempDir('dial9-program');
  const file = join(dir, 'program.mjs');
  writeFileSync(file, source);
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('DIAL9_') && key !== 'NODE_OPTIONS' && key !== 'NODE_TEST_CONTEXT') clean[key] = value;
  const args = [...(options.nodeArgs ?? []), '--import', options.register ?? REGISTER, file];
  const quoted = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;
  const [command, argv] =
    options.ulimit === undefined
      ? [process.execPath, args]
      : ['bash', ['-c', `ulimit ${options.ulimit} && exec ${[process.execPath, ...args].map(quoted).join(' ')}`]];
  const child = spawn(command, argv, {
    cwd: options.cwd ?? ROOT,
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

/** Runs a program to its end (killed after `timeoutMs`). */
export async function runToEnd(
  source: string,
  env: Record<string, string>,
  options: ProgramOptions & { timeoutMs?: number } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const run = runProgram(source, env, options);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const result = await run.exited;
  clearTimeout(timer);
  return { ...result, stdout: run.stdout(), stderr: run.stderr() };
}

export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}
