/**
 * Maps a request path onto a file under one of the viewer's directories, or nothing. The viewer is a
 * file server for traces that may hold secrets (request paths, arguments): every way out is closed
 * here, in one place. A segment is decoded once; anything that still looks encoded, any `.`/`..`,
 * separator, NUL or absolute form is refused, and the file's real path (symlinks resolved) must lie
 * under the directory's real path.
 */
import { realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';

/** The decoded segments of a raw URL path tail (`a/b%20c` → [`a`, `b c`]), or undefined if any is unsafe. */
export function safeSegments(rawTail: string): string[] | undefined {
  if (rawTail === '') return [];
  const segments: string[] = [];
  for (const raw of rawTail.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (
      segment === '' ||
      segment === '.' ||
      segment === '..' ||
      segment.includes('/') ||
      segment.includes('\\') ||
      segment.includes('\0') ||
      // Still encoded after one decode: a double-encoded way out (%252e%252e) or a confused client.
      /%[0-9a-f]{2}/i.test(segment) ||
      /^[A-Za-z]:/.test(segment)
    ) {
      return undefined;
    }
    segments.push(segment);
  }
  return segments;
}

/** The real path of a regular file `segments` names under `root`, or undefined (missing, outside, not a file). */
export function fileUnder(root: string, segments: readonly string[]): string | undefined {
  const target = resolveUnder(root, segments);
  if (target === undefined) return undefined;
  return statSync(target, { throwIfNoEntry: false })?.isFile() === true ? target : undefined;
}

/** The real path `segments` names under `root` (file or directory), or undefined when it leads outside. */
export function resolveUnder(root: string, segments: readonly string[]): string | undefined {
  let realRoot: string;
  let real: string;
  try {
    realRoot = realpathSync(root);
    real = realpathSync(join(realRoot, ...segments));
  } catch {
    return undefined;
  }
  if (real !== realRoot && !real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) return undefined;
  return real;
}
