/** For tests that encode segments by hand: a segment header, and bytes joined into one file. */
import { EVENTS, FORMAT_VERSION, type TraceHeader } from '../../../src/profile/format/index.js';

export const TEST_HEADER: TraceHeader = {
  format: 'dial9-node',
  version: FORMAT_VERSION,
  timeUnit: 'us',
  clock: 'test',
  timeOriginMs: 1_700_000_000_000,
  segment: { index: 0, startWallMs: 1_700_000_000_000 },
  process: { pid: 1, host: 'h', service: 's', argv: [], node: 'v20' },
  recording: { summary: 'test', on: [], off: {} },
  config: {},
  events: EVENTS,
};

/** The parts one after another, as one file's bytes. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
