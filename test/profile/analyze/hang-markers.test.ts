/**
 * Which watchdog markers a finished stall claims: those that start where it starts, and those
 * written while it lasted (their starts can differ: a slow start-up put them 10 ms and more apart,
 * and a finished 1.2 s start-up read as a critical hang). Markers no stall covers stay a hang.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HangMarkers } from '../../../src/profile/analyze/hangs.js';
import type { DecodedSegment } from '../../../src/profile/format/index.js';

type Rows = Record<string, number>[];

/** Just the columns HangMarkers reads. */
function segment(markers: Rows, stalls: Rows): DecodedSegment {
  const columns = (rows: Rows, names: string[]) => ({
    count: rows.length,
    time: Float64Array.from(rows, (r) => r.time as number),
    fields: Object.fromEntries(names.map((n) => [n, Float64Array.from(rows, (r) => r[n] ?? 0)])),
  });
  return {
    events: {
      stallOngoing: columns(markers, ['durationUs', 'request', 'inFlight']),
      stall: columns(stalls, ['durationUs']),
    },
  } as unknown as DecodedSegment;
}

describe('hang markers', () => {
  it('a stall claims the markers written while it lasted, even 15 ms off its start', () => {
    const hangs = new HangMarkers();
    // Stuck from 10 ms by the heartbeat; the stall itself measured from 25 ms, 1.2 s long.
    hangs.add(
      segment(
        [
          { time: 10_000, durationUs: 300_000 },
          { time: 10_000, durationUs: 1_150_000 },
        ],
        [{ time: 25_000, durationUs: 1_200_000 }],
      ),
    );
    assert.deepEqual(hangs.list(), []);
  });

  it('a stall with the same start claims its markers; a later hang with no stall stays', () => {
    const hangs = new HangMarkers();
    hangs.add(segment([{ time: 500_000, durationUs: 260_000 }], []));
    // The stall event comes in a later segment (it is written when the stall ends).
    hangs.add(segment([{ time: 3_000_000, durationUs: 1_000_000 }], [{ time: 505_000, durationUs: 280_000 }]));
    const list = hangs.list();
    assert.equal(list.length, 1);
    assert.equal(list[0]?.startUs, 3_000_000);
  });

  it('a short stall elsewhere does not claim a hang', () => {
    const hangs = new HangMarkers();
    hangs.add(
      segment(
        [{ time: 1_000_000, durationUs: 2_000_000 }],
        // Before the hang, and one that ended before the marker was written.
        [
          { time: 200_000, durationUs: 50_000 },
          { time: 1_500_000, durationUs: 30_000 },
        ],
      ),
    );
    assert.equal(hangs.list().length, 1);
  });
});
