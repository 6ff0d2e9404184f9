/**
 * The main thread's sign of life, shared with the writer thread (the watchdog). The main thread
 * (JavaScript on request events and watch-timer firings, the loop-park addon at every park and
 * unpark) writes plain numbers and bumps a counter with Atomics; the watchdog reads the counter and,
 * when it has not moved for longer than the stall threshold, knows the loop is stuck, even if it
 * never comes back (a hang, then `kill -9`): the main thread's own stall event is written only when
 * it returns. The addon also reads the request slots to name a stall's request.
 */

/** Float64 slots, then one Int32 counter. The loop-park addon uses the same layout (loop_park.c). */
const BEAT_MS = 0;
/** The last request of the service's own channels to run code, and when. */
const REQUEST = 1;
const REQUEST_AT_MS = 2;
const IN_FLIGHT = 3;
/** The last request seen through node:http's channels to run code, and when (used when the service's is older). */
const OTHER_REQUEST = 4;
const OTHER_REQUEST_AT_MS = 5;
/** The most requests in flight since the addon's last unpark (it resets this to IN_FLIGHT there). */
const IN_FLIGHT_PEAK = 6;
const SLOTS = 7;
const BYTES = SLOTS * 8 + 4;
/** The counter's value once the recorder stopped: the watchdog then says nothing any more. */
const STOPPED = -1;

export interface Stuck {
  /** Main-thread ms (performance.now()) of the last sign of life. */
  readonly sinceMs: number;
  /** The request that ran code last, if after the last beat (0: none). */
  readonly request: number;
  readonly inFlight: number;
}

export class Heartbeat {
  readonly buffer: SharedArrayBuffer;
  /** The slots and the counter, also written by the loop-park addon at every unpark (same layout in loop_park.c). */
  readonly slots: Float64Array;
  readonly counter: Int32Array;
  #slots: Float64Array;
  #counter: Int32Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(BYTES)) {
    this.buffer = buffer;
    this.slots = new Float64Array(buffer, 0, SLOTS);
    this.counter = new Int32Array(buffer, SLOTS * 8, 1);
    this.#slots = this.slots;
    this.#counter = this.counter;
  }

  /** Main thread: the loop turned at `timeMs`. The plain stores happen before the atomic bump. */
  beat(timeMs: number): void {
    this.#slots[BEAT_MS] = timeMs;
    if (Atomics.load(this.#counter, 0) === STOPPED) return;
    // Wraps at 2^31 back to a small positive value: the watchdog only compares for change.
    Atomics.store(this.#counter, 0, (Atomics.load(this.#counter, 0) + 1) & 0x3fffffff);
  }

  /**
   * Main thread: request `seq` ran code at `timeMs` (source 0: the service's channels, 1: node:http's);
   * `inFlight` requests are open.
   */
  request(source: 0 | 1, seq: number, timeMs: number, inFlight: number): void {
    const slots = this.#slots;
    if (source === 0) {
      slots[REQUEST] = seq;
      slots[REQUEST_AT_MS] = timeMs;
    } else {
      slots[OTHER_REQUEST] = seq;
      slots[OTHER_REQUEST_AT_MS] = timeMs;
    }
    slots[IN_FLIGHT] = inFlight;
    if (inFlight > (slots[IN_FLIGHT_PEAK] as number)) slots[IN_FLIGHT_PEAK] = inFlight;
  }

  /** Main thread: recording stopped (closing): no stall is reported from now on. */
  stop(): void {
    Atomics.store(this.#counter, 0, STOPPED);
  }

  /** Watchdog: the counter (compare with the previous read), or undefined once stopped. */
  count(): number | undefined {
    const count = Atomics.load(this.#counter, 0);
    return count === STOPPED ? undefined : count;
  }

  /** Watchdog: what the main thread last said. */
  stuck(): Stuck {
    const slots = this.#slots;
    const beatMs = slots[BEAT_MS] as number;
    // The service's own request preferred, as for a stall (RequestTracker.ranSince).
    for (const [request, at] of [
      [REQUEST, REQUEST_AT_MS],
      [OTHER_REQUEST, OTHER_REQUEST_AT_MS],
    ] as const) {
      const atMs = slots[at] as number;
      if (atMs >= beatMs && atMs > 0)
        return { sinceMs: atMs, request: slots[request] as number, inFlight: slots[IN_FLIGHT] as number };
    }
    return { sinceMs: beatMs, request: 0, inFlight: slots[IN_FLIGHT] as number };
  }
}
