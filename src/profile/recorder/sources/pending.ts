/**
 * The task-dump analog: what the process is waiting on, as counts of pending libuv handles and
 * requests and of pending promises/timers by resource type, sampled every second so the cost is
 * bounded. Node does not say where a pending operation was created without async_hooks' init hook
 * (the per-callback tracking's cost); the counts by type, over time, show what piles up.
 */
import { performance } from 'node:perf_hooks';
import { EV } from '../../format/schema.js';
import type { EventRing } from '../ring.js';

export function watchPending(ring: EventRing, periodMs: number): () => void {
  const timer = setInterval(() => {
    const now = performance.now();
    const counts = new Map<string, number>();
    for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
    for (const [type, count] of counts) ring.put(EV.pending, now, ring.intern(type), count);
  }, periodMs);
  timer.unref();
  return () => clearInterval(timer);
}
