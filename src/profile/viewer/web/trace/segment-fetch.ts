/**
 * Fetches a segment and decodes it while it streams in (gunzip through the browser's
 * DecompressionStream, blocks through the shared SegmentReader), optionally only a time window and
 * stopping once the blocks are well past it: a window near the start of a big segment never pays for
 * the rest of it.
 */
import { type DecodedSegment, SegmentReader } from '../../../format/decoder.js';
import type { TraceHeader } from '../../../format/schema.js';
import type { SegmentRef } from './protocol.js';

/** CPU samples reach the trace in bursts up to 30 s after they were taken: read this far past a window. */
export const LATE_EVENTS_MS = 35_000;

async function stream(ref: SegmentRef): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const response = await fetch(ref.url);
  if (!response.ok || response.body === null) throw new Error(`${ref.name}: HTTP ${response.status}`);
  const body = ref.name.endsWith('.gz')
    ? response.body.pipeThrough(
        new DecompressionStream('gzip') as unknown as ReadableWritablePair<Uint8Array, Uint8Array>,
      )
    : response.body;
  return body.getReader();
}

export async function fetchHeader(ref: SegmentRef): Promise<TraceHeader> {
  const reader = await stream(ref);
  const segment = new SegmentReader({ fromUs: Number.POSITIVE_INFINITY, toUs: Number.NEGATIVE_INFINITY });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (value !== undefined) segment.push(value);
      if (segment.header !== undefined) return segment.header;
      if (done) throw new Error(`${ref.name}: no header`);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

export interface FetchWindow {
  readonly fromMs?: number;
  readonly toMs?: number;
  /** Stop reading once a block ends after this (ms). */
  readonly stopAfterMs?: number;
}

export async function fetchSegment(ref: SegmentRef, window: FetchWindow = {}): Promise<DecodedSegment> {
  const reader = await stream(ref);
  const segment = new SegmentReader({
    fromUs: window.fromMs === undefined ? undefined : window.fromMs * 1000,
    toUs: window.toMs === undefined ? undefined : window.toMs * 1000,
  });
  const stopUs = window.stopAfterMs === undefined ? Number.POSITIVE_INFINITY : window.stopAfterMs * 1000;
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        // A .gz cut short (a full disk, a kill during the gzip) or damaged further on: what inflated
        // before the damage is kept, as the CLI does (its complete blocks; `truncated` says so).
        // Nothing to show without the header: the error stands.
        if (segment.header === undefined) throw err;
        break;
      }
      const { done, value } = chunk;
      if (value !== undefined) {
        const blocks = segment.push(value);
        if (blocks.some((b) => b.minUs > stopUs)) break;
      }
      if (done) break;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  return segment.result();
}

/** Start of a segment on the trace clock (ms): its wall-clock start mapped through the time origin. */
export function segmentStartMs(header: TraceHeader): number {
  return header.segment.startWallMs - header.timeOriginMs;
}
