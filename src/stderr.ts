/**
 * Best-effort lines on stderr from outside the logger (startup echo, exit summary, writer faults).
 * Asynchronous and bounded: a stderr reader that stopped reading must not hang the process, which a
 * synchronous write to a full pipe would.
 */
import { write } from 'node:fs';

const STDERR_FD = 2;
const DEFAULT_WAIT_MS = 200;

/** Writes one JSON line to stderr; resolves when written, on error, or after `waitMs`. */
export function stderrLine(fields: Record<string, unknown>, waitMs = DEFAULT_WAIT_MS): Promise<void> {
  return stderrText(`${JSON.stringify({ time: new Date().toISOString(), pid: process.pid, ...fields })}\n`, waitMs);
}

/** Writes `line` (a whole line, newline included) to stderr, with stderrLine's bounds. */
export function stderrText(line: string, waitMs = DEFAULT_WAIT_MS): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, waitMs);
    timer.unref();
    write(STDERR_FD, line, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
