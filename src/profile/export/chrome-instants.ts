/** Triggers and dropped events (process-wide) and marks (on the main thread) as instant events. */
import type { DecodedSegment } from '../format/index.js';
import { BATCH_EVENTS, type ExportClock, type ProcessTracks, type TraceEvent } from './chrome-tracks.js';
import { field, text } from './columns.js';

export function* instantEvents(seg: DecodedSegment, tracks: ProcessTracks, ts: ExportClock): Generator<TraceEvent[]> {
  let out: TraceEvent[] = [];
  const pid = tracks.pid;
  const triggers = seg.events.trigger;
  if (triggers !== undefined)
    for (let i = 0; i < triggers.count; i++) {
      if (out.length >= BATCH_EVENTS) {
        yield out;
        out = [];
      }
      const reason = text(seg, triggers, 'reason', i);
      const args = {
        reason,
        valueMs: field(triggers, 'valueUs', i) / 1000,
        thresholdMs: field(triggers, 'thresholdUs', i) / 1000,
      };
      const tid = tracks.tid('main', out);
      const at = ts(triggers.time[i] as number);
      out.push({ ph: 'i', s: 'p', name: `trigger: ${reason}`, cat: 'trigger', pid, tid, ts: at, args });
    }
  const marks = seg.events.mark;
  if (marks !== undefined)
    for (let i = 0; i < marks.count; i++) {
      if (out.length >= BATCH_EVENTS) {
        yield out;
        out = [];
      }
      const name = `${text(seg, marks, 'target', i)}: ${text(seg, marks, 'name', i)}`;
      const tid = tracks.tid('main', out);
      const at = ts(marks.time[i] as number);
      out.push({ ph: 'i', s: 't', name, cat: 'mark', pid, tid, ts: at, args: { value: field(marks, 'value', i) } });
    }
  const dropped = seg.events.dropped;
  if (dropped !== undefined)
    for (let i = 0; i < dropped.count; i++) {
      if (out.length >= BATCH_EVENTS) {
        yield out;
        out = [];
      }
      const tid = tracks.tid('main', out);
      const at = ts(dropped.time[i] as number);
      const args = { count: field(dropped, 'count', i) };
      out.push({ ph: 'i', s: 'p', name: 'dropped events', cat: 'dropped', pid, tid, ts: at, args });
    }
  yield out;
}
