/**
 * Does `service profile analyze` keep up with a long full-load trace? Writes a synthetic trace with
 * the real SegmentEncoder (a 60 s segment per simulated minute: requests opened and closed at
 * --rate a second, one in ten forwarded to a downstream, loop/resources every 100 ms, GC, CPU samples
 * at 99 Hz, a stall now and then), gzips the segments as the recorder does, then analyzes the
 * directory in a fresh process and reports wall time and peak RSS.
 *
 *   npm run build && node dist/bench/analyze-scale.js [--minutes 10] [--rate 8000] [--keep]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { EV, EVENTS, encodeHeader, SegmentEncoder, type TraceHeader } from '../src/profile/format/index.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string', default: '8000' },
    keep: { type: 'boolean', default: false },
  },
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);

const dir = mkdtempSync(join(tmpdir(), 'analyze-scale-'));
const processDir = join(dir, 'service.1.20261130T000000Z');
mkdirSync(processDir);

function header(index: number): TraceHeader {
  return {
    format: 'dial9-node',
    version: 1,
    timeUnit: 'us',
    clock: 'performance.now() of the recorded process (monotonic), in µs',
    timeOriginMs: 1_796_000_000_000,
    segment: { index, startWallMs: 1_796_000_000_000 + index * 60_000 },
    process: { pid: 1, host: 'bench', service: 'service', argv: ['synthetic'], node: process.version },
    recording: { summary: 'synthetic trace for bench/analyze-scale.ts', on: [], off: {} },
    config: {},
    events: EVENTS,
  };
}

const started = performance.now();
let events = 0;
let bytesRaw = 0;
let bytesGz = 0;
let seq = 1;
let seed = 1;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
};
const f = new Float64Array(6);
for (let minute = 0; minute < minutes; minute++) {
  const enc = new SegmentEncoder();
  const chunks: Uint8Array[] = [encodeHeader(header(minute))];
  const ops = ['GetItem', 'SetItem'].map((s) => enc.string(s));
  const get = enc.string('GET');
  const origin = enc.string('http://127.0.0.1:4000');
  const client = enc.string('undici');
  const root = enc.stack(0, 'processTicksAndRejections', 'node:internal/process/task_queues', 95, 5);
  const handler = enc.stack(root, 'getItem', 'file:///app/dist/src/http/routes/items.js', 40, 10);
  const hot = enc.stack(handler, 'hashKey', 'file:///app/dist/src/store/memory-store.js', 12, 3);
  const put = (type: number, time: number, ...fields: number[]) => {
    f.set(fields);
    enc.event(type, time, f);
    events++;
  };
  const flush = () => {
    const block = enc.takeBlock();
    if (block !== undefined) chunks.push(block.slice());
  };
  const baseUs = minute * 60e6;
  for (let ms = 0; ms < 60_000; ms += 100) {
    const t0 = baseUs + ms * 1000;
    const perTick = Math.round(rate / 10);
    for (let i = 0; i < perTick; i++) {
      const t = t0 + (i * 100_000) / perTick;
      const id = seq++;
      const idStr = enc.string(`req-${id}`);
      const path = enc.string(`/items/k${id % 1000}`);
      put(EV.requestOpen, t, id, idStr, ops[id % 10 === 0 ? 1 : 0] as number, get, path);
      let durationUs = 300 + random() * 2000;
      if (id % 10 === 0) {
        const out = seq++;
        put(EV.httpOutStart, t + 50, out, client, get, origin, path);
        const outUs = 200 + random() * (id % 5000 === 0 ? 400_000 : 1500);
        put(EV.httpOutHeaders, t + 50 + outUs, out, 200);
        put(EV.httpOutEnd, t + 60 + outUs, out, 200, 0);
        durationUs += outUs;
      }
      put(EV.requestClose, t + durationUs, id, 200, durationUs, 0);
    }
    put(EV.loop, t0 + 100_000, 700, 3000, 50, perTick * 3, 0, 100_000);
    put(EV.resources, t0 + 100_000, 60_000, 10_000, 150_000, 40_000 + ms / 100, 30, 2);
    put(EV.gc, t0 + 20_000, 1200, 1, 0);
    put(EV.gc, t0 + 70_000, 900, 1, 0);
    for (let s = 0; s < 10; s++) put(EV.cpuSample, t0 + s * 10_000, s % 3 === 0 ? hot : handler);
    if (ms % 5000 === 0) put(EV.stall, t0 + 5000, 60_000, seq - 3, 40, 58_000, 60_000, 50_000);
    flush();
  }
  const raw = Buffer.concat(chunks);
  bytesRaw += raw.length;
  const gz = gzipSync(raw, { level: 1 });
  bytesGz += gz.length;
  writeFileSync(join(processDir, `trace.${minute}.bin.gz`), gz);
}
const generatedS = (performance.now() - started) / 1000;

const loader = fileURLToPath(new URL('../src/profile/analyze/load-node.js', import.meta.url));
const script = `
const { analyzeTracePath } = await import(${JSON.stringify(loader)});
const t = performance.now();
const { report } = await analyzeTracePath(${JSON.stringify(dir)});
const ms = performance.now() - t;
console.log(JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024, events: report.trace.events,
  requests: report.trace.requests, findings: report.findings.map((f) => f.kind + ': ' + f.summary.slice(0, 100)) }));
`;
const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
if (run.status !== 0) throw new Error(run.stderr);
const result = JSON.parse(run.stdout) as {
  ms: number;
  maxRssMb: number;
  events: number;
  requests: number;
  findings: string[];
};
console.log(
  `trace: ${minutes} min at ${rate} req/s: ${events.toLocaleString('en-US')} events, ${(bytesRaw / 1e6).toFixed(0)} MB raw, ${(bytesGz / 1e6).toFixed(0)} MB gzipped, ${statSync(processDir).isDirectory() ? minutes : 0} segments (generated in ${generatedS.toFixed(1)} s)`,
);
console.log(
  `analyze: ${(result.ms / 1000).toFixed(1)} s, peak RSS ${result.maxRssMb.toFixed(0)} MB; ${result.events.toLocaleString('en-US')} events, ${result.requests.toLocaleString('en-US')} requests`,
);
for (const line of result.findings) console.log(`  ${line}`);
if (values.keep) console.log(`kept: ${dir}`);
else rmSync(dir, { recursive: true, force: true });
