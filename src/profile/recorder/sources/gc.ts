/** GC pauses from the 'gc' performance entries: kind and duration, on the recorder's clock. */
import { PerformanceObserver } from 'node:perf_hooks';
import { EV } from '../../format/schema.js';
import type { EventRing } from '../ring.js';

interface GcDetail {
  readonly kind?: number;
  readonly flags?: number;
}

export function watchGc(ring: EventRing): () => void {
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = ((entry as { detail?: GcDetail }).detail ?? {}) as GcDetail;
      ring.put(EV.gc, entry.startTime, entry.duration * 1000, detail.kind ?? 0, detail.flags ?? 0);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}
