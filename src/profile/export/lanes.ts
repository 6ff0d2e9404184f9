/**
 * Keeps complete ('X') events properly nested on a track: trace viewers draw one track as a stack of
 * slices, and two slices that partly overlap on one thread id break it (Perfetto drops or misplaces
 * them). Each event goes to the first lane (thread id) where it either starts after everything open
 * has ended or fits inside the innermost open slice; otherwise a new lane opens. Events must come in
 * start order (ties: longer first) for the check to hold; one that starts before the lane's last
 * start is never put on it.
 */
export class LaneAllocator {
  readonly #lanes: { lastStartUs: number; openEndsUs: number[] }[] = [];

  /** The lane (0, 1, ...) for an event of integer µs [startUs, endUs]. */
  place(startUs: number, endUs: number): number {
    for (let lane = 0; ; lane++) {
      let state = this.#lanes[lane];
      if (state === undefined) {
        state = { lastStartUs: Number.NEGATIVE_INFINITY, openEndsUs: [] };
        this.#lanes.push(state);
      }
      if (startUs < state.lastStartUs) continue;
      const open = state.openEndsUs;
      while (open.length > 0 && (open[open.length - 1] as number) <= startUs) open.pop();
      if (open.length > 0 && (open[open.length - 1] as number) < endUs) continue;
      open.push(endUs);
      state.lastStartUs = startUs;
      return lane;
    }
  }

  get laneCount(): number {
    return this.#lanes.length;
  }
}

/** Indices 0..n-1 sorted by `start` ascending, then by `end` descending (parents before children). */
export function startOrder(start: Float64Array, end: Float64Array): Uint32Array {
  const order = new Uint32Array(start.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => (start[a] as number) - (start[b] as number) || (end[b] as number) - (end[a] as number));
  return order;
}

/** Indices of a time column in time order (events of one type are not always written in order). */
export function timeOrder(time: Float64Array): Uint32Array {
  const order = new Uint32Array(time.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => (time[a] as number) - (time[b] as number));
  return order;
}
