/**
 * Incoming (node:http) and outgoing requests as async slices on their own tracks. A segment's
 * starts are read before its ends, so an end finds a start written in the same segment or earlier;
 * an end whose start is gone (an evicted segment) is left out and counted.
 */
import type { DecodedSegment } from '../format/index.js';
import {
  BATCH_EVENTS,
  type ExportClock,
  type OpenSlice,
  type ProcessTracks,
  type TraceEvent,
} from './chrome-tracks.js';
import { field, text } from './columns.js';

/** Long URLs make unreadable slice names; the full one stays in the args. */
const NAME_CHARS = 120;

export class HttpSlices {
  readonly #incoming = new Map<number, OpenSlice>();
  readonly #outgoing = new Map<number, OpenSlice & { headersUs?: number }>();
  unpaired = 0;

  *segment(seg: DecodedSegment, tracks: ProcessTracks, ts: ExportClock): Generator<TraceEvent[]> {
    let out: TraceEvent[] = [];
    const inStart = seg.events.httpInStart;
    if (inStart !== undefined)
      for (let i = 0; i < inStart.count; i++) {
        const method = text(seg, inStart, 'method', i);
        const url = text(seg, inStart, 'url', i);
        this.#incoming.set(field(inStart, 'request', i), {
          timeUs: ts(inStart.time[i] as number),
          name: `${method} ${url}`.slice(0, NAME_CHARS),
          args: { method, url },
        });
      }
    const inEnd = seg.events.httpInEnd;
    if (inEnd !== undefined)
      for (let i = 0; i < inEnd.count; i++) {
        if (out.length >= BATCH_EVENTS) {
          yield out;
          out = [];
        }
        const seq = field(inEnd, 'request', i);
        const open = this.#incoming.get(seq);
        if (open === undefined) {
          this.unpaired++;
          continue;
        }
        this.#incoming.delete(seq);
        const endUs = ts(inEnd.time[i] as number);
        tracks.asyncPair('httpIn', 'http.in', seq, open, endUs, { status: field(inEnd, 'status', i) }, out);
      }
    const outStart = seg.events.httpOutStart;
    if (outStart !== undefined)
      for (let i = 0; i < outStart.count; i++) {
        const method = text(seg, outStart, 'method', i);
        const origin = text(seg, outStart, 'origin', i);
        const path = text(seg, outStart, 'path', i);
        const client = text(seg, outStart, 'client', i);
        this.#outgoing.set(field(outStart, 'request', i), {
          timeUs: ts(outStart.time[i] as number),
          name: `${method} ${origin}${path}`.slice(0, NAME_CHARS),
          args: { client, method, origin, path },
        });
      }
    const headers = seg.events.httpOutHeaders;
    if (headers !== undefined)
      for (let i = 0; i < headers.count; i++) {
        const open = this.#outgoing.get(field(headers, 'request', i));
        if (open !== undefined) open.headersUs = ts(headers.time[i] as number);
      }
    const outEnd = seg.events.httpOutEnd;
    if (outEnd !== undefined)
      for (let i = 0; i < outEnd.count; i++) {
        if (out.length >= BATCH_EVENTS) {
          yield out;
          out = [];
        }
        const seq = field(outEnd, 'request', i);
        const open = this.#outgoing.get(seq);
        if (open === undefined) {
          this.unpaired++;
          continue;
        }
        this.#outgoing.delete(seq);
        const endUs = ts(outEnd.time[i] as number);
        const error = text(seg, outEnd, 'error', i);
        const args = {
          status: field(outEnd, 'status', i),
          ...(error && error !== '0' ? { error } : {}),
          ...(open.headersUs === undefined ? {} : { headersAfterMs: (open.headersUs - open.timeUs) / 1000 }),
        };
        tracks.asyncPair('httpOut', 'http.out', seq, open, endUs, args, out);
      }
    yield out;
  }

  /** Requests still open when the trace ends: closed at its last event, marked unfinished. */
  finish(tracks: ProcessTracks, endUs: number, out: TraceEvent[]): void {
    for (const [seq, open] of this.#incoming)
      tracks.asyncPair('httpIn', 'http.in', seq, open, endUs, { unfinished: true }, out);
    for (const [seq, open] of this.#outgoing)
      tracks.asyncPair('httpOut', 'http.out', seq, open, endUs, { unfinished: true }, out);
    this.#incoming.clear();
    this.#outgoing.clear();
  }
}
