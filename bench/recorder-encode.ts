/**
 * The flight recorder's writer-thread cost per event, without threads or files around it: ring
 * batches shaped like `service run`'s (a requestOpen with a generated id and a path, then its
 * requestClose), encoded by `BatchEncoder` the way the writer thread does it (one block per batch,
 * a new segment every `--segment-batches`). `--paths same` repeats one path (the overhead bench's
 * GET /items/bench); `varied` cycles through 10,007 keys, more than the writer remembers.
 * Reported: ns per event (median over rounds, min beside it) and raw encoded bytes per event.
 *
 *   npm run build && node dist/bench/recorder-encode.js [--paths same|varied] [--rounds 7] [--batches 80] [--segment-batches 80]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { EV } from '../src/profile/format/schema.js';
import { BatchEncoder } from '../src/profile/recorder/batch-encoder.js';
import type { Batch } from '../src/profile/recorder/protocol.js';
import { EventRing } from '../src/profile/recorder/ring.js';
import { fixed, median } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    paths: { type: 'string', default: 'same' },
    rounds: { type: 'string', default: '7' },
    batches: { type: 'string', default: '80' },
    'segment-batches': { type: 'string', default: '80' },
  },
});
if (values.paths !== 'same' && values.paths !== 'varied') {
  console.error(`--paths ${values.paths}: expected same or varied`);
  process.exit(2);
}
const KEYS = 10_007;

/** Eight full batches, as the ring ships them (4096 records each: 2048 requests). */
function makeBatches(): Batch[] {
  const batches: Batch[] = [];
  const ring = new EventRing({ buffers: 16, ship: (batch) => batches.push(batch) > 0 });
  let timeMs = 1000;
  for (let i = 0; i < 2048 * 8; i++) {
    timeMs += 0.04;
    const operation = ring.intern('GetItem');
    const method = ring.intern('GET');
    const prefix = ring.intern('k3j4h5m6-');
    const path = values.paths === 'same' ? '/items/bench' : `/items/key-${(i * 7919) % KEYS}`;
    ring.put(EV.requestOpen, timeMs, i + 1, ring.numbered(prefix, 100_000 + i), operation, method, ring.inline(path));
    ring.put(EV.requestClose, timeMs + 0.03, i + 1, 200, 30, ring.intern(undefined));
  }
  ring.ship();
  return batches;
}

const batches = makeBatches();
const perRound = Number(values.batches);
const segmentBatches = Number(values['segment-batches']);
const encoder = new BatchEncoder(0);
let sent = 0;

/** Encodes `perRound` batches; returns [ns per event, raw bytes per event]. */
function round(): [number, number] {
  let events = 0;
  let bytes = 0;
  const startMs = performance.now();
  for (let i = 0; i < perRound; i++) {
    const batch = batches[i % batches.length] as Batch;
    // The ring's string definitions arrive once, with the first batch.
    encoder.batch(sent++ === 0 ? batch : { ...batch, defs: [] });
    for (const part of encoder.takeBlockParts() ?? []) bytes += part.length;
    events += batch.count;
    if (sent % segmentBatches === 0) encoder.newSegment();
  }
  return [((performance.now() - startMs) * 1e6) / events, bytes / events];
}

round(); // warm-up: the JIT settles
const results = Array.from({ length: Number(values.rounds) }, round);
const ns = results.map(([n]) => n);
console.log(
  `BatchEncoder, ${values.paths} paths, ${perRound} batches of ${batches[0]?.count} events per round, node ${process.version}`,
);
console.log(
  `ns/event: median ${fixed(median(ns), 1)}, min ${fixed(Math.min(...ns), 1)}; raw B/event ${fixed(results[0]?.[1] ?? 0, 2)}`,
);
