/**
 * The recorder's number for each open request, by the key its close will bring back: a generated
 * request id's number, or else the request id. Generated numbers count up, so they go into a
 * direct-mapped table (slot = number mod the table's size) and opening or closing one touches no
 * Map: a Map that gains and loses an entry per request rehashed and shrank all the time, and its
 * `delete` alone was ~0.9% of the service's main thread at full load (`--cpu-prof`).
 *
 * A request still open when a later one takes its slot (one open across TABLE_SIZE newer requests)
 * moves to the Map, as do requests with ids this process did not generate. Every entry is an open
 * request, so memory is bounded by what is in flight.
 *
 * Beside its number, a request may keep a mark of the caller's (the request event queue's number
 * for its opening, when it counts fast requests), given back by `close` in `closedMark`. Without
 * one nothing more is stored: the Map path allocates no pair per request.
 */
const TABLE_SIZE = 4096;
const MASK = TABLE_SIZE - 1;
/** No mark. */
const NONE = -1;

export class OpenRequests {
  readonly #numbers = new Float64Array(TABLE_SIZE);
  readonly #seqs = new Float64Array(TABLE_SIZE);
  readonly #marks = new Float64Array(TABLE_SIZE);
  readonly #others = new Map<number | string, number>();
  /** Marks of the requests in `#others` that have one. */
  readonly #otherMarks = new Map<number | string, number>();
  /** The mark of the request the last `close` found (-1: none, or no such request). */
  closedMark = NONE;

  /**
   * `key`: a generated id's number (> 0) or the request id. `seq`: the recorder's number (> 0).
   * `mark`: the caller's (≥ 0), given back at the close; -1 for none.
   */
  open(key: number | string, seq: number, mark = NONE): void {
    if (typeof key === 'string') {
      this.#other(key, seq, mark);
      return;
    }
    const slot = key & MASK;
    const previous = this.#numbers[slot] as number;
    if (previous !== 0) this.#other(previous, this.#seqs[slot] as number, this.#marks[slot] as number);
    this.#numbers[slot] = key;
    this.#seqs[slot] = seq;
    this.#marks[slot] = mark;
  }

  #other(key: number | string, seq: number, mark: number): void {
    this.#others.set(key, seq);
    if (mark !== NONE) this.#otherMarks.set(key, mark);
  }

  /**
   * The recorder's number for `key`, forgotten as it is returned; 0 when it was never opened. Its
   * mark goes into `closedMark`.
   */
  close(key: number | string): number {
    if (typeof key === 'number') {
      const slot = key & MASK;
      if (this.#numbers[slot] === key) {
        this.#numbers[slot] = 0;
        this.closedMark = this.#marks[slot] as number;
        return this.#seqs[slot] as number;
      }
    }
    const seq = this.#others.get(key);
    this.closedMark = NONE;
    if (seq === undefined) return 0;
    this.#others.delete(key);
    if (this.#otherMarks.size > 0) {
      this.closedMark = this.#otherMarks.get(key) ?? NONE;
      this.#otherMarks.delete(key);
    }
    return seq;
  }

  /** Requests open (for tests). */
  get size(): number {
    let n = this.#others.size;
    for (const number of this.#numbers) if (number !== 0) n++;
    return n;
  }
}
