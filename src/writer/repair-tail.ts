import { closeSync, ftruncateSync, futimesSync, openSync, readSync, statSync } from 'node:fs';

/**
 * Cuts a file back to its last newline, so every line in it stays parseable: a crash or a failed
 * write can leave half a line at the end. Returns the bytes cut (0 when the file is whole or absent).
 */
export function repairTail(path: string): number {
  let fd: number | undefined;
  try {
    const { size, atime, mtime } = statSync(path);
    if (size === 0) return 0;
    fd = openSync(path, 'r+');
    const file = fd;
    // Truncating touches the file; keep its time, which says which period it belongs to when rolled.
    const cut = (keep: number) => {
      ftruncateSync(file, keep);
      futimesSync(file, atime, mtime);
    };
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const read = readSync(fd, chunk, 0, end - start, start);
      const newline = chunk.subarray(0, read).lastIndexOf(0x0a);
      if (newline !== -1) {
        const keep = start + newline + 1;
        if (keep !== size) cut(keep);
        return size - keep;
      }
      end = start;
    }
    cut(0);
    return size;
  } catch {
    // Nothing to repair (the file is gone, or unreadable); the next write reports any real problem.
    return 0;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
