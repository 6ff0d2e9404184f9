/**
 * What does the flight recorder cost? `service run` (GET /items/:key, metric records to files) with
 * the recorder off, with dial9.env's settings, with CPU sampling at 99 Hz on top, and (`--variants`)
 * with the task dump's creation stacks (async_hooks init) on top. Variants take
 * turns in every round; the report gives medians, throughput ratios of the same round, server CPU
 * per request, and the trace's size: events per second and gzipped bytes per event.
 *
 *   npm run build && node dist/bench/recorder-overhead.js [--rounds 5] [--duration 5] [--connections 50] [--rate 0]
 *     [--variants off,dial9.env,cpu-99hz,task-dump]
 *
 * On a shared, busy machine throughput swings with the neighbours; `--rate 2000` holds the load
 * fixed below saturation, so the server's CPU per request is the number to compare.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import { decodeSegment } from '../src/profile/format/index.js';
import { cpuSeconds } from './lib/process.js';
import { fixed, median } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '1' },
    /** Requests per second in total; 0 (the default) drives as fast as the server answers. */
    rate: { type: 'string', default: '0' },
    /** Comma-separated, from off, dial9.env, cpu-99hz, task-dump; `off` is always measured. */
    variants: { type: 'string', default: 'off,dial9.env,cpu-99hz' },
  },
});
const rate = Number(values.rate);
const rounds = Number(values.rounds);
const durationS = Number(values.duration);
const connections = Number(values.connections);
const warmupS = Number(values.warmup);

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/run.js');

/** dial9.env's `export NAME=value` lines, as the shell would set them. */
function dial9Env(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(join(ROOT, 'dial9.env'), 'utf8').split('\n')) {
    const match = /^\s*export\s+(DIAL9_[A-Z0-9_]+)=(.*)$/.exec(line);
    if (match?.[1] !== undefined) env[match[1]] = (match[2] ?? '').trim();
  }
  return env;
}

const ALL_VARIANTS = ['off', 'dial9.env', 'cpu-99hz', 'task-dump'] as const;
type Variant = (typeof ALL_VARIANTS)[number];
const VARIANTS: readonly Variant[] = ALL_VARIANTS.filter(
  (v) => v === 'off' || (values.variants ?? '').split(',').includes(v),
);

function variantEnv(variant: Variant, traceDir: string): Record<string, string> {
  if (variant === 'off') return {};
  const env = { ...dial9Env(), DIAL9_TRACE_DIR: traceDir };
  if (variant === 'cpu-99hz') return { ...env, DIAL9_CPU_PROFILE_ENABLED: 'true', DIAL9_CPU_SAMPLE_HZ: '99' };
  if (variant === 'task-dump') return { ...env, DIAL9_TASK_DUMP_ENABLED: 'true' };
  return env;
}

interface Sample {
  readonly rps: number;
  readonly p99Ms: number;
  readonly cpuUsPerRequest: number;
  readonly rssMb: number;
  readonly events: number;
  readonly gzBytes: number;
  readonly rawBytes: number;
}

function rssMb(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** Events and bytes of every sealed segment under `dir`. */
function traceSize(dir: string): { events: number; gzBytes: number; rawBytes: number } {
  let events = 0;
  let gzBytes = 0;
  let rawBytes = 0;
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.bin.gz')) {
        const gz = readFileSync(path);
        const raw = gunzipSync(gz);
        gzBytes += gz.length;
        rawBytes += raw.length;
        events += decodeSegment(new Uint8Array(raw)).blocks.reduce((n, b) => n + b.events, 0);
      }
    }
  };
  walk(dir);
  return { events, gzBytes, rawBytes };
}

async function measure(variant: Variant): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), `bench-recorder-${variant}-`));
  const traceDir = join(dir, 'traces');
  const child = spawn(process.execPath, [BIN, 'run', '--port', '0', '--telemetry-dir', dir], {
    env: { ...process.env, ...variantEnv(variant, traceDir) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
      const match = /"address":"(http:[^"]+)"/.exec(err);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`service exited with ${code} before listening`)));
  });
  try {
    const put = await fetch(`${url}/items/bench`, { method: 'PUT', body: 'x'.repeat(64) });
    if (put.status !== 204) throw new Error(`PUT answered ${put.status}`);
    const drive = (seconds: number) =>
      autocannon({
        url: `${url}/items/bench`,
        connections,
        duration: seconds,
        ...(rate > 0 ? { overallRate: rate } : {}),
      });
    if (warmupS > 0) await drive(warmupS);
    const cpuBefore = cpuSeconds(child.pid);
    const result = await drive(durationS);
    const cpuAfter = cpuSeconds(child.pid);
    if (result.non2xx > 0 || result.errors > 0)
      throw new Error(`${variant}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    const cpu = cpuBefore === undefined || cpuAfter === undefined ? Number.NaN : cpuAfter - cpuBefore;
    const rss = rssMb(child.pid);
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    const size = variant === 'off' ? { events: 0, gzBytes: 0, rawBytes: 0 } : traceSize(traceDir);
    return {
      rps: result.requests.total / durationS,
      p99Ms: result.latency.p99,
      cpuUsPerRequest: (cpu * 1e6) / result.requests.total,
      rssMb: rss,
      ...size,
    };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const samples = new Map<Variant, Sample[]>(VARIANTS.map((v) => [v, []]));
for (let round = 0; round < rounds; round++) {
  const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length] as Variant);
  for (const variant of order) {
    const sample = await measure(variant);
    samples.get(variant)?.push(sample);
    process.stderr.write(
      `round ${round + 1}/${rounds} ${variant.padEnd(9)} ${fixed(sample.rps, 0)} req/s  cpu ${fixed(sample.cpuUsPerRequest, 1)} µs/req  ${sample.events} events ${fixed(sample.gzBytes / Math.max(1, sample.events))} B/event gz\n`,
    );
  }
}

const med = (variant: Variant, pick: (s: Sample) => number) => median((samples.get(variant) ?? []).map(pick));
const ratio = (a: Variant, b: Variant) =>
  median((samples.get(a) ?? []).map((s, i) => s.rps / (samples.get(b)?.[i]?.rps ?? Number.NaN)));
const cpuRatio = (a: Variant, b: Variant) =>
  median(
    (samples.get(a) ?? []).map((s, i) => s.cpuUsPerRequest / (samples.get(b)?.[i]?.cpuUsPerRequest ?? Number.NaN)),
  );

console.log(
  `\nservice run, GET /items/:key, ${connections} connections${rate > 0 ? ` at ${rate} req/s` : ''}, ${durationS} s x ${rounds} rounds, medians (node ${process.version})\n`,
);
console.log(
  '| variant | req/s | throughput vs off | p99 ms | server CPU µs/req | CPU vs off | RSS MB | events/s | bytes/event raw | bytes/event gz |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const variant of VARIANTS) {
  const events = med(variant, (s) => s.events);
  const eventsPerS = events / (durationS + warmupS);
  console.log(
    `| ${variant} | ${fixed(
      med(variant, (s) => s.rps),
      0,
    )} | ${fixed(ratio(variant, 'off'))} | ${fixed(
      med(variant, (s) => s.p99Ms),
      1,
    )} | ${fixed(
      med(variant, (s) => s.cpuUsPerRequest),
      1,
    )} | ${fixed(cpuRatio(variant, 'off'))} | ${fixed(
      med(variant, (s) => s.rssMb),
      0,
    )} | ${variant === 'off' ? '-' : fixed(eventsPerS, 0)} | ${variant === 'off' ? '-' : fixed(med(variant, (s) => s.rawBytes / s.events))} | ${variant === 'off' ? '-' : fixed(med(variant, (s) => s.gzBytes / s.events))} |`,
  );
}
