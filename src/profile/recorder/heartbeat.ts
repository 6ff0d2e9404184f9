/**
 * The main thread's sign of life, shared with the writer thread (the watchdog). The main thread
 * writes plain numbers and bumps a counter with Atomics; the watchdog reads the counter and, when it
 * has not moved for longer than the stall threshold, knows the loop is stuck, even if it never comes
 * back (a hang, then `kill -9`): the main thread's own stall event is written only when it returns.
 */

/** Float64 slots, then one Int32 counter. */
const BEAT_MS = 0;
const REQUEST = 1;
const REQUEST_AT_MS = 2;
const IN_FLIGHT = 3;
const SLOTS = 4;
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
  #slots: Float64Array;
  #counter: Int32Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(BYTES)) {
    this.buffer = buffer;
    this.#slots = new Float64Array(buffer, 0, SLOTS);
    this.#counter = new Int32Array(buffer, SLOTS * 8, 1);
  }

  /** Main thread: the loop turned at `timeMs`. The plain stores happen before the atomic bump. */
  beat(timeMs: number): void {
    this.#slots[BEAT_MS] = timeMs;
    if (Atomics.load(this.#counter, 0) === STOPPED) return;
    // Wraps at 2^31 back to a small positive value: the watchdog only compares for change.
    Atomics.store(this.#counter, 0, (Atomics.load(this.#counter, 0) + 1) & 0x3fffffff);
  }

  /** Main thread: request `seq` ran code at `timeMs`; `inFlight` requests are open. */
  request(seq: number, timeMs: number, inFlight: number): void {
    this.#slots[REQUEST] = seq;
    this.#slots[REQUEST_AT_MS] = timeMs;
    this.#slots[IN_FLIGHT] = inFlight;
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
    const beatMs = this.#slots[BEAT_MS] as number;
    const requestAtMs = this.#slots[REQUEST_AT_MS] as number;
    const after = requestAtMs >= beatMs;
    return {
      sinceMs: after ? requestAtMs : beatMs,
      request: after ? (this.#slots[REQUEST] as number) : 0,
      inFlight: this.#slots[IN_FLIGHT] as number,
    };
  }
}
