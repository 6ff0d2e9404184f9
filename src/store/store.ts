import type { HandlerMetrics } from '../metrics.js';
import type { Values } from '../record/index.js';

/** What a store call gets besides its arguments. */
export interface StoreContext {
  /**
   * Aborted when the client goes away or the request times out. Created on first read, so a
   * store that never looks (the memory store) costs no AbortController per request.
   */
  readonly signal: AbortSignal;
  /** The handler's slot of the wide event; a store fills the Downstream* fields. */
  readonly metrics: Values<typeof HandlerMetrics.fields>;
}

/** Where items live: in memory, or behind a downstream service. */
export interface ItemStore {
  /** The stored value, or undefined when there is none. */
  get(key: string, context: StoreContext): Promise<string | undefined>;
  set(key: string, value: string, context: StoreContext): Promise<void>;
  /** Releases connections; called once at shutdown. */
  close(): Promise<void>;
}
