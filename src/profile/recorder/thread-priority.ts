/**
 * Puts the calling thread at the lowest scheduling priority (nice 19), so that where the writer
 * thread shares a CPU with the thread serving requests (a one-CPU container, a pinned process), the
 * kernel runs it in the main thread's gaps instead of preempting it the moment a buffer arrives.
 * Where a CPU is free, nice changes nothing.
 *
 * Linux only: there the nice value belongs to the thread (`setpriority(PRIO_PROCESS, 0, …)` acts on
 * the caller alone). On macOS and Windows the same call renices the whole process, the service
 * included, so nothing is done there.
 */
import { setPriority } from 'node:os';

/** The kernel's lowest priority for a normal thread. */
const LOWEST_NICE = 19;

/** Returns the nice value set, or undefined when the platform or the sandbox did not allow it. */
export function lowerThisThreadPriority(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    setPriority(0, LOWEST_NICE);
    return LOWEST_NICE;
  } catch {
    // A sandbox without setpriority: the writer runs at the service's priority, as before.
    return undefined;
  }
}
