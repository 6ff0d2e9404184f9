/** The shapes of `/api/catalog`, shared by the server and the web app (no imports: the browser bundles it). */

export interface SegmentEntry {
  readonly name: string;
  readonly index: number;
  readonly bytes: number;
  readonly sealed: boolean;
  readonly pinned: boolean;
  readonly url: string;
}

export interface TraceEntry {
  /** The trace's id in URLs: its directory under /files/, e.g. `traces/service.123.20261130T045935Z`. */
  readonly id: string;
  readonly service: string;
  readonly pid: number | undefined;
  /** ISO time the process started, from the directory's name. */
  readonly startedAt: string | undefined;
  readonly segments: readonly SegmentEntry[];
  readonly bytes: number;
  readonly modifiedMs: number;
  /** A metrics.log to join with (URL under /files/), when one is known. */
  readonly metrics: string | undefined;
}

export interface CaptureEntry {
  readonly id: string;
  readonly tool: string;
  readonly toolVersion: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly bytes: number;
  readonly command: string;
  readonly load: { requests: number; rps: number; p99Ms: number | undefined; errors: number } | undefined;
  readonly open: string;
  readonly files: readonly { path: string; bytes: number; url: string; kind: FileKind }[];
  readonly traces: readonly TraceEntry[];
  readonly metrics: string | undefined;
}

export type FileKind = 'report' | 'cpuprofile' | 'heapprofile' | 'segment' | 'metrics' | 'log' | 'other';

export interface Catalog {
  readonly captureDir: string;
  readonly traceDir: string;
  readonly captures: readonly CaptureEntry[];
  readonly traces: readonly TraceEntry[];
}
