/**
 * What does the service cost next to what a user would write instead? GET /items/:key (a 64-byte
 * value) from wrk against, each in its own process:
 *
 *   service     `service run --telemetry-dir`: the product, wide events to metrics.log
 *   discard     the service's app and recorder with the metric sink thrown away
 *   fastify     a bare fastify app, same route over a Map, no hooks (the bare baseline)
 *   node:http   a bare node:http server doing the same lookup (the barer baseline)
 *   pino-http   the bare fastify app plus a pino-http access-log line per request to a file
 *
 * Every round runs every variant, in rotating order, so machine noise hits them alike; ratios are
 * taken within a round, then the median over rounds. Server CPU per request (all the server's
 * threads, from /proc) is steadier than req/s on a shared 2-core machine.
 *
 *   npm run bench:telemetry -- [--rounds 9] [--duration 3] [--connections 50]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuSeconds, type ServerProcess, startServer, startServiceProcess } from './lib/process.js';
import { fixed, median } from './lib/stats.js';
import { hasWrk, runWrk, type WrkResult } from './lib/wrk.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '9' },
    duration: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '1' },
  },
});
const rounds = Number(values.rounds);
const durationS = Number(values.duration);
const connections = Number(values.connections);
const warmupS = Number(values.warmup);
if (!hasWrk()) throw new Error('this benchmark drives wrk: apt-get install wrk');

const VARIANTS = ['service', 'discard', 'fastify', 'node:http', 'pino-http'] as const;
type Variant = (typeof VARIANTS)[number];
const server = (name: string) => fileURLToPath(new URL(`./servers/${name}.js`, import.meta.url));
const SERVICE_BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url));

function start(variant: Variant, dir: string): Promise<ServerProcess> {
  switch (variant) {
    case 'service':
      return startServiceProcess(SERVICE_BIN, dir);
    case 'discard':
      return startServer(server('telemetry-variant'), ['discard', dir]);
    case 'fastify':
      return startServer(server('bare-fastify'), []);
    case 'node:http':
      return startServer(server('bare-node-http'), []);
    case 'pino-http':
      return startServer(server('bare-fastify'), ['pino-http', dir]);
  }
}

interface Sample extends WrkResult {
  readonly cpuUsPerRequest: number;
}

async function measure(variant: Variant): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-telemetry-'));
  const proc = await start(variant, dir);
  const url = `${proc.url}/items/bench`;
  try {
    const put = await fetch(url, { method: 'PUT', body: 'x'.repeat(64) });
    if (put.status !== 204) throw new Error(`${variant}: PUT answered ${put.status}`);
    if (warmupS > 0) await runWrk(url, connections, warmupS);
    const cpuBefore = cpuSeconds(proc.child.pid);
    const result = await runWrk(url, connections, durationS);
    const cpuAfter = cpuSeconds(proc.child.pid);
    if (result.errors > 0) throw new Error(`${variant}: ${result.errors} errors or non-2xx answers`);
    const cpu = cpuBefore === undefined || cpuAfter === undefined ? Number.NaN : cpuAfter - cpuBefore;
    return { ...result, cpuUsPerRequest: (cpu * 1e6) / result.requests };
  } finally {
    await proc.stop();
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
      `round ${round + 1}/${rounds} ${variant.padEnd(9)} ${fixed(sample.rps, 0)} req/s  p99 ${fixed(sample.p99Ms, 2)} ms  ${fixed(sample.cpuUsPerRequest, 1)} µs/req\n`,
    );
  }
}

const of = (variant: Variant) => samples.get(variant) ?? [];
const med = (variant: Variant, key: keyof Sample) => median(of(variant).map((s) => s[key]));
/** Median over rounds of a/b within the same round: the machine's drift between rounds cancels. */
const ratio = (a: Variant, b: Variant, key: 'rps' | 'cpuUsPerRequest' = 'rps') =>
  median(of(a).map((s, i) => s[key] / (of(b)[i]?.[key] ?? Number.NaN)));

console.log(
  `\nGET /items/:key, wrk -t1 -c${connections}, ${durationS} s x ${rounds} rounds, medians (node ${process.version})\n`,
);
console.log('| variant | req/s | vs fastify | vs node:http | p50 ms | p99 ms | server CPU µs/req | CPU vs fastify |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const v of VARIANTS) {
  console.log(
    `| ${v} | ${fixed(med(v, 'rps'), 0)} | ${fixed(ratio(v, 'fastify'))} | ${fixed(ratio(v, 'node:http'))} | ${fixed(med(v, 'p50Ms'), 2)} | ${fixed(med(v, 'p99Ms'), 2)} | ${fixed(med(v, 'cpuUsPerRequest'), 1)} | ${fixed(ratio(v, 'fastify', 'cpuUsPerRequest'))} |`,
  );
}
console.log(
  `\nTargets: service ≥ 0.90× fastify (${fixed(ratio('service', 'fastify'))}), ≥ 0.80× node:http (${fixed(ratio('service', 'node:http'))}), CPU ≤ 1.2× fastify (${fixed(ratio('service', 'fastify', 'cpuUsPerRequest'))}).`,
);
