/**
 * Finds one request's wide event in a metrics.log (and its rotated siblings) by RequestId. The file
 * of a long run is large (hundreds of MB): it is streamed, a line is parsed only when it holds the id
 * as text, and the scan stops at the first match. The page asks for one request at a time (a click).
 */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * metrics.log and its rotations, in the order to search them: when the request's wall time is known,
 * the file written last at or after it first (a file's mtime is its last record), then the others.
 */
function metricsFiles(path: string, nearMs: number | undefined): string[] {
  const dir = dirname(path);
  const name = basename(path);
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((f) => f === name || f.startsWith(`${name}.`));
  } catch {
    names = [name];
  }
  const files = names.map((f) => ({
    path: join(dir, f),
    mtimeMs: statSync(join(dir, f), { throwIfNoEntry: false })?.mtimeMs ?? 0,
  }));
  const at = nearMs ?? Number.POSITIVE_INFINITY;
  const rank = (mtimeMs: number) => (mtimeMs >= at ? mtimeMs - at : Number.MAX_SAFE_INTEGER - mtimeMs);
  return files.sort((a, b) => rank(a.mtimeMs) - rank(b.mtimeMs)).map((f) => f.path);
}

async function scan(path: string, requestId: string): Promise<Record<string, unknown> | undefined> {
  const needle = JSON.stringify(requestId);
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1024 * 1024 });
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) {
      if (!line.includes(needle)) continue;
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        // The json format nests it under properties; EMF has it at the top.
        const properties = record.properties as Record<string, unknown> | undefined;
        if (record.RequestId === requestId || properties?.RequestId === requestId) return record;
      } catch {
        // A line cut by a crash or a non-JSON format: not ours.
      }
    }
  } catch {
    return undefined;
  } finally {
    lines.close();
    stream.destroy();
  }
  return undefined;
}

export async function findWideEvent(
  metricsPath: string,
  requestId: string,
  nearMs?: number,
): Promise<Record<string, unknown> | undefined> {
  for (const file of metricsFiles(metricsPath, nearMs)) {
    const found = await scan(file, requestId);
    if (found !== undefined) return found;
  }
  return undefined;
}
