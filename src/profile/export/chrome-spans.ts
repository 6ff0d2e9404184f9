/**
 * Spans and named tasks from the recorder's API as slices on their own tracks (extra lanes where
 * they overlap, as concurrent spans do). A task's name comes from its start, which may be in an
 * earlier segment than its end.
 */
import type { DecodedSegment } from '../format/index.js';
import { BATCH_EVENTS, type ExportClock, type ProcessTracks, type TraceEvent } from './chrome-tracks.js';
import { field, text } from './columns.js';
import { startOrder } from './lanes.js';

export class SpanSlices {
  readonly #taskNames = new Map<number, string>();

  *segment(
    seg: DecodedSegment,
    tracks: ProcessTracks,
    ts: ExportClock,
    requestIds: ReadonlyMap<number, string>,
  ): Generator<TraceEvent[]> {
    let out: TraceEvent[] = [];
    const spans = seg.events.span;
    if (spans !== undefined) {
      const start = new Float64Array(spans.count);
      const end = new Float64Array(spans.count);
      for (let i = 0; i < spans.count; i++) {
        start[i] = ts(spans.time[i] as number);
        end[i] = ts((spans.time[i] as number) + field(spans, 'durationUs', i));
      }
      for (const i of startOrder(start, end)) {
        if (out.length >= BATCH_EVENTS) {
          yield out;
          out = [];
        }
        const requestId = requestIds.get(field(spans, 'request', i));
        const name = `${text(seg, spans, 'target', i)}: ${text(seg, spans, 'name', i)}`;
        const args = { durationMs: field(spans, 'durationUs', i) / 1000, ...(requestId ? { requestId } : {}) };
        tracks.complete('spans', start[i] as number, end[i] as number, name, 'span', args, out);
      }
    }
    const starts = seg.events.taskStart;
    if (starts !== undefined)
      for (let i = 0; i < starts.count; i++)
        this.#taskNames.set(field(starts, 'task', i), text(seg, starts, 'name', i) || 'task');
    const ends = seg.events.taskEnd;
    if (ends !== undefined) {
      const start = new Float64Array(ends.count);
      const end = new Float64Array(ends.count);
      for (let i = 0; i < ends.count; i++) {
        end[i] = ts(ends.time[i] as number);
        start[i] = ts((ends.time[i] as number) - field(ends, 'durationUs', i));
      }
      for (const i of startOrder(start, end)) {
        if (out.length >= BATCH_EVENTS) {
          yield out;
          out = [];
        }
        const task = field(ends, 'task', i);
        const name = this.#taskNames.get(task) ?? 'task';
        this.#taskNames.delete(task);
        const args = { durationMs: field(ends, 'durationUs', i) / 1000, failed: field(ends, 'failed', i) === 1 };
        tracks.complete('tasks', start[i] as number, end[i] as number, name, 'task', args, out);
      }
    }
    yield out;
  }
}
