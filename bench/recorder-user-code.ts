/**
 * Do the recorder and the telemetry writer slow the program's own code? A plain Node program runs
 * typed-array work (a Float64Array walk over 16 MB and a Buffer scan) once batches have gone to the
 * writer thread and back: with the recorder on (the preload, dial9.env's settings), with the
 * telemetry writer `service run` uses (lines to stderr), and with neither, in alternating child
 * processes pinned to one CPU. Reported: median ms per variant, and each against `neither`.
 *
 * Why it exists: both once handed their buffers to their threads by transfer, and V8's first
 * ArrayBuffer detach in a thread takes away, for the rest of the process, the fast path of every
 * typed-array access in it. Nothing in their own costs showed it; the program's code paid.
 *
 *   npm run build && node dist/bench/recorder-user-code.js [--rounds 5]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dial9Env } from './lib/dial9-env.js';
import { fixed, median } from './lib/stats.js';
import { hasTaskset } from './lib/wrk.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(values.rounds);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REGISTER = join(ROOT, 'dist/src/profile/recorder/register.js');
const WRITER_URL = new URL('../src/writer/writer-thread.js', import.meta.url).href;
const VARIANTS = ['neither', 'recorder', 'telemetry writer'] as const;
type Variant = (typeof VARIANTS)[number];

/** Prints `{"walkMs":…,"scanMs":…}` after the recorder (if on) has shipped a few batches. */
const PROGRAM = `
const big = new Float64Array(2 * 1024 * 1024);
function walk(steps) { let at = 0; for (let i = 0; i < steps; i++) { big[at] += 1; at = (at + 8) % big.length; } }
const buf = Buffer.alloc(64 * 1024, 1);
function scan() { let s = 0; for (let i = 0; i < buf.length; i += 16) s += buf[i]; return s; }
const lines = process.env.BENCH_WRITER_URL
  ? new (await import(process.env.BENCH_WRITER_URL)).WriterThread().channel({ kind: 'fd', fd: 2, name: 'stderr' })
  : undefined;
const busy = setInterval(() => {
  for (let i = 0; i < 100; i++) setTimeout(() => {}, 0);
  lines?.write('{"line":"a wide event"}');
}, 5);
setTimeout(() => {
  clearInterval(busy);
  for (let k = 0; k < 300; k++) { walk(16384); scan(); }
  let t = performance.now(); for (let k = 0; k < 2000; k++) walk(16384); const walkMs = performance.now() - t;
  t = performance.now(); for (let k = 0; k < 20000; k++) scan(); const scanMs = performance.now() - t;
  console.log(JSON.stringify({ walkMs, scanMs }));
}, 1000);
`;

function runOnce(variant: Variant, dir: string): { walkMs: number; scanMs: number } {
  const recorder = variant === 'recorder' ? { ...dial9Env(ROOT), DIAL9_TRACE_DIR: dir } : { DIAL9_ENABLED: 'false' };
  const writer = variant === 'telemetry writer' ? { BENCH_WRITER_URL: WRITER_URL } : {};
  const env = { ...process.env, ...recorder, ...writer };
  const node = [process.execPath, '--import', REGISTER, '--input-type=module', '-e', PROGRAM];
  const [command, ...args] = hasTaskset() ? ['taskset', '-c', '1', ...node] : node;
  const run = spawnSync(command as string, args, { env, encoding: 'utf8', timeout: 60_000 });
  const line = run.stdout.split('\n').find((l) => l.startsWith('{"walkMs"'));
  if (run.status !== 0 || line === undefined) throw new Error(`program failed (${run.status}): ${run.stderr}`);
  return JSON.parse(line) as { walkMs: number; scanMs: number };
}

const dir = mkdtempSync(join(tmpdir(), 'bench-user-code-'));
const results = new Map<Variant, { walkMs: number; scanMs: number }[]>(VARIANTS.map((v) => [v, []]));
try {
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const variant of order) results.get(variant)?.push(runOnce(variant, dir));
    process.stderr.write(`round ${round + 1}/${rounds}\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const med = (name: Variant, key: 'walkMs' | 'scanMs') => median((results.get(name) ?? []).map((r) => r[key]));
console.log(`\nA plain program's typed-array code, ${rounds} rounds, node ${process.version}; ms, and against neither`);
console.log('| work | neither | recorder (dial9.env) | telemetry writer |\n|---|---:|---:|---:|');
for (const [key, label] of [
  ['walkMs', 'Float64Array walk, 2,000 × 16,384 steps'],
  ['scanMs', 'Buffer scan, 20,000 × 64 KiB'],
] as const) {
  const base = med('neither', key);
  const cell = (v: Variant) => `${fixed(med(v, key), 1)} (${fixed(med(v, key) / base, 3)})`;
  console.log(`| ${label} | ${fixed(base, 1)} | ${cell('recorder')} | ${cell('telemetry writer')} |`);
}
