/**
 * A small closed-loop load generator for tests: `concurrency` workers send requests back to back
 * until stopped, and count every request that completed (got a response, whatever its status).
 */
import { Pool } from 'undici';

export interface LoadCounts {
  /** Completed requests per path kind. */
  completed: { items: number; echo: number; health: number };
  /** Requests that failed at the connection level (refused, reset), so never completed. */
  failed: number;
  statuses: Map<number, number>;
}

export interface Load {
  readonly counts: LoadCounts;
  /** Stops sending and waits for the workers; resolves with the counts. */
  stop(): Promise<LoadCounts>;
  /** Resolves once `n` requests have completed. */
  reached(n: number): Promise<void>;
}

export function startLoad(url: string, concurrency = 16): Load {
  const pool = new Pool(url, { connections: concurrency });
  const counts: LoadCounts = { completed: { items: 0, echo: 0, health: 0 }, failed: 0, statuses: new Map() };
  let running = true;
  let total = 0;
  const waiters: Array<[number, () => void]> = [];

  async function worker(id: number): Promise<void> {
    let i = 0;
    while (running) {
      const kind = i % 10;
      i++;
      const key = `k${id}-${i % 50}`;
      const req =
        kind < 5
          ? { method: 'GET' as const, path: `/items/${key}`, kind: 'items' as const }
          : kind < 8
            ? { method: 'PUT' as const, path: `/items/${key}`, body: 'value', kind: 'items' as const }
            : kind === 8
              ? {
                  method: 'POST' as const,
                  path: '/echo',
                  body: '{"message":"hi"}',
                  headers: { 'content-type': 'application/json' },
                  kind: 'echo' as const,
                }
              : { method: 'GET' as const, path: '/health', kind: 'health' as const };
      try {
        const res = await pool.request({ method: req.method, path: req.path, body: req.body, headers: req.headers });
        await res.body.dump();
        counts.completed[req.kind]++;
        counts.statuses.set(res.statusCode, (counts.statuses.get(res.statusCode) ?? 0) + 1);
        total++;
        for (const [n, resolve] of waiters) if (total >= n) resolve();
      } catch {
        counts.failed++;
        // The server is going away; back off instead of spinning on refused connections.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  }

  const workers = Array.from({ length: concurrency }, (_, id) => worker(id));
  return {
    counts,
    reached: (n) => new Promise((resolve) => (total >= n ? resolve() : waiters.push([n, resolve]))),
    async stop() {
      running = false;
      await Promise.all(workers);
      await pool.destroy();
      return counts;
    },
  };
}
