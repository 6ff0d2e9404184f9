/** One directory per capture, named by its start time and tool, and the files inside it. */
import { type Dirent, mkdirSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { ProfileError } from '../../errors.js';

/** `2026-11-30T02-40-12.345Z-cpu`: sortable, no characters a shell or Windows would mind. */
export function captureName(startedAt: Date, tool: string): string {
  return `${startedAt.toISOString().replace(/:/g, '-')}-${tool}`;
}

/** Creates a fresh capture directory under `root` (and `root` itself if needed). */
export function createCaptureDir(root: string, startedAt: Date, tool: string): string {
  try {
    mkdirSync(root, { recursive: true });
  } catch (err) {
    throw new ProfileError(
      'SVC_ERR_PROFILE_TOOL_FAILED',
      `cannot create the capture directory ${root}: ${(err as Error).message}; choose another with --capture-dir`,
    );
  }
  const base = join(root, captureName(startedAt, tool));
  for (let n = 1; ; n++) {
    const dir = n === 1 ? base : `${base}-${n}`;
    try {
      mkdirSync(dir);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ProfileError(
          'SVC_ERR_PROFILE_TOOL_FAILED',
          `cannot create a capture directory in ${root}: ${(err as Error).message}`,
        );
      }
    }
  }
}

/** Every regular file below `dir`, relative, sorted, with its size. */
export function listFiles(dir: string): Array<{ path: string; bytes: number }> {
  const out: Array<{ path: string; bytes: number }> = [];
  const walk = (at: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(at, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        out.push({
          path: relative(dir, full).split(sep).join('/'),
          bytes: statSync(full, { throwIfNoEntry: false })?.size ?? 0,
        });
      }
    }
  };
  walk(dir);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** Removes a failed capture, and the capture root too when this left it empty. */
export function removeCapture(dir: string, root: string): void {
  rmSync(dir, { recursive: true, force: true });
  try {
    rmdirSync(root);
  } catch {
    // Not empty (other captures) or already gone: keep it.
  }
}
