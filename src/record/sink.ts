/** The narrow contract between formatted output and whatever carries it away. */
export interface LineSink {
  /**
   * Takes one entry: one or more complete lines, each ending in a newline. Must never block.
   * `critical` entries (a handful per process) are accepted even when the sink is over its bound.
   */
  write(entry: string, critical?: boolean): void;
}

/** Keeps every entry in memory; for tests and tools. */
export class MemorySink implements LineSink {
  readonly entries: string[] = [];

  write(entry: string): void {
    this.entries.push(entry);
  }

  /** Every line, parsed as JSON. */
  records<T = unknown>(): T[] {
    return this.entries.flatMap((entry) =>
      entry
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as T),
    );
  }
}

/** Throws everything away: the baseline for measuring what writing costs. */
export const discardSink: LineSink = Object.freeze({ write: (_entry: string): void => {} });
