import type { ItemStore } from './store.js';

/** The default store: a Map. Values are lost when the process exits. */
export class MemoryStore implements ItemStore {
  #items = new Map<string, string>();

  async get(key: string): Promise<string | undefined> {
    return this.#items.get(key);
  }

  async set(key: string, value: string): Promise<void> {
    this.#items.set(key, value);
  }

  async close(): Promise<void> {}
}
