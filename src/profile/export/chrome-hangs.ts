/**
 * Hangs on the main-thread track: a stall that never ended has no `stall` event, only the watchdog's
 * markers (see ../analyze/hangs.ts). Its length is known only from the last marker, which may be in a
 * later segment, and a `stall` event that ends it may come later still; so the markers are gathered
 * over the whole process and the slices written when it finishes. Nothing on the main thread starts
 * while it is stuck, so the slice still goes on the track's first lane.
 */

import { HangMarkers } from '../analyze/hangs.js';
import type { DecodedSegment } from '../format/index.js';
import type { ExportClock, ProcessTracks, TraceEvent } from './chrome-tracks.js';

export class HangSlices {
  readonly #markers = new HangMarkers();

  segment(seg: DecodedSegment): void {
    this.#markers.add(seg);
  }

  /** One slice per hang, from its start for as long as its last marker says it had lasted. */
  finish(tracks: ProcessTracks, ts: ExportClock, requestIds: ReadonlyMap<number, string>, out: TraceEvent[]): void {
    for (const hang of this.#markers.list()) {
      const start = ts(hang.startUs);
      const end = ts(hang.startUs + hang.durationUs);
      const requestId = requestIds.get(hang.requestSeq);
      const args = {
        atLeastMs: hang.durationUs / 1000,
        ongoing: true,
        ...(requestId ? { requestId } : {}),
        inFlight: hang.inFlight,
        markers: hang.markers,
      };
      tracks.complete('main', start, end, 'hang (never returned)', 'hang', args, out);
    }
  }
}
