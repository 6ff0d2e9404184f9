/** Runs writes one after another, in the order they were asked for. */
export class SerialWrites {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(write: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(write);
    this.#tail = result;
    return result;
  }

  /** Resolves when every write asked for so far has finished. */
  idle(): Promise<unknown> {
    return this.#tail;
  }
}
