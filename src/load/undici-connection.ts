/**
 * One connection of undici's `Client`, for `--http-client undici` (and https://). Imported only when
 * chosen: loading undici costs the CLI about 80 ms at startup.
 */
import { Client, type Dispatcher } from 'undici';
import type { ResponseHandler } from './http1/connection.js';
import type { LoadRequest } from './workload.js';

export class UndiciConnection {
  readonly #client: Client;

  constructor(origin: string, pipelining: number, connectTimeoutMs: number) {
    this.#client = new Client(origin, {
      pipelining,
      // The engine's sweep enforces the timeout; undici's per-request timers would cost on every request.
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: { timeout: connectTimeoutMs },
    });
  }

  dispatch(request: LoadRequest, handler: ResponseHandler): void {
    this.#client.dispatch(request as Dispatcher.DispatchOptions, handler as Dispatcher.DispatchHandler);
  }

  destroy(): Promise<void> {
    return this.#client.destroy();
  }
}
