/**
 * Idle periods of the loop (the recorder's `idle` events, park/unpark through its native addon) as
 * slices on their own track next to the main thread, so that busy and waiting read at a glance.
 * Periods never overlap one another; they get their own track rather than the main thread's
 * because a stall's start is only known to ~10 ms and would partly overlap them.
 */
import type { DecodedSegment } from '../format/index.js';
import { BATCH_EVENTS, type ExportClock, type ProcessTracks, type TraceEvent } from './chrome-tracks.js';
import { field } from './columns.js';
import { timeOrder } from './lanes.js';

export function* idleSlices(seg: DecodedSegment, tracks: ProcessTracks, clock: ExportClock): Generator<TraceEvent[]> {
  const idle = seg.events.idle;
  if (idle === undefined) return;
  let out: TraceEvent[] = [];
  for (const i of timeOrder(idle.time)) {
    if (out.length >= BATCH_EVENTS) {
      yield out;
      out = [];
    }
    const timeUs = idle.time[i] as number;
    const durationUs = field(idle, 'durationUs', i);
    const args = {
      durationMs: durationUs / 1000,
      waitMs: field(idle, 'waitUs', i) / 1000,
      polls: field(idle, 'parks', i),
    };
    tracks.complete('idle', clock(timeUs), clock(timeUs + durationUs), 'idle (parked)', 'idle', args, out);
  }
  yield out;
}
