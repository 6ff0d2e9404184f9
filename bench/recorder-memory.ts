/**
 * Does the flight recorder keep memory flat under a long full-speed load? `service run` with
 * dial9.env's settings (or with the recorder off) under `wrk -t1 -c50` on GET /items/:key; the
 * process's RSS (anonymous and file-backed) from /proc every `--every` seconds, and the writer
 * thread's own heap from the `writer` events it writes into the trace every 10 s. "Flat" is judged
 * on the second half: min/median/max against the first half (minute 1, start-up, left out) and the
 * least-squares slope in MB per minute. The writer thread (named `dial9-writer`) has its CPU read
 * from /proc/PID/task apart from the rest of the process.
 *
 *   npm run build && node dist/bench/recorder-memory.js [--variant dial9.env|off] [--duration 180] [--every 10]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { decodeSegment, eventRows } from '../src/profile/format/index.js';
import { fixed, median, slope } from './lib/stats.js';
import { hasWrk, runWrk } from './lib/wrk.js';

const { values } = parseArgs({
  options: {
    variant: { type: 'string', default: 'dial9.env' },
    duration: { type: 'string', default: '180' },
    every: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
  },
});
const durationS = Number(values.duration);
const everyS = Number(values.every);
const recorderOn = values.variant !== 'off';
if (!hasWrk()) throw new Error('wrk is not installed (apt-get install wrk)');

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/run.js');

function dial9Env(traceDir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(join(ROOT, 'dial9.env'), 'utf8').split('\n')) {
    const match = /^\s*export\s+(DIAL9_[A-Z0-9_]+)=(.*)$/.exec(line);
    if (match?.[1] !== undefined) env[match[1]] = (match[2] ?? '').trim();
  }
  return { ...env, DIAL9_TRACE_DIR: traceDir };
}

interface Sample {
  readonly timeS: number;
  readonly rssMb: number;
  readonly anonMb: number;
  readonly fileMb: number;
  /** CPU seconds so far: the whole process, and the writer thread alone. */
  readonly processCpuS: number;
  readonly writerCpuS: number;
}

const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime in seconds from a /proc stat line (fields after the command name, which may hold spaces). */
function statCpuS(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** CPU seconds of the thread named `name` in process `pid` (NaN if there is none). */
function threadCpuS(pid: number, name: string): number {
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      if (comm === name) return statCpuS(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
    }
  } catch {
    // Gone.
  }
  return Number.NaN;
}

function sample(pid: number | undefined, timeS: number): Sample {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1]) / 1024;
    return {
      timeS,
      rssMb: kb('VmRSS'),
      anonMb: kb('RssAnon'),
      fileMb: kb('RssFile'),
      processCpuS: statCpuS(readFileSync(`/proc/${pid}/stat`, 'utf8')),
      writerCpuS: threadCpuS(pid ?? 0, 'dial9-writer'),
    };
  } catch {
    return {
      timeS,
      rssMb: Number.NaN,
      anonMb: Number.NaN,
      fileMb: Number.NaN,
      processCpuS: Number.NaN,
      writerCpuS: Number.NaN,
    };
  }
}

/** min / median / max of a series, in whole MB. */
function spread(values: readonly number[]): string {
  return `${fixed(Math.min(...values), 0)} / ${fixed(median(values), 0)} / ${fixed(Math.max(...values), 0)}`;
}

/** CPU per second of wall time between consecutive samples, as % of one core. */
function cpuPercents(samples: readonly Sample[], key: 'processCpuS' | 'writerCpuS'): number[] {
  const out: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1] as Sample;
    const b = samples[i] as Sample;
    out.push(((b[key] - a[key]) / (b.timeS - a.timeS)) * 100);
  }
  return out;
}

interface WriterReport {
  readonly timeS: number;
  readonly heapUsedMb: number;
  readonly externalMb: number;
  readonly strings: number;
}

/** The main thread's heap from the `resources` events (every 100 ms), per minute of the trace. */
interface MainHeapMinute {
  minMb: number;
  maxMb: number;
}

/**
 * From every segment left under `dir`: the writer thread's reports, oldest first, and the main
 * thread's heap used per minute (its saw-tooth tells a main-heap swing from native memory).
 */
function traceReports(dir: string): { writer: WriterReport[]; mainHeap: Map<number, MainHeapMinute> } {
  const writer: WriterReport[] = [];
  const mainHeap = new Map<number, MainHeapMinute>();
  let firstS = Number.POSITIVE_INFINITY;
  const resources: { timeS: number; heapUsedMb: number }[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/^trace\.\d+/.test(name)) {
        const raw = readFileSync(path);
        const segment = decodeSegment(new Uint8Array(name.endsWith('.gz') ? gunzipSync(raw) : raw));
        for (const r of eventRows(segment, 'writer'))
          writer.push({
            timeS: r.time / 1e6,
            heapUsedMb: Number(r.heapUsedKb) / 1024,
            externalMb: Number(r.externalKb) / 1024,
            strings: Number(r.segmentStrings),
          });
        for (const r of eventRows(segment, 'resources')) {
          const timeS = r.time / 1e6;
          firstS = Math.min(firstS, timeS);
          resources.push({ timeS, heapUsedMb: Number(r.heapUsedKb) / 1024 });
        }
      }
    }
  };
  walk(dir);
  for (const r of resources) {
    const minute = Math.floor((r.timeS - firstS) / 60);
    const m = mainHeap.get(minute) ?? { minMb: Number.POSITIVE_INFINITY, maxMb: 0 };
    m.minMb = Math.min(m.minMb, r.heapUsedMb);
    m.maxMb = Math.max(m.maxMb, r.heapUsedMb);
    mainHeap.set(minute, m);
  }
  return { writer: writer.sort((a, b) => a.timeS - b.timeS), mainHeap };
}

const dir = mkdtempSync(join(tmpdir(), 'bench-recorder-memory-'));
const traceDir = join(dir, 'traces');
const child = spawn(process.execPath, [BIN, 'run', '--port', '0', '--telemetry-dir', dir], {
  env: { ...process.env, ...(recorderOn ? dial9Env(traceDir) : {}) },
  stdio: ['ignore', 'ignore', 'pipe'],
});
try {
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
      const match = /"address":"(http:[^"]+)"/.exec(err);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`service exited with ${code} before listening`)));
  });
  const put = await fetch(`${url}/items/k`, { method: 'PUT', body: 'x'.repeat(64) });
  if (put.status !== 204) throw new Error(`PUT answered ${put.status}`);
  const startMs = Date.now();
  const samples: Sample[] = [sample(child.pid, 0)];
  const timer = setInterval(() => {
    const now = sample(child.pid, (Date.now() - startMs) / 1000);
    samples.push(now);
    process.stderr.write(
      `${fixed(now.timeS, 0)} s: RSS ${fixed(now.rssMb, 0)} MB (anon ${fixed(now.anonMb, 0)}, file ${fixed(now.fileMb, 0)})\n`,
    );
  }, everyS * 1000);
  const result = await runWrk(`${url}/items/k`, Number(values.connections), durationS);
  clearInterval(timer);
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  const loaded = samples.slice(1);
  const halfS = durationS / 2;
  // Minute 1 is start-up (JIT, first segment): "flat" compares the rest of the first half with the second.
  const first = loaded.filter((x) => x.timeS > 60 && x.timeS <= halfS);
  const second = loaded.filter((x) => x.timeS > halfS);
  const rssSlope = slope(
    second.map((x) => x.timeS / 60),
    second.map((x) => x.rssMb),
  );
  const anonSlope = slope(
    second.map((x) => x.timeS / 60),
    second.map((x) => x.anonMb),
  );
  console.log(
    `\nservice run, ${values.variant}, wrk -t1 -c${values.connections} ${durationS} s on GET /items/k (node ${process.version}): ${result.requests} requests, ${fixed(result.rps, 0)} req/s, ${result.errors} errors`,
  );
  console.log(`RSS MB every ${everyS} s: ${loaded.map((x) => fixed(x.rssMb, 0)).join(' ')}`);
  console.log(`anonymous MB every ${everyS} s: ${loaded.map((x) => fixed(x.anonMb, 0)).join(' ')}`);
  console.log(`file-backed MB every ${everyS} s: ${loaded.map((x) => fixed(x.fileMb, 0)).join(' ')}`);
  if (first.length > 0)
    console.log(`RSS MB, 60-${fixed(halfS, 0)} s: min / median / max ${spread(first.map((x) => x.rssMb))}`);
  console.log(
    `RSS MB, ${fixed(halfS, 0)}-${durationS} s: min / median / max ${spread(second.map((x) => x.rssMb))}; slope ${fixed(rssSlope, 2)} MB/min (anonymous ${fixed(anonSlope, 2)} MB/min)`,
  );
  const processCpu = cpuPercents(loaded, 'processCpuS');
  console.log(
    `process CPU, % of one core per ${everyS} s: median ${fixed(median(processCpu), 0)}, max ${fixed(Math.max(...processCpu), 0)}`,
  );
  if (recorderOn) {
    const writerCpu = cpuPercents(loaded, 'writerCpuS');
    const last = loaded.at(-1);
    const writerTotalS = last === undefined ? Number.NaN : last.writerCpuS - (samples[0]?.writerCpuS ?? 0);
    console.log(
      `writer thread CPU, % of one core per ${everyS} s: median ${fixed(median(writerCpu), 1)}, max ${fixed(Math.max(...writerCpu), 1)}; ${fixed(writerTotalS, 1)} s in all (${fixed((writerTotalS / (last?.timeS ?? Number.NaN)) * 100, 1)}% of one core on average)`,
    );
    const { writer: reports, mainHeap } = traceReports(traceDir);
    const minutes = [...mainHeap.entries()].sort((a, b) => a[0] - b[0]);
    console.log(
      `main thread heap used MB per minute of the trace, min-max: ${minutes.map(([, m]) => `${fixed(m.minMb, 0)}-${fixed(m.maxMb, 0)}`).join(' ')}`,
    );
    console.log(
      `writer thread heap used MB (every 10 s, segments still on disk): ${reports.map((r) => fixed(r.heapUsedMb, 0)).join(' ')}`,
    );
    console.log(`writer external MB: ${reports.map((r) => fixed(r.externalMb, 1)).join(' ')}`);
    console.log(`strings in the segment's table: ${reports.map((r) => r.strings).join(' ')}`);
  }
} finally {
  if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
