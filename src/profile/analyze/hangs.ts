/**
 * Hangs: stalls that never ended. The writer thread's watchdog writes a `stallOngoing` marker while
 * the main thread is stuck (same start time, rewritten about every second with the duration so
 * far); a stall that ends also gets its `stall` event, one that never ends (a hang, then `kill -9`)
 * has only the markers. Kept per start time, the last marker wins, and a stall event with the same
 * start, or that lasted over the moment the last marker was written, drops them: that stall is
 * reported as one already. Browser-safe; the analysis and the
 * Chrome export both feed it segment by segment, in index order.
 */
import type { DecodedSegment } from '../format/index.js';

/**
 * A marker's start is the main thread's last heartbeat, the stall's own start the same instant
 * measured on the main thread: they usually agree to well within this (µs). Not always (a slow
 * start-up): a stall also claims the markers written while it lasted.
 */
export const SAME_STALL_US = 10_000;
/** Start times kept at most: a process hangs once; a flapping one should not grow this unbounded. */
const MAX_HANGS = 10_000;

export interface Hang {
  /** When the main thread last made progress (µs, trace clock). */
  readonly startUs: number;
  /** How long it had been stuck when the last marker was written: at least this long. */
  readonly durationUs: number;
  /** The request that last ran code, if after the last heartbeat (0 none). */
  readonly requestSeq: number;
  readonly inFlight: number;
  /** Markers written for it. */
  readonly markers: number;
}

export class HangMarkers {
  readonly #byStart = new Map<number, Hang>();

  add(segment: DecodedSegment): void {
    const markers = segment.events.stallOngoing;
    if (markers !== undefined) {
      const durationF = markers.fields.durationUs as Float64Array;
      const requestF = markers.fields.request as Float64Array;
      const inFlightF = markers.fields.inFlight as Float64Array;
      // Rows are in write order: the last row of a start time is its latest marker.
      for (let i = 0; i < markers.count; i++) {
        const startUs = markers.time[i] as number;
        const previous = this.#byStart.get(startUs);
        if (previous === undefined && this.#byStart.size >= MAX_HANGS) continue;
        this.#byStart.set(startUs, {
          startUs,
          durationUs: durationF[i] as number,
          requestSeq: requestF[i] as number,
          inFlight: inFlightF[i] as number,
          markers: (previous?.markers ?? 0) + 1,
        });
      }
    }
    // A stall event is written when the stall ends, so after its markers (same segment or later).
    // Its markers are those that start where it starts, or that were written while it lasted: the
    // two starts come from different signs of life (the watchdog's from the last heartbeat, the
    // stall's from the watch timer's last firing or a request), which a slow start-up put 10 ms
    // and more apart, and a finished 1.2 s start-up read as a hang.
    const stalls = segment.events.stall;
    if (stalls === undefined || this.#byStart.size === 0) return;
    const durationF = stalls.fields.durationUs as Float64Array;
    for (let i = 0; i < stalls.count; i++) {
      const stallUs = stalls.time[i] as number;
      const endUs = stallUs + (durationF[i] as number);
      for (const [startUs, hang] of this.#byStart) {
        const writtenUs = startUs + hang.durationUs;
        if (
          Math.abs(startUs - stallUs) <= SAME_STALL_US ||
          (writtenUs >= stallUs - SAME_STALL_US && writtenUs <= endUs + SAME_STALL_US)
        )
          this.#byStart.delete(startUs);
      }
    }
  }

  /** The hangs with no `stall` event of their own, in start order. */
  list(): Hang[] {
    return [...this.#byStart.values()].sort((a, b) => a.startUs - b.startUs);
  }

  get size(): number {
    return this.#byStart.size;
  }
}
