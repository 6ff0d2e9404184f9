/**
 * A large trace written with the real encoder, for scale tests only (the behaviour tests record real
 * programs): a service at a steady request rate with outgoing calls, loop and resource samples, CPU
 * samples over a few stacks, GC pauses and an occasional stall, cut into segments like the recorder's.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { EV, EVENTS, encodeHeader, SegmentEncoder, type TraceHeader } from '../../../src/profile/format/index.js';

export interface SyntheticTrace {
  readonly dir: string;
  readonly events: number;
  readonly requests: number;
}

export function writeSyntheticTrace(
  parent: string,
  options: { seconds: number; requestsPerSecond: number; segmentSeconds?: number },
): SyntheticTrace {
  const dir = join(parent, 'service.4242.20261130T000000Z');
  mkdirSync(dir, { recursive: true });
  const segmentSeconds = options.segmentSeconds ?? 60;
  const header = (index: number): TraceHeader => ({
    format: 'dial9-node',
    version: 1,
    timeUnit: 'us',
    clock: 'synthetic',
    timeOriginMs: 1_796_000_000_000,
    segment: { index, startWallMs: 1_796_000_000_000 + index * segmentSeconds * 1000 },
    process: { pid: 4242, host: 'h', service: 'service', argv: [], node: process.version },
    recording: { summary: 'synthetic: flight recorder on, CPU samples at 99 Hz', on: [], off: {} },
    config: { cpuProfile: true, cpuSampleHz: 99 },
    events: EVENTS,
  });
  let events = 0;
  let requests = 0;
  let seq = 0;
  const gapUs = 1e6 / options.requestsPerSecond;
  for (let index = 0; index * segmentSeconds < options.seconds; index++) {
    const encoder = new SegmentEncoder();
    const blocks: Uint8Array[] = [encodeHeader(header(index))];
    const put = (type: number, timeUs: number, fields: number[]) => {
      encoder.event(type, timeUs, fields);
      events++;
      if (encoder.pendingEvents >= 4096) blocks.push(encoder.takeBlock() as Uint8Array);
    };
    const op = encoder.string('GetItem');
    const get = encoder.string('GET');
    const origin = encoder.string('http://127.0.0.1:3100');
    const root = encoder.stack(0, 'processTicksAndRejections', 'node:internal/process/task_queues', 95, 5);
    const handler = encoder.stack(root, 'getItem', 'file:///app/items.js', 40, 3);
    const hot = encoder.stack(handler, 'serialize', 'file:///app/json.js', 12, 7);
    const fromUs = index * segmentSeconds * 1e6 + 1e5;
    const toUs = Math.min(options.seconds, (index + 1) * segmentSeconds) * 1e6;
    let nextTickUs = fromUs;
    let nextSampleUs = fromUs;
    for (let t = fromUs; t < toUs; t += gapUs) {
      const request = ++seq;
      requests++;
      const id = encoder.string(`req-${request}`);
      put(EV.requestOpen, t, [request, id, op, get, encoder.string(`/items/${request % 1000}`)]);
      if (request % 3 === 0) {
        const out = ++seq;
        put(EV.httpOutStart, t + 50, [out, encoder.string('undici'), get, origin, encoder.string('/items')]);
        put(EV.httpOutHeaders, t + 900, [out, 200]);
        put(EV.httpOutEnd, t + 1000, [out, 200, 0]);
      }
      put(EV.requestClose, t + 1500, [request, 200, 1500, 0]);
      while (nextTickUs <= t) {
        put(EV.loop, nextTickUs, [600, 12_000, 900, 2000, 10, 100_000]);
        put(EV.resources, nextTickUs, [50_000, 5_000, 120_000, 40_000, 25, 3]);
        put(EV.gc, nextTickUs + 300, [1200, 1, 0]);
        if (Math.round(nextTickUs / 1e5) % 20 === 0)
          put(EV.stall, nextTickUs + 500, [30_000, request, 4, 30_000, 100_000, 25_000]);
        nextTickUs += 1e5;
      }
      while (nextSampleUs <= t) {
        put(EV.cpuSample, nextSampleUs, [Math.round(nextSampleUs) % 3 === 0 ? handler : hot]);
        nextSampleUs += 1e6 / 99;
      }
    }
    const last = encoder.takeBlock();
    if (last !== undefined) blocks.push(last);
    const total = blocks.reduce((n, b) => n + b.length, 0);
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const block of blocks) {
      bytes.set(block, offset);
      offset += block.length;
    }
    writeFileSync(join(dir, `trace.${index}.bin.gz`), gzipSync(bytes));
  }
  return { dir, events, requests };
}
