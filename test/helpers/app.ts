/**
 * The HTTP app in-process, listening on a loopback port, with telemetry going to memory sinks.
 * Requests still travel over real HTTP; only the writer thread is replaced.
 */
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';
import { type App, buildApp } from '../../src/http/app.js';
import type { RateLimit } from '../../src/http/rate-limit.js';
import { parseLogFilter } from '../../src/log/filter.js';
import { MemorySink } from '../../src/record/index.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { ItemStore } from '../../src/store/store.js';
import { initTelemetry, type MetricsOutput, type TelemetryGuard } from '../../src/telemetry.js';
import { isRequestRecord, type MetricLine } from './ndjson.js';
import { waitFor } from './wait.js';

export interface TestAppOptions {
  readonly store?: ItemStore;
  readonly bodyLimitBytes?: number;
  readonly bodyTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly headersTimeoutMs?: number;
  readonly serviceName?: string;
  readonly rateLimit?: RateLimit;
  /** Metric format and the rest; JSON by default. */
  readonly metrics?: MetricsOutput;
}

export interface TestApp {
  readonly url: string;
  readonly app: App;
  readonly telemetry: TelemetryGuard;
  readonly metrics: MemorySink;
  readonly logs: MemorySink;
  /** Request records so far. */
  requests(): MetricLine[];
  /** Waits for `count` request records in all, then a little longer, and fails if more show up. */
  settledRequests(count: number): Promise<MetricLine[]>;
  close(): Promise<void>;
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const metrics = new MemorySink();
  const logs = new MemorySink();
  const telemetry = initTelemetry({
    serviceName: options.serviceName ?? 'test-service',
    logFilter: parseLogFilter('info,service=debug'),
    metrics: options.metrics,
    sinks: { metrics, logs },
  });
  const app = buildApp({
    store: options.store ?? new MemoryStore(),
    metrics: telemetry.metrics,
    loggers: telemetry.logger,
    bodyLimitBytes: options.bodyLimitBytes ?? 1024 * 1024,
    bodyTimeoutMs: options.bodyTimeoutMs ?? 10000,
    requestTimeoutMs: options.requestTimeoutMs ?? 16000,
    rateLimit: options.rateLimit,
    headersTimeoutMs: options.headersTimeoutMs,
  });
  await app.server.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.server.address() as AddressInfo;
  // JSON keeps properties under "properties"; EMF keeps them at the top level.
  const requests = () =>
    metrics
      .records<MetricLine & { Operation?: string }>()
      .filter((r) => isRequestRecord(r) || r.Operation !== undefined);
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    telemetry,
    metrics,
    logs,
    requests,
    async settledRequests(count) {
      await waitFor(`${count} request record(s)`, () => (requests().length >= count ? true : undefined));
      // Extra records would be a bug; give them a moment to show up.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const found = requests();
      if (found.length !== count) throw new Error(`expected exactly ${count} request records, found ${found.length}`);
      return found;
    },
    async close() {
      await app.server.close();
      await telemetry.close();
    },
  };
}

/**
 * For a `describe` block: a `start` that starts a test app and closes every app it started once the
 * block is done. Call it at the top of the block (it registers the `after` hook there).
 */
export function appsClosedAfter(): (options?: TestAppOptions) => Promise<TestApp> {
  const apps: TestApp[] = [];
  after(async () => {
    for (const app of apps) await app.close();
  });
  return async (options = {}) => {
    const app = await startTestApp(options);
    apps.push(app);
    return app;
  };
}
