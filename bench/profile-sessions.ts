/**
 * What each profiling tool costs the service under load: the same closed-model load (the items mix,
 * `service load`'s engine, 50 connections) against the service alone and under each tool through
 * `service profile record`. Reported: throughput and p99 while profiling, relative to no profiler,
 * and how long the whole session took (start, load, stop, the tool's analysis).
 *
 *   npm run build && node dist/bench/profile-sessions.js [--rounds 2] [--duration 10] [--tools cpu,heap,0x]
 *
 * 0x and clinic are installed on first use; run each once before measuring.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import type { Summary } from '../src/load/summary.js';
import type { Manifest } from '../src/profile/sessions/manifest.js';
import { startServiceProcess } from './lib/process.js';
import { fixed, median } from './lib/stats.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url));
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    tools: { type: 'string', default: 'cpu,heap,0x,clinic-doctor,clinic-flame,clinic-bubbleprof,clinic-heap' },
  },
});
const load = ['--mix', 'get=9,put=1', '--connections', values.connections, '--duration', `${values.duration}s`];
const tools = values.tools.split(',');

interface Sample {
  readonly rps: number;
  readonly p99Ms: number;
  readonly sessionS: number;
}

async function baseline(dir: string): Promise<Sample> {
  const service = await startServiceProcess(BIN, dir);
  try {
    const { stdout } = await run(process.execPath, [BIN, 'load', service.url, ...load, '--json'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    const summary = JSON.parse(stdout) as Summary;
    return { rps: summary.throughputRps, p99Ms: summary.latencyMs.p99, sessionS: Number.NaN };
  } finally {
    await service.stop();
  }
}

async function profiled(tool: string, dir: string): Promise<Sample> {
  const { stdout } = await run(
    process.execPath,
    [BIN, 'profile', 'record', '--tool', tool, '--capture-dir', dir, ...load, '--json'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const manifest = (JSON.parse(stdout) as { manifest: Manifest }).manifest;
  const summary = manifest.load as Summary;
  return { rps: summary.throughputRps, p99Ms: summary.latencyMs.p99, sessionS: manifest.durationMs / 1000 };
}

const samples = new Map<string, Sample[]>();
const add = (name: string, sample: Sample) => samples.set(name, [...(samples.get(name) ?? []), sample]);
for (let round = 0; round < Number(values.rounds); round++) {
  // Every round runs the baseline next to the tools, so machine noise hits them alike.
  for (const name of ['none', ...tools]) {
    const dir = mkdtempSync(join(tmpdir(), 'profile-bench-'));
    try {
      add(name, name === 'none' ? await baseline(dir) : await profiled(name, dir));
      process.stderr.write(`round ${round + 1} ${name}: ${JSON.stringify(samples.get(name)?.at(-1))}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

const base = median((samples.get('none') ?? []).map((s) => s.rps));
console.log('| tool | req/s | vs none | p99 ms | session s |');
console.log('|---|---:|---:|---:|---:|');
for (const [name, list] of samples) {
  const rps = median(list.map((s) => s.rps));
  const session = median(list.map((s) => s.sessionS));
  console.log(
    `| ${name} | ${Math.round(rps)} | ${fixed(rps / base, 2)} | ${fixed(median(list.map((s) => s.p99Ms)), 1)} | ${Number.isNaN(session) ? '' : fixed(session, 0)} |`,
  );
}
