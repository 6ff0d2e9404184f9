/** Request/answer over a trace worker: each call gets an id; the overview answers many times to one. */
import type { WorkerReply, WorkerRequest } from './protocol.js';

type Pending = (reply: WorkerReply) => boolean;

export class TraceWorker {
  readonly #worker: Worker;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  constructor() {
    this.#worker = new Worker('/app/worker.js', { type: 'module' });
    this.#worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      const handler = this.#pending.get(event.data.id);
      if (handler?.(event.data)) this.#pending.delete(event.data.id);
    };
  }

  /** One answer of the given type (an error answer rejects). */
  call<T extends WorkerReply['type']>(
    request: DistributiveOmit<WorkerRequest, 'id'>,
  ): Promise<Extract<WorkerReply, { type: T }>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, (reply) => {
        if (reply.type === 'error') reject(new Error(reply.message));
        else resolve(reply as Extract<WorkerReply, { type: T }>);
        return true;
      });
      this.#worker.postMessage({ ...request, id });
    });
  }

  /** Many answers until `done` says so. */
  stream(request: DistributiveOmit<WorkerRequest, 'id'>, onReply: (reply: WorkerReply) => boolean): void {
    const id = this.#nextId++;
    this.#pending.set(id, onReply);
    this.#worker.postMessage({ ...request, id });
  }
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
