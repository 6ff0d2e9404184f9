/**
 * Runs the analysis of one trace directory off the server's thread (decoding a 60 s segment of a
 * busy service takes seconds), then stays to answer `explain(requestId)` from the same analyzer.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { gunzipSync } from 'node:zlib';
import { TraceAnalyzer } from '../analyze/index.js';
import { segmentFiles } from '../analyze/load-node.js';
import { decodeSegment } from '../format/index.js';

export type AnalysisWorkerReply =
  | { type: 'report'; report: unknown }
  | { type: 'failed'; message: string }
  | { type: 'explain'; id: number; request: unknown };

const port = parentPort;
if (port === null) throw new Error('analysis-worker runs as a worker thread');
const { dir } = workerData as { dir: string };

let analyzer: TraceAnalyzer | undefined;
try {
  const next = new TraceAnalyzer();
  for (const file of segmentFiles(dir)) {
    const raw = readFileSync(file);
    const bytes = file.endsWith('.gz') ? gunzipSync(raw) : raw;
    next.addSegment(decodeSegment(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
  }
  analyzer = next;
  port.postMessage({ type: 'report', report: next.report() } satisfies AnalysisWorkerReply);
} catch (err) {
  port.postMessage({ type: 'failed', message: (err as Error).message } satisfies AnalysisWorkerReply);
}

port.on('message', (message: { type: 'explain'; id: number; requestId: string }) => {
  const request = analyzer?.explain(message.requestId) ?? null;
  port.postMessage({ type: 'explain', id: message.id, request } satisfies AnalysisWorkerReply);
});
