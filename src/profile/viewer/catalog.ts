/**
 * What the viewer's index lists: the captures of `--capture-dir` (from their manifest.json) and the
 * flight recorder's process directories (from their segment files). Paths in the answer are URL
 * paths under `/files/`, the only way the page reaches a file.
 */
import { type Dirent, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '../sessions/manifest.js';
import type { CaptureEntry, Catalog, FileKind, SegmentEntry, TraceEntry } from './catalog-types.js';

export type { CaptureEntry, Catalog, FileKind, SegmentEntry, TraceEntry } from './catalog-types.js';

/** A segment file of the recorder: sealed (`.bin.gz`, `.bin`) or being written (`.bin.active`). */
export const SEGMENT_FILE = /^trace\.(\d+)(\.pinned)?\.bin(\.gz|\.active)?$/;
/**
 * `<service>.<pid>.<start, UTC>.<random>`, as the recorder names a process directory (the random
 * part since two containers' pid 1 can start in the same second on one volume; older traces lack it).
 */
const PROCESS_DIR = /^(.+)\.(\d+)\.(\d{8}T\d{6}(?:\.\d+)?Z)(?:\.[0-9a-f]+)?$/;

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function urlPath(...parts: string[]): string {
  return parts
    .flatMap((p) => p.split('/'))
    .map(encodeURIComponent)
    .join('/');
}

export function fileKind(path: string): FileKind {
  if (path.endsWith('.html')) return 'report';
  if (path.endsWith('.cpuprofile')) return 'cpuprofile';
  if (path.endsWith('.heapprofile')) return 'heapprofile';
  if (SEGMENT_FILE.test(path.split('/').pop() ?? '')) return 'segment';
  if (/(^|\/)metrics\.log(\.\d+)?$/.test(path)) return 'metrics';
  if (path.endsWith('.log')) return 'log';
  return 'other';
}

/** One process directory of the recorder; `idBase` is its URL path under /files/. */
export function readTrace(dir: string, idBase: string, metrics: string | undefined): TraceEntry | undefined {
  const segments: SegmentEntry[] = [];
  let modifiedMs = 0;
  for (const entry of entries(dir)) {
    const match = SEGMENT_FILE.exec(entry.name);
    if (match === null || !entry.isFile()) continue;
    const stat = statSync(join(dir, entry.name), { throwIfNoEntry: false });
    if (stat === undefined) continue;
    modifiedMs = Math.max(modifiedMs, stat.mtimeMs);
    segments.push({
      name: entry.name,
      index: Number(match[1]),
      bytes: stat.size,
      sealed: match[3] !== '.active',
      pinned: match[2] !== undefined,
      url: `/files/${idBase}/${encodeURIComponent(entry.name)}`,
    });
  }
  if (segments.length === 0) return undefined;
  segments.sort((a, b) => a.index - b.index || Number(b.sealed) - Number(a.sealed));
  const name = idBase.split('/').pop() ?? '';
  const match = PROCESS_DIR.exec(decodeURIComponent(name));
  const stamp = match?.[3];
  return {
    id: idBase,
    service: match?.[1] ?? decodeURIComponent(name),
    pid: match === null ? undefined : Number(match[2]),
    startedAt:
      stamp === undefined
        ? undefined
        : `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13)}`,
    segments,
    bytes: segments.reduce((sum, s) => sum + s.bytes, 0),
    modifiedMs,
    metrics,
  };
}

/** Every process directory under a trace directory. */
export function readTraces(dir: string, idBase: string, metrics: string | undefined): TraceEntry[] {
  const out: TraceEntry[] = [];
  for (const entry of entries(dir)) {
    if (!entry.isDirectory()) continue;
    const trace = readTrace(join(dir, entry.name), `${idBase}/${encodeURIComponent(entry.name)}`, metrics);
    if (trace !== undefined) out.push(trace);
  }
  return out.sort((a, b) => b.modifiedMs - a.modifiedMs);
}

function readCapture(root: string, name: string): CaptureEntry | undefined {
  const dir = join(root, name);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
  const base = `captures/${encodeURIComponent(name)}`;
  const files = (manifest.files ?? []).map((f) => ({
    path: f.path,
    bytes: f.bytes,
    url: `/files/${base}/${urlPath(f.path)}`,
    kind: fileKind(f.path),
  }));
  const metricsFile = files.find((f) => f.path === 'telemetry/metrics.log');
  const metrics = metricsFile?.url.slice('/files/'.length);
  const load = manifest.load;
  return {
    id: base,
    tool: manifest.tool?.name ?? '?',
    toolVersion: manifest.tool?.version ?? '',
    startedAt: manifest.startedAt,
    durationMs: manifest.durationMs,
    bytes: files.reduce((sum, f) => sum + f.bytes, 0),
    command: (manifest.command ?? []).join(' '),
    load:
      load === undefined
        ? undefined
        : {
            requests: load.completed,
            rps: load.throughputRps,
            p99Ms: load.latencyMs?.p99,
            errors: load.failures,
          },
    open: manifest.open,
    files,
    traces: readTraces(join(dir, 'trace'), `${base}/trace`, metrics),
    metrics,
  };
}

/** The index: captures newest first, then traces newest first. */
export function readCatalog(captureDir: string, traceDir: string, traceMetrics: string | undefined): Catalog {
  const captures: CaptureEntry[] = [];
  for (const entry of entries(captureDir)) {
    if (!entry.isDirectory()) continue;
    const capture = readCapture(captureDir, entry.name);
    if (capture !== undefined) captures.push(capture);
  }
  captures.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  return { captureDir, traceDir, captures, traces: readTraces(traceDir, 'traces', traceMetrics) };
}
