/** 0x's V8 logs: one per thread; the flamegraph worth drawing is the main thread's. */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, renameSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

/** Where 0x's logs of other threads (workers) are put aside. */
export const OTHER_THREADS_SUBDIR = '0x-other-threads';
const ISOLATE_LOG = /^isolate-(?:0x)?[0-9A-Fa-f]{2,16}(?:-\d+)?-\d+-v8\.log$/;
/** The main script is named in the first code events of the main thread's log; no need to read it all. */
const LOG_HEAD_BYTES = 4 * 1024 * 1024;

/**
 * Leaves in `out` only the V8 log of the main thread (the one that names the program's script, else
 * the largest) and moves the others aside; false when there is no log at all.
 */
export function selectMainThreadLog(captureDir: string, out: string, script: string): boolean {
  const logs: Array<{ path: string; bytes: number; main: boolean }> = [];
  for (const dir of [captureDir, out]) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (!ISOLATE_LOG.test(name)) continue;
      const path = join(dir, name);
      logs.push({ path, bytes: statSync(path).size, main: headIncludes(path, script) });
    }
  }
  if (logs.length === 0) return false;
  logs.sort((a, b) => Number(b.main) - Number(a.main) || b.bytes - a.bytes);
  mkdirSync(out, { recursive: true });
  logs.forEach((log, i) => {
    const dir = i === 0 ? out : join(captureDir, OTHER_THREADS_SUBDIR);
    mkdirSync(dir, { recursive: true });
    const to = join(dir, basename(log.path));
    if (to !== log.path) renameSync(log.path, to);
  });
  return true;
}

function headIncludes(path: string, text: string): boolean {
  const buffer = Buffer.alloc(LOG_HEAD_BYTES);
  const fd = openSync(path, 'r');
  try {
    const read = readSync(fd, buffer, 0, LOG_HEAD_BYTES, 0);
    return buffer.subarray(0, read).includes(text);
  } finally {
    closeSync(fd);
  }
}
