/**
 * The requests in flight, as an intrusive doubly linked list: adding and removing one costs a few
 * field writes and no hashing. A Map keyed by the response cost about 2 µs per request in
 * `delete` alone under load (profiled with `--cpu-prof` under wrk; see docs/benchmarks.md).
 * A response finds its entry through a symbol property, which only rare paths read.
 */
import type { ServerResponse } from 'node:http';

const ENTRY = Symbol('openRequest');

interface TrackedResponse extends ServerResponse {
  [ENTRY]?: OpenRequest | undefined;
}

/** What the list links; `RequestTelemetry` is one. */
export interface OpenRequest {
  /** @internal */
  openPrev: OpenRequest | undefined;
  /** @internal */
  openNext: OpenRequest | undefined;
}

export class OpenRequests<T extends OpenRequest> {
  #head: T | undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(res: ServerResponse, entry: T): void {
    (res as TrackedResponse)[ENTRY] = entry;
    entry.openPrev = undefined;
    entry.openNext = this.#head;
    if (this.#head !== undefined) this.#head.openPrev = entry;
    this.#head = entry;
    this.#size++;
  }

  /** Removes the entry of `res`; false when it was not in the list. */
  delete(res: ServerResponse): boolean {
    const tracked = res as TrackedResponse;
    const entry = tracked[ENTRY] as T | undefined;
    if (entry === undefined) return false;
    tracked[ENTRY] = undefined;
    const { openPrev: prev, openNext: next } = entry;
    if (prev === undefined) this.#head = next as T | undefined;
    else prev.openNext = next;
    if (next !== undefined) next.openPrev = prev;
    entry.openPrev = undefined;
    entry.openNext = undefined;
    this.#size--;
    return true;
  }

  get(res: ServerResponse): T | undefined {
    return (res as TrackedResponse)[ENTRY] as T | undefined;
  }

  has(res: ServerResponse): boolean {
    return (res as TrackedResponse)[ENTRY] !== undefined;
  }

  /** Newest first. Safe while the visited entry is removed. */
  *values(): IterableIterator<T> {
    let entry = this.#head;
    while (entry !== undefined) {
      const next = entry.openNext as T | undefined;
      yield entry;
      entry = next;
    }
  }
}
