/**
 * The process-level events the service reacts to: SIGTERM/SIGINT/SIGHUP start a graceful stop, an
 * uncaught exception or unhandled rejection a fatal one. Whatever arrives once stopping has begun
 * (a second signal, a crash during the drain) cuts the drain short. `dispose()` removes every
 * listener, so an embedding process gets its signals back.
 */
export type Stop =
  | { readonly kind: 'signal'; readonly signal: NodeJS.Signals }
  | { readonly kind: 'fatal'; readonly error: unknown };

// SIGHUP too: its default would end the process on the spot, losing the queued records and the
// shutdown and exit records (a closed terminal, a supervisor's reload signal).
const SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

export class ProcessEvents {
  /** The first stop request. */
  readonly stopped: Promise<Stop>;
  /** Anything after the first: stop waiting for in-flight requests. */
  readonly hurried: Promise<void>;
  /** Fatal errors that arrived after stopping had begun. */
  readonly lateErrors: unknown[] = [];
  #first: Stop | undefined;
  #resolveStopped: (stop: Stop) => void = () => {};
  #resolveHurried: () => void = () => {};
  #onSignal = (signal: NodeJS.Signals) => this.#receive({ kind: 'signal', signal });
  #onFatal = (error: unknown) => this.#receive({ kind: 'fatal', error });

  constructor() {
    this.stopped = new Promise((resolve) => {
      this.#resolveStopped = resolve;
    });
    this.hurried = new Promise((resolve) => {
      this.#resolveHurried = resolve;
    });
    for (const signal of SIGNALS) process.on(signal, this.#onSignal);
    process.on('uncaughtException', this.#onFatal);
    process.on('unhandledRejection', this.#onFatal);
  }

  /** Turns a stop request into one programmatically (e.g. from a test or an embedding host). */
  request(stop: Stop): void {
    this.#receive(stop);
  }

  dispose(): void {
    for (const signal of SIGNALS) process.removeListener(signal, this.#onSignal);
    process.removeListener('uncaughtException', this.#onFatal);
    process.removeListener('unhandledRejection', this.#onFatal);
  }

  #receive(stop: Stop): void {
    if (this.#first === undefined) {
      this.#first = stop;
      this.#resolveStopped(stop);
      return;
    }
    if (stop.kind === 'fatal') this.lateErrors.push(stop.error);
    this.#resolveHurried();
  }
}
