/**
 * The service's life: start telemetry, build the app, listen, announce, then wait for a signal
 * (or a fatal error) and shut down in order: drain, shutdown record, exit record, flush.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunConfig } from './config/run.js';
import { ServiceError } from './errors.js';
import { type App, buildApp } from './http/app.js';
import { ExitMetrics, ShutdownMetrics } from './metrics.js';
import { ProcessEvents } from './process-events.js';
import type { Recorder } from './profile/recorder/recorder.js';
import { type LineSink, openRecord } from './record/index.js';
import { RuntimeSampler } from './runtime/runtime-metrics.js';
import { stderrLine, stderrText } from './stderr.js';
import { DownstreamStore } from './store/downstream-store.js';
import { MemoryStore } from './store/memory-store.js';
import type { ItemStore } from './store/store.js';
import { initTelemetry, type TelemetryGuard } from './telemetry.js';
import { msSince } from './time.js';

export interface RunHooks {
  /** Replace telemetry destinations (benchmarks, embedding). */
  readonly sinks?: { readonly metrics?: LineSink; readonly logs?: LineSink };
  /** Called once the server listens, with its URL. */
  readonly onListening?: (url: string) => void;
}

/** How long the guard may take to write out what is queued at exit (a stuck disk must not hold us). */
const TELEMETRY_CLOSE_TIMEOUT_MS = 5000;
/** While draining, connections with no request in flight are closed this often. */
const IDLE_SWEEP_MS = 50;
/** After the server closed, how long the last request records may take to close. */
const RECORDS_SETTLE_MS = 1000;

function createStore(config: RunConfig, telemetry: TelemetryGuard): ItemStore {
  if (config.downstreamUrl === undefined) return new MemoryStore(config.store);
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

/** Runs the service until SIGTERM/SIGINT/SIGHUP or a fatal error; resolves with the process exit code. */
export async function runService(config: RunConfig, hooks: RunHooks = {}): Promise<number> {
  const telemetry = initTelemetry({
    serviceName: config.serviceName,
    logFilter: config.logFilter,
    telemetryDir: config.telemetryDir,
    maxFiles: config.telemetryMaxFiles,
    metrics: {
      format: config.metricsFormat,
      emf: config.emf,
      endpoint: config.metricsEndpoint,
      sampleRate: config.metricsSampleRate,
      archiveDir: config.metricsArchiveDir,
    },
    sinks: hooks.sinks,
    writer: { maxQueuedBytes: config.telemetryBufferBytes },
  });
  const events = new ProcessEvents();
  const recorder = await startFlightRecorder(telemetry);
  try {
    return await serve(config, hooks, telemetry, events, recorder);
  } finally {
    events.dispose();
  }
}

/**
 * The flight recorder (DIAL9_* variables, see docs/profiling.md), imported only when a DIAL9_*
 * variable is set: without any, it costs nothing, not even its import. Its config is lenient: bad
 * values warn, and so do unknown DIAL9_* names and settings given without DIAL9_ENABLED.
 */
async function startFlightRecorder(telemetry: TelemetryGuard): Promise<Recorder | undefined> {
  if (!Object.keys(process.env).some((name) => name.startsWith('DIAL9_'))) return undefined;
  const { startRecorderFromEnv } = await import('./profile/recorder/index.js');
  const log = telemetry.logger.for('service:recorder');
  // sealOnExit: every exit path seals, the fatal ones included; finish() seals first on a normal stop.
  return startRecorderFromEnv({
    log: (level, fields, message) => log[level](fields, message),
    sealOnExit: true,
    serviceChannelsOnly: true,
  });
}

async function serve(
  config: RunConfig,
  hooks: RunHooks,
  telemetry: TelemetryGuard,
  events: ProcessEvents,
  recorder: Recorder | undefined,
): Promise<number> {
  const log = telemetry.logger.for('service');
  const store = createStore(config, telemetry);
  const app = buildApp({
    store,
    metrics: telemetry.metrics,
    loggers: telemetry.logger,
    bodyLimitBytes: config.bodyLimitBytes,
    bodyTimeoutMs: config.bodyTimeoutMs,
    headersTimeoutMs: config.headersTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    rateLimit: config.rateLimit,
  });

  // fastify announces itself at info; the startup line below says more, so mute its copy.
  const fastifyLog = app.server.log;
  const fastifyLevel = fastifyLog.level;
  fastifyLog.level = 'warn';
  try {
    await app.server.listen({ host: config.host, port: config.port });
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    log.fatal({ err }, 'cannot listen');
    await store.close();
    await finish(telemetry, 1, recorder);
    throw new ServiceError('SVC_ERR_LISTEN', `cannot listen on ${config.host}:${config.port}: ${reason}`, {
      exitCode: 1,
      cause: err,
    });
  } finally {
    fastifyLog.level = fastifyLevel;
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
  // Logs go to a file: say once on stderr where everything is (the same line as in the log).
  if (config.telemetryDir !== undefined) await stderrText(telemetry.logger.line('service', 'info', startup, message));
  hooks.onListening?.(url);

  const runtime = new RuntimeSampler({
    sink: telemetry.metrics,
    intervalMs: config.runtimeMetricsIntervalMs,
    telemetryStats: () => telemetry.stats(),
    recorder,
  }).start();

  const stop = await events.stopped;
  if (stop.kind === 'fatal') log.fatal({ err: stop.error }, 'fatal error, shutting down');
  else log.info({ signal: stop.signal, inFlight: app.recorder.inFlight }, 'shutting down');

  // After a fatal error, in-flight requests are not waited for: the process is in an unknown state.
  const drainTimeoutMs = stop.kind === 'fatal' ? 0 : config.drainTimeoutMs;
  const drain = await drainServer(app, drainTimeoutMs, events.hurried);
  runtime.stop();
  await store.close();
  for (const error of events.lateErrors) log.fatal({ err: error }, 'fatal error while shutting down');

  const shutdown = openRecord(ShutdownMetrics, telemetry.metrics);
  shutdown.values.Reason = stop.kind === 'signal' ? stop.signal : 'fatal';
  shutdown.values.Drained = drain.drained;
  shutdown.values.DrainDuration = drain.durationMs;
  shutdown.values.InFlight = drain.inFlightAtStart;
  shutdown.close();

  const clean = stop.kind === 'signal' && drain.drained && events.lateErrors.length === 0;
  const exitCode = clean ? 0 : 1;
  log.info({ drained: drain.drained, drainDurationMs: drain.durationMs, exitCode }, 'stopped');
  await finish(telemetry, exitCode, recorder);
  return exitCode;
}

interface DrainResult {
  readonly drained: boolean;
  readonly durationMs: number;
  readonly inFlightAtStart: number;
}

/** Stops accepting, lets in-flight requests finish for up to `timeoutMs`, then cuts what is left. */
async function drainServer(app: App, timeoutMs: number, hurried: Promise<void>): Promise<DrainResult> {
  const started = performance.now();
  const inFlightAtStart = app.recorder.inFlight;
  app.recorder.markDraining();
  const closed = app.server.close().then(() => true);
  // Not only idle keep-alive connections: also those that never sent a whole request head, which
  // Node's closeIdleConnections() leaves open and server.close() would wait for until the timeout.
  app.connections.closeIdle();
  const sweep = setInterval(() => app.connections.closeIdle(), IDLE_SWEEP_MS);
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    void hurried.then(() => resolve(false));
  });
  const drained = await Promise.race([closed, gaveUp]);
  clearTimeout(timer);
  clearInterval(sweep);
  if (!drained) {
    app.recorder.markAborting();
    app.server.server.closeAllConnections();
    await closed;
  }
  // The server reports closed before the last responses do; their records come first.
  await Promise.race([app.recorder.idle(), sleep(RECORDS_SETTLE_MS, undefined, { ref: false })]);
  return { drained, durationMs: msSince(started), inFlightAtStart };
}

/** Seals the flight recorder's segment, writes the exit record and flushes everything through the guard. */
async function finish(telemetry: TelemetryGuard, exitCode: number, recorder: Recorder | undefined): Promise<void> {
  await recorder?.close(TELEMETRY_CLOSE_TIMEOUT_MS);
  const stats = telemetry.stats();
  const exit = openRecord(ExitMetrics, telemetry.metrics);
  exit.values.ExitCode = exitCode;
  exit.values.MetricsDropped = stats.metricsDropped;
  exit.values.MetricsInvalid = stats.metricsInvalid;
  exit.values.MetricsSampledOut = stats.metricsSampledOut;
  exit.values.MetricsArchiveDropped = stats.archiveDropped;
  exit.values.LogsDropped = stats.logsDropped;
  exit.close();
  await telemetry.close(TELEMETRY_CLOSE_TIMEOUT_MS);
  // The exit record cannot count what was lost while it was being written out; this line can.
  const after = telemetry.stats();
  if (after.metricsDropped > 0 || after.logsDropped > 0 || after.archiveDropped > 0) {
    await stderrLine({
      level: 'warn',
      target: 'service:telemetry',
      metricsDropped: after.metricsDropped,
      logsDropped: after.logsDropped,
      archiveDropped: after.archiveDropped,
      msg: 'some telemetry was lost during this run',
    });
  }
}
