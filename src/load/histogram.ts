/**
 * A high-dynamic-range histogram of latencies in microseconds, 3 significant digits, 1 µs to about
 * 71 minutes, in the layout HdrHistogram uses: buckets double in width, each split into 2048 linear
 * sub-buckets. Recording is an index computation and an increment; percentiles walk the counts.
 */

const SUB_BUCKET_HALF_MAGNITUDE = 10;
const SUB_BUCKET_COUNT = 1 << (SUB_BUCKET_HALF_MAGNITUDE + 1); // 2048
const SUB_BUCKET_HALF = SUB_BUCKET_COUNT / 2;
const SUB_BUCKET_MASK = SUB_BUCKET_COUNT - 1;
/** Largest value tracked (2^32 - 1 µs, ~71 min); larger ones are recorded as this. */
export const MAX_TRACKABLE_US = 0xffffffff;
const BUCKET_COUNT = 32 - SUB_BUCKET_HALF_MAGNITUDE; // enough buckets for 32-bit values
const COUNTS_LENGTH = (BUCKET_COUNT + 1) * SUB_BUCKET_HALF;

function indexOf(value: number): number {
  // value fits in 32 bits here; the bucket is how far above the first sub-bucket range it sits.
  const pow2Ceiling = 32 - Math.clz32(value | SUB_BUCKET_MASK);
  const bucket = pow2Ceiling - (SUB_BUCKET_HALF_MAGNITUDE + 1);
  const subBucket = value >>> bucket;
  return ((bucket + 1) << SUB_BUCKET_HALF_MAGNITUDE) + (subBucket - SUB_BUCKET_HALF);
}

/** The smallest value that lands in index `i`, and the size of that index's range. */
function rangeOf(i: number): { low: number; width: number } {
  let bucket = (i >> SUB_BUCKET_HALF_MAGNITUDE) - 1;
  let subBucket = (i & (SUB_BUCKET_HALF - 1)) + SUB_BUCKET_HALF;
  if (bucket < 0) {
    subBucket -= SUB_BUCKET_HALF;
    bucket = 0;
  }
  return { low: subBucket * 2 ** bucket, width: 2 ** bucket };
}

export class Histogram {
  #counts = new Float64Array(COUNTS_LENGTH);
  #total = 0;
  #sum = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = 0;

  /** Records one value in microseconds (rounded; negative counts as 0). */
  record(valueUs: number, count = 1): void {
    let v = Math.round(valueUs);
    if (!(v > 0)) v = 0;
    else if (v > MAX_TRACKABLE_US) v = MAX_TRACKABLE_US;
    const i = indexOf(v);
    this.#counts[i] = (this.#counts[i] as number) + count;
    this.#total += count;
    this.#sum += v * count;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  get count(): number {
    return this.#total;
  }

  get minUs(): number {
    return this.#total === 0 ? 0 : this.#min;
  }

  get maxUs(): number {
    return this.#max;
  }

  get meanUs(): number {
    return this.#total === 0 ? 0 : this.#sum / this.#total;
  }

  /**
   * The value at `percentile` (0–100): the highest value equivalent to the recorded one at that
   * rank, so reported percentiles never understate (p100 is the exact maximum).
   */
  percentileUs(percentile: number): number {
    if (this.#total === 0) return 0;
    if (percentile >= 100) return this.#max;
    const rank = Math.max(1, Math.ceil((percentile / 100) * this.#total));
    let seen = 0;
    for (let i = 0; i < COUNTS_LENGTH; i++) {
      seen += this.#counts[i] as number;
      if (seen >= rank) {
        const { low, width } = rangeOf(i);
        return Math.min(low + width - 1, this.#max);
      }
    }
    return this.#max;
  }

  /** Counts in `bins` equal-width bins from min to `upperUs`; values above go to the last bin. */
  bins(bins: number, upperUs: number): Array<{ fromUs: number; toUs: number; count: number }> {
    const low = this.minUs;
    const width = Math.max(1, (upperUs - low) / bins);
    const out = Array.from({ length: bins }, (_, b) => ({
      fromUs: low + b * width,
      toUs: low + (b + 1) * width,
      count: 0,
    }));
    for (let i = 0; i < COUNTS_LENGTH; i++) {
      const n = this.#counts[i] as number;
      if (n === 0) continue;
      const { low: value } = rangeOf(i);
      const b = Math.min(bins - 1, Math.max(0, Math.floor((value - low) / width)));
      (out[b] as { count: number }).count += n;
    }
    return out;
  }

  /** Adds every count of `other` into this one. */
  add(other: Histogram): void {
    for (let i = 0; i < COUNTS_LENGTH; i++)
      this.#counts[i] = (this.#counts[i] as number) + (other.#counts[i] as number);
    this.#total += other.#total;
    this.#sum += other.#sum;
    if (other.#total > 0) {
      this.#min = Math.min(this.#min, other.#min);
      this.#max = Math.max(this.#max, other.#max);
    }
  }
}
