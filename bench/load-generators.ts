/**
 * `service load` against the load generators users reach for, on the same server, with the same
 * connections and duration, taking turns: autocannon (npm) and wrk (Debian's package, if
 * installed). `service load --http-client undici` runs too, to show what the builtin client saves. Server and generator share this machine's cores, as they would on a developer's
 * laptop, so a generator's own CPU cost shows in the throughput it reaches.
 *
 *   --server hello    a minimal node:http server (the default): the generators' own cost dominates
 *   --server service  `service run` itself, GET /items/:key with telemetry to files
 *
 *   npm run bench:load -- [--server hello|service] [--rounds 5] [--duration 5] [--connections 50]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuSeconds, startServer, startServiceProcess } from './lib/process.js';
import { fixed, median } from './lib/stats.js';
import { hasWrk } from './lib/wrk.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    server: { type: 'string', default: 'hello' },
  },
});
if (values.server !== 'hello' && values.server !== 'service') throw new Error('--server is hello or service');
const rounds = Number(values.rounds);
const durationS = Number(values.duration);
const connections = Number(values.connections);

const HELLO = fileURLToPath(new URL('./servers/hello.js', import.meta.url));
const SERVICE = fileURLToPath(new URL('../../bin/run.js', import.meta.url));
const AUTOCANNON = fileURLToPath(new URL('../../node_modules/autocannon/autocannon.js', import.meta.url));

/** CPU seconds the last generator run used (sampled from /proc while it ran; a slight undercount). */
let lastCpuSeconds = Number.NaN;

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let cpu = Number.NaN;
    const sampler = setInterval(() => {
      cpu = cpuSeconds(child.pid) ?? cpu;
    }, 50);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(sampler);
      lastCpuSeconds = cpu;
      if (code === 0) resolve(out);
      else reject(new Error(`${command} exited with ${code}`));
    });
  });
}

type Generator = 'service load' | 'service load, undici' | 'autocannon' | 'wrk';

async function serviceLoad(url: string, client: 'builtin' | 'undici'): Promise<number> {
  const out = await run(process.execPath, [
    SERVICE,
    'load',
    url,
    '-c',
    String(connections),
    '-d',
    `${durationS}s`,
    '--http-client',
    client,
    '--json',
  ]);
  return (JSON.parse(out) as { throughputRps: number }).throughputRps;
}

const generators: Record<Generator, (url: string) => Promise<number>> = {
  'service load': (url) => serviceLoad(url, 'builtin'),
  'service load, undici': (url) => serviceLoad(url, 'undici'),
  autocannon: async (url) => {
    const out = await run(process.execPath, [
      AUTOCANNON,
      '-c',
      String(connections),
      '-d',
      String(durationS),
      '-j',
      url,
    ]);
    const result = JSON.parse(out) as { requests: { total: number }; duration: number };
    return result.requests.total / result.duration;
  },
  wrk: async (url) => {
    const out = await run('wrk', ['-t1', `-c${connections}`, `-d${durationS}s`, url]);
    const match = /Requests\/sec:\s+([\d.]+)/.exec(out);
    if (match === null) throw new Error(`cannot read wrk's output:\n${out}`);
    return Number(match[1]);
  },
};

const names: Generator[] = ['service load', 'service load, undici', 'autocannon'];
if (hasWrk()) names.push('wrk');
if (!names.includes('wrk'))
  process.stderr.write('wrk is not installed (apt-get install wrk); comparing with autocannon only\n');

const telemetryDir = mkdtempSync(join(tmpdir(), 'bench-load-'));
const server =
  values.server === 'hello' ? await startServer(HELLO, []) : await startServiceProcess(SERVICE, telemetryDir);
let target = server.url;
if (values.server === 'service') {
  await fetch(`${server.url}/items/bench`, { method: 'PUT', body: 'x'.repeat(64) });
  target = `${server.url}/items/bench`;
}
const rates = new Map<Generator, number[]>(names.map((n) => [n, []]));
const cpuPerRequestUs = new Map<Generator, number[]>(names.map((n) => [n, []]));
try {
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length] as Generator;
      const rps = await generators[name](target);
      rates.get(name)?.push(rps);
      const cpuUs = (lastCpuSeconds * 1e6) / (rps * durationS);
      cpuPerRequestUs.get(name)?.push(cpuUs);
      process.stderr.write(
        `round ${round + 1}/${rounds} ${name.padEnd(20)} ${fixed(rps, 0)} req/s, ${fixed(cpuUs, 1)} µs CPU/req\n`,
      );
    }
  }
} finally {
  await server.stop();
  rmSync(telemetryDir, { recursive: true, force: true });
}

const ratio = (a: Generator, b: Generator) =>
  median((rates.get(a) ?? []).map((r, i) => r / (rates.get(b)?.[i] ?? Number.NaN)));
console.log(
  `\n${values.server === 'hello' ? 'hello-world node:http server' : 'service run, GET /items/:key'}, ${connections} connections, ${durationS} s x ${rounds} rounds, medians (node ${process.version})\n`,
);
console.log('| generator | req/s | service load vs it | generator CPU µs/req |');
console.log('|---|---:|---:|---:|');
for (const name of names) {
  const vs = name === 'service load' ? '' : fixed(ratio('service load', name));
  console.log(
    `| ${name} | ${fixed(median(rates.get(name) ?? []), 0)} | ${vs} | ${fixed(median(cpuPerRequestUs.get(name) ?? []), 1)} |`,
  );
}
