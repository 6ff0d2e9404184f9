/**
 * The analysis (src/profile/analyze) of the traces the page opens, run by the server: once per
 * trace directory, in a worker thread, on first request; the page polls for the report and asks for
 * one request's breakdown at a time. Run here rather than in the page because the server already has
 * the files (no second download of every segment), the result is shared by every tab and link, and
 * the page's own workers stay free for drawing the window in view.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../worker-thread.js';
import type { AnalysisWorkerReply } from './analysis-worker.js';

export type AnalysisState =
  | { status: 'running' }
  /** `warnings`: segments skipped or read in part, one line each (the page shows them). */
  | { status: 'done'; report: unknown; warnings: string[] }
  | { status: 'failed'; error: string };

interface Entry {
  worker: Worker;
  state: AnalysisState;
  done: Promise<void>;
  nextId: number;
  pending: Map<number, (request: unknown) => void>;
}

export class TraceAnalyses {
  readonly #entries = new Map<string, Entry>();

  #entry(dir: string): Entry {
    let entry = this.#entries.get(dir);
    if (entry !== undefined) return entry;
    const worker = startWorker(new URL('./analysis-worker.js', import.meta.url), 'trace-analysis', {
      workerData: { dir },
    });
    worker.unref();
    let settle = () => {};
    const created: Entry = {
      worker,
      state: { status: 'running' },
      done: new Promise<void>((resolve) => (settle = resolve)),
      nextId: 1,
      pending: new Map(),
    };
    worker.on('message', (reply: AnalysisWorkerReply) => {
      if (reply.type === 'report') created.state = { status: 'done', report: reply.report, warnings: reply.warnings };
      else if (reply.type === 'failed') created.state = { status: 'failed', error: reply.message };
      else {
        created.pending.get(reply.id)?.(reply.request);
        created.pending.delete(reply.id);
        return;
      }
      settle();
    });
    worker.on('error', (err) => {
      created.state = { status: 'failed', error: err.message };
      settle();
    });
    this.#entries.set(dir, created);
    entry = created;
    return entry;
  }

  /** The report of `dir`'s trace, starting its analysis if needed. */
  state(dir: string): AnalysisState {
    return this.#entry(dir).state;
  }

  /** One request's breakdown (null: not in the trace, or the analysis failed). */
  async explain(dir: string, requestId: string): Promise<unknown> {
    const entry = this.#entry(dir);
    await entry.done;
    if (entry.state.status !== 'done') return null;
    const id = entry.nextId++;
    return new Promise((resolve) => {
      entry.pending.set(id, resolve);
      entry.worker.postMessage({ type: 'explain', id, requestId });
    });
  }

  async close(): Promise<void> {
    for (const entry of this.#entries.values()) await entry.worker.terminate();
    this.#entries.clear();
  }
}
