/**
 * How sure a median is: quantiles and a bootstrap confidence interval, for benchmarks that pair
 * variants round by round and report the median of the per-round ratios.
 */
import { median } from './stats.js';

/** The `q` quantile (0..1) by linear interpolation between the sorted values; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (at - lo);
}

/** A small seeded generator (mulberry32): the same data gives the same interval run after run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Percentile-bootstrap interval of the median: resample the values with replacement `resamples`
 * times, take each resample's median, and return the (1-level)/2 and (1+level)/2 quantiles of those.
 */
export function bootstrapMedianCi(
  values: readonly number[],
  level = 0.95,
  resamples = 2000,
  seed = 1,
): [low: number, high: number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [Number.NaN, Number.NaN];
  const next = random(seed);
  const medians: number[] = [];
  const resample = new Array<number>(finite.length);
  for (let i = 0; i < resamples; i++) {
    for (let j = 0; j < finite.length; j++) resample[j] = finite[Math.floor(next() * finite.length)] as number;
    medians.push(median(resample));
  }
  return [quantile(medians, (1 - level) / 2), quantile(medians, (1 + level) / 2)];
}
