/**
 * Names the calling thread for the kernel (Linux: /proc/thread-self/comm, 15 bytes at most), so
 * `top -H`, `ps -L` and the benchmarks can tell the recorder's writer from the other threads (Node
 * calls them all `node`, or the main one `MainThread` from Node 24). Elsewhere, or if /proc is not
 * there, nothing happens.
 */
import { writeFileSync } from 'node:fs';

export function nameThisThread(name: string): void {
  try {
    writeFileSync('/proc/thread-self/comm', name.slice(0, 15));
  } catch {
    // Not Linux, or no /proc: the name is a convenience.
  }
}
