/** Runs of consecutive seconds that meet a condition: the windows loop and GC findings report. */
import type { Second } from '../timeline.js';

export interface Window {
  readonly first: Second;
  readonly last: Second;
  readonly seconds: Second[];
}

/** Maximal runs of seconds (gaps of missing seconds end a run) where `test` holds. */
export function runsOf(seconds: readonly Second[], test: (s: Second) => boolean): Window[] {
  const runs: Window[] = [];
  let current: Second[] = [];
  const close = () => {
    if (current.length > 0)
      runs.push({ first: current[0] as Second, last: current[current.length - 1] as Second, seconds: current });
    current = [];
  };
  let previous: Second | undefined;
  for (const s of seconds) {
    if (!test(s) || (previous !== undefined && s.index !== previous.index + 1 && current.length > 0)) close();
    if (test(s)) current.push(s);
    previous = s;
  }
  close();
  return runs;
}

export const elu = (s: Second): number => (s.periodUs === 0 ? Number.NaN : s.eluWeighted / s.periodUs / 1000);
export const cpuCores = (s: Second): number => (s.cpuPeriodUs === 0 ? Number.NaN : s.cpuUs / s.cpuPeriodUs);
