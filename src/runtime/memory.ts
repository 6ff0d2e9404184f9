/**
 * The process's memory, for the periodic records (RuntimeMetrics, the recorder's resources event).
 * `process.memoryUsage()` opens /proc/self/stat to read the RSS, so in a process out of file
 * descriptors (a full disk leaking them, a busy server at its ulimit) it throws EMFILE: a sampler
 * must not turn that into a crash. Then the heap comes from V8 and the RSS is the last one read.
 */
import { getHeapStatistics } from 'node:v8';

export interface MemoryNow {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
}

let lastRss = 0;

export function memoryNow(): MemoryNow {
  try {
    const memory = process.memoryUsage();
    lastRss = memory.rss;
    return memory;
  } catch {
    const heap = getHeapStatistics();
    return { rss: lastRss, heapUsed: heap.used_heap_size, heapTotal: heap.total_heap_size };
  }
}
