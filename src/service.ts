/**
 * The service's life: start telemetry, build the app, listen, announce, then wait for a signal
 * (or a fatal error) and shut down in order: drain, shutdown record, exit record, flush.
 */
import { writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunConfig } from './config.js';
import { ServiceError } from './errors.js';
import { type App, buildApp } from './http/app.js';
import { ExitMetrics, ShutdownMetrics } from './metrics.js';
import { type LineSink, openRecord } from './record/index.js';
import { RuntimeSampler } from './runtime/runtime-metrics.js';
import { DownstreamStore } from './store/downstream-store.js';
import { MemoryStore } from './store/memory-store.js';
import type { ItemStore } from './store/store.js';
import { initTelemetry, type TelemetryGuard } from './telemetry.js';

export interface RunHooks {
  /** Replace telemetry destinations (benchmarks, embedding). */
  readonly sinks?: { readonly metrics?: LineSink; readonly logs?: LineSink };
  /** Called once the server listens, with its URL. */
  readonly onListening?: (url: string) => void;
}

type Stop =
  | { readonly kind: 'signal'; readonly signal: NodeJS.Signals }
  | { readonly kind: 'fatal'; readonly error: unknown };

const SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
/** While draining, idle keep-alive connections are closed this often. */
const IDLE_SWEEP_MS = 50;
/** After the server closed, how long the last request records may take to close. */
const RECORDS_SETTLE_MS = 1000;

function createStore(config: RunConfig, telemetry: TelemetryGuard): ItemStore {
  if (config.downstreamUrl === undefined) return new MemoryStore();
  const store = new DownstreamStore({
    url: config.downstreamUrl,
    timeoutMs: config.downstreamTimeoutMs,
    maxResponseBytes: config.bodyLimitBytes,
    logger: telemetry.logger.for('service:downstream'),
    undiciLogger: telemetry.logger.for('undici'),
  });
  void store.probe();
  return store;
}

function listenUrl(app: App): string {
  const address = app.server.server.address();
  if (address === null || typeof address === 'string') return String(address);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** Runs the service until SIGTERM/SIGINT or a fatal error; resolves with the process exit code. */
export async function runService(config: RunConfig, hooks: RunHooks = {}): Promise<number> {
  const telemetry = initTelemetry({
    serviceName: config.serviceName,
    logFilter: config.logFilter,
    telemetryDir: config.telemetryDir,
    metricsFormat: config.metricsFormat,
    sinks: hooks.sinks,
    writer: { maxQueuedBytes: config.telemetryBufferBytes },
  });
  const log = telemetry.logger.for('service');

  let resolveStop: (stop: Stop) => void = () => {};
  const stopped = new Promise<Stop>((resolve) => {
    resolveStop = resolve;
  });
  const onSignal = (signal: NodeJS.Signals) => resolveStop({ kind: 'signal', signal });
  const onFatal = (error: unknown) => resolveStop({ kind: 'fatal', error });
  for (const signal of SIGNALS) process.on(signal, onSignal);
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);

  const store = createStore(config, telemetry);
  const app = buildApp({
    store,
    metrics: telemetry.metrics,
    loggers: telemetry.logger,
    bodyLimitBytes: config.bodyLimitBytes,
    bodyTimeoutMs: config.bodyTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
  });

  // fastify announces itself at info; the startup line below says more, so mute its copy.
  const fastifyLog = app.server.log;
  const fastifyLevel = fastifyLog.level;
  fastifyLog.level = 'warn';
  try {
    await app.server.listen({ host: config.host, port: config.port });
    fastifyLog.level = fastifyLevel;
  } catch (err) {
    fastifyLog.level = fastifyLevel;
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    log.fatal({ err }, 'cannot listen');
    await finish(telemetry, 1);
    await store.close();
    throw new ServiceError('SVC_ERR_LISTEN', `cannot listen on ${config.host}:${config.port}: ${reason}`, {
      exitCode: 1,
      cause: err,
    });
  }

  const url = listenUrl(app);
  const startup = {
    address: url,
    logs: telemetry.destinations.logs,
    metrics: telemetry.destinations.metrics,
    metricsFormat: config.metricsFormat,
    downstream: config.downstreamUrl?.href,
    logFilter: config.logFilter.source,
  };
  const message = `listening on ${url}; logs to ${startup.logs}, metrics to ${startup.metrics}`;
  log.info(startup, message);
  if (config.telemetryDir !== undefined) {
    // Logs go to a file, so say once on stderr where everything is (the same line as in the log).
    writeSync(
      2,
      `${JSON.stringify({ level: 'info', time: new Date().toISOString(), target: 'service', ...startup, msg: message })}\n`,
    );
  }
  hooks.onListening?.(url);

  const runtime = new RuntimeSampler({
    sink: telemetry.metrics,
    intervalMs: config.runtimeMetricsIntervalMs,
    telemetryStats: () => telemetry.stats(),
  }).start();

  const stop = await stopped;
  const reason = stop.kind === 'signal' ? stop.signal : 'fatal';
  if (stop.kind === 'fatal') log.fatal({ err: stop.error }, 'fatal error, shutting down');
  else log.info({ signal: stop.signal, inFlight: app.recorder.inFlight }, 'shutting down');
  // A second signal while draining stops waiting for in-flight requests.
  const forced = new Promise<void>((resolve) => {
    for (const signal of SIGNALS) process.once(signal, () => resolve());
  });

  const drainTimeoutMs = stop.kind === 'fatal' ? 0 : config.drainTimeoutMs;
  const drain = await drainServer(app, drainTimeoutMs, forced);
  runtime.stop();
  await store.close();

  const shutdown = openRecord(ShutdownMetrics, telemetry.metrics);
  shutdown.values.Reason = reason;
  shutdown.values.Drained = drain.drained;
  shutdown.values.DrainDuration = drain.durationMs;
  shutdown.values.InFlight = drain.inFlightAtStart;
  shutdown.close();

  const exitCode = stop.kind === 'signal' && drain.drained ? 0 : 1;
  log.info({ drained: drain.drained, drainDurationMs: drain.durationMs, exitCode }, 'stopped');
  await finish(telemetry, exitCode);

  for (const signal of SIGNALS) process.removeListener(signal, onSignal);
  process.removeListener('uncaughtException', onFatal);
  process.removeListener('unhandledRejection', onFatal);
  return exitCode;
}

interface DrainResult {
  readonly drained: boolean;
  readonly durationMs: number;
  readonly inFlightAtStart: number;
}

/** Stops accepting, lets in-flight requests finish for up to `timeoutMs`, then cuts what is left. */
async function drainServer(app: App, timeoutMs: number, forced: Promise<void>): Promise<DrainResult> {
  const started = performance.now();
  const inFlightAtStart = app.recorder.inFlight;
  const http = app.server.server;
  app.recorder.markDraining();
  const closed = app.server.close().then(() => true);
  const sweep = setInterval(() => http.closeIdleConnections(), IDLE_SWEEP_MS);
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    void forced.then(() => resolve(false));
  });
  const drained = await Promise.race([closed, gaveUp]);
  clearTimeout(timer);
  clearInterval(sweep);
  if (!drained) {
    app.recorder.markAborting();
    http.closeAllConnections();
    await closed;
  }
  // The server reports closed before the last responses do; their records come first.
  await Promise.race([app.recorder.idle(), sleep(RECORDS_SETTLE_MS, undefined, { ref: false })]);
  return { drained, durationMs: Math.round((performance.now() - started) * 1000) / 1000, inFlightAtStart };
}

/** Writes the exit record and flushes everything through the guard. */
async function finish(telemetry: TelemetryGuard, exitCode: number): Promise<void> {
  const stats = telemetry.stats();
  const exit = openRecord(ExitMetrics, telemetry.metrics);
  exit.values.ExitCode = exitCode;
  exit.values.MetricsDropped = stats.metricsDropped;
  exit.values.LogsDropped = stats.logsDropped;
  exit.close();
  await telemetry.close();
  const after = telemetry.stats();
  if (after.metricsDropped > 0 || after.logsDropped > 0) {
    writeSync(
      2,
      `${JSON.stringify({ level: 'warn', target: 'service:telemetry', metricsDropped: after.metricsDropped, logsDropped: after.logsDropped, msg: 'some telemetry was lost during this run' })}\n`,
    );
  }
}
