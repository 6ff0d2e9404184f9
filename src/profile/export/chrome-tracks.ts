/**
 * The tracks (thread ids) of one process in the Chrome trace, and the events that name them.
 * Track groups whose slices may overlap get extra lanes (see lanes.ts); each lane is a thread id.
 */
import { LaneAllocator } from './lanes.js';

export type TrackGroup = 'main' | 'idle' | 'spans' | 'tasks' | 'cpu' | 'requests' | 'httpIn' | 'httpOut';

const GROUPS: Readonly<Record<TrackGroup, { tid: number; name: string }>> = {
  main: { tid: 100, name: 'main thread' },
  idle: { tid: 150, name: 'event loop idle (parked)' },
  cpu: { tid: 200, name: 'CPU samples (JS stacks)' },
  requests: { tid: 300, name: 'requests (wide events)' },
  httpIn: { tid: 310, name: 'HTTP in (node:http)' },
  httpOut: { tid: 400, name: 'outgoing requests' },
  spans: { tid: 500, name: 'spans' },
  tasks: { tid: 600, name: 'tasks' },
};

/** A JSON-ready trace event. */
export type TraceEvent = Record<string, unknown>;

/** Events handed on at a time: a segment's millions of events never sit in one array. */
export const BATCH_EVENTS = 4096;

/** Trace-clock µs (a float) to the export's integer µs on the shared axis. */
export type ExportClock = (timeUs: number) => number;

/** The start of an async slice (a request, an outgoing call) waiting for its end. */
export interface OpenSlice {
  readonly timeUs: number;
  readonly name: string;
  readonly args: Record<string, unknown>;
}

export type AsyncGroup = 'requests' | 'httpIn' | 'httpOut';

export class ProcessTracks {
  readonly pid: number;
  readonly #named = new Set<number>();
  readonly #lanes = new Map<TrackGroup, LaneAllocator>();

  constructor(pid: number) {
    this.pid = pid;
  }

  /** The thread id of a group (lane 0), with its name event the first time. */
  tid(group: TrackGroup, out: TraceEvent[], lane = 0): number {
    const { tid: base, name } = GROUPS[group];
    const tid = base + lane;
    if (!this.#named.has(tid)) {
      this.#named.add(tid);
      const label = lane === 0 ? name : `${name} (overlapping, ${lane + 1})`;
      out.push({ ph: 'M', name: 'thread_name', pid: this.pid, tid, args: { name: label } });
      out.push({ ph: 'M', name: 'thread_sort_index', pid: this.pid, tid, args: { sort_index: tid } });
    }
    return tid;
  }

  /** A complete event on the first lane of `group` where it nests; integer µs in, integer µs out. */
  complete(
    group: TrackGroup,
    startUs: number,
    endUs: number,
    name: string,
    cat: string,
    args: Record<string, unknown>,
    out: TraceEvent[],
  ): void {
    let lanes = this.#lanes.get(group);
    if (lanes === undefined) {
      lanes = new LaneAllocator();
      this.#lanes.set(group, lanes);
    }
    const lane = lanes.place(startUs, endUs);
    const tid = this.tid(group, out, lane);
    out.push({ ph: 'X', name, cat, pid: this.pid, tid, ts: startUs, dur: endUs - startUs, args });
  }

  /** A begin/end pair of async events ('b'/'e'): the id is unique per process, the name repeated on both. */
  asyncPair(
    group: AsyncGroup,
    cat: string,
    seq: number,
    open: OpenSlice,
    endUs: number,
    endArgs: Record<string, unknown>,
    out: TraceEvent[],
  ): void {
    const tid = this.tid(group, out);
    const id = `${this.pid}:${seq}`;
    const pid = this.pid;
    out.push({ ph: 'b', cat, name: open.name, id, pid, tid, ts: open.timeUs, args: open.args });
    out.push({ ph: 'e', cat, name: open.name, id, pid, tid, ts: Math.max(endUs, open.timeUs), args: endArgs });
  }

  /** Lanes opened per group beyond the first (how often slices overlapped). */
  overlaps(): Record<string, number> {
    const result: Record<string, number> = {};
    for (const [group, lanes] of this.#lanes) if (lanes.laneCount > 1) result[group] = lanes.laneCount - 1;
    return result;
  }
}
