/**
 * The service's HTTP app in one of three telemetry set-ups, for bench/telemetry-overhead.ts:
 *   files      the product: wide events to metrics.log, logs to application.log (writer thread)
 *   discard    the same app and recorder, with the metric sink thrown away (the baseline)
 *   pino-http  the discard set-up plus a pino-http access-log line per request to a file
 * Prints its URL on stdout, flushes and exits on SIGTERM.
 */

import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { pinoHttp } from 'pino-http';
import { buildApp } from '../../src/http/app.js';
import { parseLogFilter } from '../../src/log/filter.js';
import { discardSink } from '../../src/record/index.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { initTelemetry } from '../../src/telemetry.js';

const [variant, dir] = process.argv.slice(2);
if ((variant !== 'files' && variant !== 'discard' && variant !== 'pino-http') || dir === undefined) {
  throw new Error('usage: telemetry-variant files|discard|pino-http <dir>');
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
if (variant === 'pino-http') {
  const accessLog = pinoHttp({ logger: pino(pino.destination({ dest: join(dir, 'access.log'), sync: false })) });
  app.server.addHook('onRequest', (request, reply, done) => {
    accessLog(request.raw, reply.raw);
    done();
  });
}
await app.server.listen({ host: '127.0.0.1', port: 0 });
const { port } = app.server.server.address() as AddressInfo;
process.stdout.write(`http://127.0.0.1:${port}\n`);

process.once('SIGTERM', async () => {
  await app.server.close();
  await telemetry.close();
  process.exit(0);
});
