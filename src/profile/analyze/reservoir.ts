/**
 * Bounded summaries of unbounded streams: a uniform reservoir sample (quantiles of millions of
 * request durations from a few thousand kept values) and a top-K by a score.
 */

export class Reservoir {
  readonly #values: number[] = [];
  readonly #size: number;
  #seen = 0;
  #seed = 0x2545f491;

  constructor(size = 4096) {
    this.#size = size;
  }

  get count(): number {
    return this.#seen;
  }

  add(value: number): void {
    this.#seen++;
    if (this.#values.length < this.#size) {
      this.#values.push(value);
      return;
    }
    const slot = Math.floor(this.#random() * this.#seen);
    if (slot < this.#size) this.#values[slot] = value;
  }

  /** The q-quantile (0..1) of what was kept; NaN when empty. */
  quantile(q: number): number {
    if (this.#values.length === 0) return Number.NaN;
    const sorted = [...this.#values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
  }

  /** xorshift: deterministic, so the same trace gives the same report. */
  #random(): number {
    let x = this.#seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#seed = x >>> 0;
    return this.#seed / 0x1_0000_0000;
  }
}

/** The K items with the highest score seen (a min-heap). */
export class TopK<T> {
  readonly #items: { score: number; item: T }[] = [];
  readonly #k: number;

  constructor(k: number) {
    this.#k = k;
  }

  /** The lowest score kept, once full (an item below it would not be kept). */
  get floor(): number {
    return this.#items.length < this.#k ? Number.NEGATIVE_INFINITY : (this.#items[0]?.score ?? 0);
  }

  add(score: number, item: T): void {
    const items = this.#items;
    if (items.length < this.#k) {
      items.push({ score, item });
      this.#up(items.length - 1);
    } else if (score > (items[0]?.score ?? 0)) {
      items[0] = { score, item };
      this.#down(0);
    }
  }

  /** Highest score first. */
  sorted(): T[] {
    return [...this.#items].sort((a, b) => b.score - a.score).map((e) => e.item);
  }

  #up(i: number): void {
    const items = this.#items;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as { score: number }).score <= (items[i] as { score: number }).score) break;
      [items[parent], items[i]] = [items[i] as { score: number; item: T }, items[parent] as { score: number; item: T }];
      i = parent;
    }
  }

  #down(i: number): void {
    const items = this.#items;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (
        left < items.length &&
        (items[left] as { score: number }).score < (items[smallest] as { score: number }).score
      )
        smallest = left;
      if (
        right < items.length &&
        (items[right] as { score: number }).score < (items[smallest] as { score: number }).score
      )
        smallest = right;
      if (smallest === i) return;
      [items[smallest], items[i]] = [
        items[i] as { score: number; item: T },
        items[smallest] as { score: number; item: T },
      ];
      i = smallest;
    }
  }
}
