/**
 * Preloaded (`node --import`) into programs profiled by clinic heap.
 *
 * clinic heap writes its heap profile asynchronously after SIGINT and then exits; a program that
 * drains and exits on its own (the service) usually exits first, leaving a truncated profile that
 * clinic cannot read ("Unexpected end of JSON input"). Here the program's own process.exit() waits
 * until clinic's writer has finished (its own process.exit() call), at most WAIT_MS, and then the
 * process exits with the program's code.
 */
import { readFileSync } from 'node:fs';

const WAIT_MS = 30_000;
const profilePath = `${process.env.HEAP_PROFILER_PATH}/${process.env.HEAP_PROFILER_NAME || process.pid}.clinic-heapprofiler`;
const realExit = process.exit.bind(process);
let firstCode: string | number | null | undefined;
let waiting = false;

function profileComplete(): boolean {
  try {
    JSON.parse(readFileSync(profilePath, 'utf8'));
    return true;
  } catch {
    return false;
  }
}

process.exit = ((code?: string | number | null) => {
  if (waiting) return realExit(firstCode ?? code);
  if (profileComplete()) return realExit(code);
  waiting = true;
  firstCode = code ?? process.exitCode;
  setTimeout(() => realExit(firstCode), WAIT_MS).unref();
  return undefined as never;
}) as typeof process.exit;
