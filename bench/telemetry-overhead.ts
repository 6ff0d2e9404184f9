/**
 * What does the wide event cost? GET /items/:key against the same app with its metric records
 * written to files (the product), discarded (the baseline), and discarded plus a pino-http
 * access-log line (what users would otherwise add). Variants take turns in every round, so
 * machine noise hits them alike; the report gives medians and ratios of medians.
 *
 *   npm run bench:telemetry -- [--rounds 5] [--duration 5] [--connections 50]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { cpuSeconds, startServer } from './lib/process.js';
import { fixed, median } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '1' },
  },
});
const rounds = Number(values.rounds);
const durationS = Number(values.duration);
const connections = Number(values.connections);
const warmupS = Number(values.warmup);

const VARIANTS = ['files', 'discard', 'pino-http'] as const;
type Variant = (typeof VARIANTS)[number];
const SERVER = fileURLToPath(new URL('./servers/telemetry-variant.js', import.meta.url));

interface Sample {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerRequest: number;
}

async function drive(url: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({ url: `${url}/items/bench`, connections, duration: seconds });
}

async function measure(variant: Variant): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), `bench-${variant}-`));
  const server = await startServer(SERVER, [variant, dir]);
  try {
    const put = await fetch(`${server.url}/items/bench`, { method: 'PUT', body: 'x'.repeat(64) });
    if (put.status !== 204) throw new Error(`PUT answered ${put.status}`);
    if (warmupS > 0) await drive(server.url, warmupS);
    const cpuBefore = cpuSeconds(server.child.pid);
    const result = await drive(server.url, durationS);
    const cpuAfter = cpuSeconds(server.child.pid);
    if (result.non2xx > 0 || result.errors > 0)
      throw new Error(`${variant}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    const cpu = cpuBefore === undefined || cpuAfter === undefined ? Number.NaN : cpuAfter - cpuBefore;
    return {
      rps: result.requests.total / durationS,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      cpuUsPerRequest: (cpu * 1e6) / result.requests.total,
    };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const samples = new Map<Variant, Sample[]>(VARIANTS.map((v) => [v, []]));
for (let round = 0; round < rounds; round++) {
  // Rotate the order each round so no variant always runs first (or last).
  const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length] as Variant);
  for (const variant of order) {
    const sample = await measure(variant);
    samples.get(variant)?.push(sample);
    process.stderr.write(
      `round ${round + 1}/${rounds} ${variant.padEnd(9)} ${fixed(sample.rps, 0)} req/s  p99 ${sample.p99Ms} ms\n`,
    );
  }
}

const med = (variant: Variant, key: keyof Sample) => median((samples.get(variant) ?? []).map((s) => s[key]));
/** Median over rounds of a/b within the same round: the machine's drift between rounds cancels. */
const ratio = (a: Variant, b: Variant) =>
  median((samples.get(a) ?? []).map((s, i) => s.rps / (samples.get(b)?.[i]?.rps ?? Number.NaN)));

console.log(
  `\nGET /items/:key, ${connections} connections, ${durationS} s x ${rounds} rounds, medians (node ${process.version})\n`,
);
console.log('| variant | req/s | throughput vs discard | p50 ms | p99 ms | server CPU µs/req |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const variant of VARIANTS) {
  console.log(
    `| ${variant} | ${fixed(med(variant, 'rps'), 0)} | ${fixed(ratio(variant, 'discard'))} | ${fixed(med(variant, 'p50Ms'), 1)} | ${fixed(med(variant, 'p99Ms'), 1)} | ${fixed(med(variant, 'cpuUsPerRequest'), 1)} |`,
  );
}
console.log(`\nfiles vs pino-http: ${fixed(ratio('files', 'pino-http'))}x the throughput (median of per-round ratios)`);
