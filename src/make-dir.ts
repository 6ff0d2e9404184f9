/**
 * `mkdir -p` that always ends. Node's `mkdir(dir, { recursive: true })` never returns for a path
 * whose parent exists but refuses new entries with ENOENT (anything under /proc): it steps back on
 * ENOENT, forward on the parent's EEXIST, forever, at 100% CPU (the sync form in the calling thread,
 * the async form in a libuv pool thread). Here each missing directory is created once, top down, and
 * the first refusal is final.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Creates `dir` and any missing parents; throws the first error (ENOENT, EACCES, ENOTDIR, ...). */
export function makeDir(dir: string): void {
  const missing: string[] = [];
  for (let path = resolve(dir); ; path = dirname(path)) {
    const existing = statSync(path, { throwIfNoEntry: false });
    if (existing !== undefined) {
      if (!existing.isDirectory()) {
        throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), { code: 'ENOTDIR', path });
      }
      break;
    }
    missing.push(path);
    if (dirname(path) === path) break;
  }
  for (const path of missing.reverse()) {
    try {
      mkdirSync(path);
    } catch (err) {
      // Someone else created it in the meantime: fine, as long as it is a directory.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && statSync(path, { throwIfNoEntry: false })?.isDirectory())
        continue;
      throw err;
    }
  }
}
