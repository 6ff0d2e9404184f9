/**
 * The service's HTTP app in one of two telemetry set-ups, for bench/telemetry-overhead.ts:
 *   files      wide events to metrics.log, logs to application.log (writer thread)
 *   discard    the same app and recorder, with the metric sink thrown away
 * Prints its URL on stdout, flushes and exits on SIGTERM.
 */

import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/http/app.js';
import { parseLogFilter } from '../../src/log/filter.js';
import { discardSink } from '../../src/record/index.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { initTelemetry } from '../../src/telemetry.js';

const [variant, dir] = process.argv.slice(2);
if ((variant !== 'files' && variant !== 'discard') || dir === undefined) {
  throw new Error('usage: telemetry-variant files|discard <dir>');
}

const telemetry = initTelemetry({
  serviceName: 'bench',
  logFilter: parseLogFilter('info,service=debug'),
  telemetryDir: dir,
  sinks: variant === 'files' ? undefined : { metrics: discardSink },
});
const app = buildApp({
  store: new MemoryStore(),
  metrics: telemetry.metrics,
  loggers: telemetry.logger,
  bodyLimitBytes: 1024 * 1024,
  bodyTimeoutMs: 10000,
  requestTimeoutMs: 16000,
});
await app.server.listen({ host: '127.0.0.1', port: 0 });
const { port } = app.server.server.address() as AddressInfo;
process.stdout.write(`http://127.0.0.1:${port}\n`);

process.once('SIGTERM', async () => {
  await app.server.close();
  await telemetry.close();
  process.exit(0);
});
