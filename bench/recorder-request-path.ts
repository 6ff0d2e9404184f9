/**
 * The flight recorder's main-thread cost per request, without HTTP around it: the request
 * lifecycle messages `service run` publishes (opened, closed), with generated request ids and
 * `/items/key-<n>` paths, into a started recorder with dial9.env's settings. Requests go in chunks
 * at a fixed rate (20,000 a second: this service's full load here); between chunks the loop idles,
 * so the writer thread encodes and hands buffers back as it would under load (nothing dropped).
 * Reported: main-thread ns per request (median over rounds) with the recorder on, and with nobody
 * subscribed (the publisher's own check), and what the writer made of it (events, gz B/event).
 *
 *   npm run build && node dist/bench/recorder-request-path.js [--requests 60000] [--rounds 5] [--chunk 100] [--rate 20000]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { GENERATED_ID_PREFIX, generatedIdNumber, newRequestId } from '../src/http/request-id.js';
import { decodeSegment } from '../src/profile/format/index.js';
import { startRecorderFromEnv } from '../src/profile/recorder/index.js';
import { publishRequestClosed, publishRequestOpened, requestClosed } from '../src/request-lifecycle.js';
import { dial9Env } from './lib/dial9-env.js';
import { fixed, median } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '60000' },
    rounds: { type: 'string', default: '5' },
    chunk: { type: 'string', default: '100' },
    rate: { type: 'string', default: '20000' },
  },
});
const requestsPerRound = Number(values.requests);
const rounds = Number(values.rounds);
const chunk = Number(values.chunk);
const chunkMs = (chunk * 1000) / Number(values.rate);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Per chunk, ns per request: a chunk preempted by another process shows as an outlier. */
const chunkNs: number[] = [];

/** Main-thread ms spent publishing `count` requests (opened, then closed a few requests later). */
async function drive(count: number): Promise<number> {
  let busyMs = 0;
  const open: [string, number, number][] = [];
  const began = performance.now();
  for (let done = 0; done < count; done += chunk) {
    const start = performance.now();
    for (let i = 0; i < chunk; i++) {
      // As the middleware publishes them.
      const requestId = newRequestId();
      const idNumber = generatedIdNumber(requestId);
      const now = performance.now();
      const path = `/items/key-${(i * 7919) % 10_000}`;
      publishRequestOpened(requestId, idNumber, GENERATED_ID_PREFIX, 'GetItem', 'GET', path, now);
      open.push([requestId, idNumber, now]);
      // Twenty requests in flight, closed in arrival order.
      const [closing, closingNumber, openedMs] = (open.length > 20 ? open.shift() : undefined) ?? ['', 0, 0];
      if (closing !== '') publishRequestClosed(closing, closingNumber, 'GetItem', 200, 0.4, undefined, openedMs + 0.4);
    }
    const spentMs = performance.now() - start;
    busyMs += spentMs;
    chunkNs.push((spentMs * 1e6) / chunk);
    await sleep(began + ((done + chunk) / chunk) * chunkMs - performance.now());
  }
  for (const [requestId, idNumber, openedMs] of open)
    publishRequestClosed(requestId, idNumber, 'GetItem', 200, 0.4, undefined, openedMs + 0.4);
  return busyMs;
}

const traceDir = mkdtempSync(join(tmpdir(), 'recorder-request-path-'));
const offNs: number[] = [];
for (let round = 0; round < rounds; round++) offNs.push(((await drive(requestsPerRound)) * 1e6) / requestsPerRound);
const offChunkNs = median(chunkNs.splice(0));

const recorder = startRecorderFromEnv({
  env: { ...dial9Env(ROOT), DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: traceDir },
  serviceChannelsOnly: true,
  log: () => {},
});
if (recorder === undefined || !requestClosed.hasSubscribers) throw new Error('the recorder did not start');
await drive(chunk * 20); // warm-up
chunkNs.length = 0;
const onNs: number[] = [];
for (let round = 0; round < rounds; round++) onNs.push(((await drive(requestsPerRound)) * 1e6) / requestsPerRound);
const onChunkNs = median(chunkNs);
const stats = recorder.stats();
await recorder.close(10_000);

let events = 0;
let gzBytes = 0;
const walk = (path: string): void => {
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  else if (path.endsWith('.bin.gz')) {
    const gz = readFileSync(path);
    gzBytes += gz.length;
    events += decodeSegment(new Uint8Array(gunzipSync(gz))).blocks.reduce((n, b) => n + b.events, 0);
  }
};
walk(traceDir);
rmSync(traceDir, { recursive: true, force: true });

process.stdout.write(
  [
    `lifecycle publish, ${rounds} rounds x ${requestsPerRound} requests at ${values.rate}/s, chunks of ${chunk} (node ${process.version})`,
    `recorder off (no subscriber): ${fixed(median(offNs), 0)} ns/request main thread, median of rounds (rounds: ${offNs.map((n) => fixed(n, 0)).join(', ')}); median chunk ${fixed(offChunkNs, 0)}`,
    `recorder on (dial9.env):      ${fixed(median(onNs), 0)} ns/request main thread, median of rounds (rounds: ${onNs.map((n) => fixed(n, 0)).join(', ')}); median chunk ${fixed(onChunkNs, 0)}`,
    `recorder's share:             ${fixed(median(onNs) - median(offNs), 0)} ns/request (median chunks: ${fixed(onChunkNs - offChunkNs, 0)})`,
    `events recorded ${stats.eventsRecorded}, dropped ${stats.eventsDropped}; trace ${events} events, ${fixed(gzBytes / Math.max(1, events))} B/event gz`,
    '',
  ].join('\n'),
);
