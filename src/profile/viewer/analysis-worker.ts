/**
 * Runs the analysis of one trace directory off the server's thread (decoding a 60 s segment of a
 * busy service takes seconds), then stays to answer `explain(requestId)` from the same analyzer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TraceAnalyzer } from '../analyze/index.js';
import { addTraceSegments } from '../analyze/load-node.js';

export type AnalysisWorkerReply =
  /** `warnings`: one line per segment skipped or read in part, as `service profile analyze` says them. */
  | { type: 'report'; report: unknown; warnings: string[] }
  | { type: 'failed'; message: string }
  | { type: 'explain'; id: number; request: unknown };

const port = parentPort;
if (port === null) throw new Error('analysis-worker runs as a worker thread');
const { dir } = workerData as { dir: string };

let analyzer: TraceAnalyzer | undefined;
try {
  const next = new TraceAnalyzer();
  // The CLI's reader: a .gz cut short or damaged gives what inflates, a damaged segment is skipped
  // with a warning instead of failing the whole trace, errors are its one-line messages.
  const { warnings } = addTraceSegments(dir, (segment) => next.addSegment(segment));
  analyzer = next;
  port.postMessage({ type: 'report', report: next.report(), warnings } satisfies AnalysisWorkerReply);
} catch (err) {
  port.postMessage({ type: 'failed', message: (err as Error).message } satisfies AnalysisWorkerReply);
}

port.on('message', (message: { type: 'explain'; id: number; requestId: string }) => {
  const request = analyzer?.explain(message.requestId) ?? null;
  port.postMessage({ type: 'explain', id: message.id, request } satisfies AnalysisWorkerReply);
});
