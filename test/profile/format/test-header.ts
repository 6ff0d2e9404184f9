/** A segment header for tests that encode blocks by hand. */
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
