import { performance } from 'node:perf_hooks';

/** Rounds to three decimals: microseconds, for a value in milliseconds. Keeps record lines short. */
export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** Milliseconds since `startedAt` (a `performance.now()` reading), to the microsecond. */
export function msSince(startedAt: number): number {
  return round3(performance.now() - startedAt);
}
