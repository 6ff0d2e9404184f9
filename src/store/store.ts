import { HttpError } from '../errors.js';
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
  /** This request's id; a downstream call sends it as `x-request-id`, so both records share it. */
  readonly requestId: string;
}

/** Where items live: in memory, or behind a downstream service. */
export interface ItemStore {
  /** The stored value, or undefined when there is none. Keys have passed `checkKey`. */
  get(key: string, context: StoreContext): Promise<string | undefined>;
  set(key: string, value: string, context: StoreContext): Promise<void>;
  /** Releases connections; called once at shutdown. */
  close(): Promise<void>;
}

/**
 * Refuses the keys that are not one item: `.` and `..` are dot segments that a normalizing proxy
 * in front of a downstream resolves to another path (`/items/..` is `/`), and the empty key names
 * the collection. Everything else is a key, sent downstream as one percent-encoded path segment.
 */
export function checkKey(key: string): void {
  // Only keys of at most two characters can be one of the three: one comparison for the rest.
  if (key.length <= 2 && (key === '' || key === '.' || key === '..')) {
    throw new HttpError(
      400,
      'SVC_ERR_INVALID_KEY',
      key === '' ? 'an item key cannot be empty' : `an item key cannot be the dot segment ${JSON.stringify(key)}`,
    );
  }
}
