/**
 * Does the flight recorder keep memory flat under a long full-speed load? `service run` with
 * dial9.env's settings (or with the recorder off) under `wrk -t1 -c50` on GET /items/:key; the
 * process's RSS from /proc every `--every` seconds, and the writer thread's own heap from the
 * `writer` events it writes into the trace every 10 s.
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
import { fixed, median } from './lib/stats.js';
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

function rssMb(pid: number | undefined): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** The writer thread's reports, from every segment left under `dir`, oldest first. */
function writerReports(dir: string): { timeS: number; heapUsedMb: number; externalMb: number; strings: number }[] {
  const out: { timeS: number; heapUsedMb: number; externalMb: number; strings: number }[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/^trace\.\d+/.test(name)) {
        const raw = readFileSync(path);
        const segment = decodeSegment(new Uint8Array(name.endsWith('.gz') ? gunzipSync(raw) : raw));
        for (const r of eventRows(segment, 'writer'))
          out.push({
            timeS: r.time / 1e6,
            heapUsedMb: Number(r.heapUsedKb) / 1024,
            externalMb: Number(r.externalKb) / 1024,
            strings: Number(r.segmentStrings),
          });
      }
    }
  };
  walk(dir);
  return out.sort((a, b) => a.timeS - b.timeS);
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
  const rss: number[] = [];
  const timer = setInterval(() => {
    rss.push(rssMb(child.pid));
    process.stderr.write(`${rss.length * everyS} s: RSS ${fixed(rss.at(-1) ?? Number.NaN, 0)} MB\n`);
  }, everyS * 1000);
  const result = await runWrk(`${url}/items/k`, Number(values.connections), durationS);
  clearInterval(timer);
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  const half = rss.slice(Math.floor(rss.length / 2));
  console.log(
    `\nservice run, ${values.variant}, wrk -t1 -c${values.connections} ${durationS} s on GET /items/k (node ${process.version}): ${result.requests} requests, ${fixed(result.rps, 0)} req/s, ${result.errors} errors`,
  );
  console.log(`RSS MB every ${everyS} s: ${rss.map((v) => fixed(v, 0)).join(' ')}`);
  console.log(
    `RSS MB, second half: min ${fixed(Math.min(...half), 0)}, median ${fixed(median(half), 0)}, max ${fixed(Math.max(...half), 0)}`,
  );
  if (recorderOn) {
    const reports = writerReports(traceDir);
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
