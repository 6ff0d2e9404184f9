/**
 * `service profile record`: one command for a useful capture. Starts the service (or the program
 * after `--`) under the tool, drives sustained load at it with the `service load` engine in this
 * process, stops everything in order (load, program, tool, downstream) and returns the capture.
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProfileError } from '../../errors.js';
import type { Progress } from '../../load/engine.js';
import { type LoadOutcome, runLoadTest } from '../../load/load-test.js';
import type { RecordConfig } from './capture-config.js';
import { type Downstream, startDownstream } from './downstream.js';
import { parseNodeCommand, serviceProgram } from './program.js';
import { type CaptureResult, ProfileSession } from './session.js';

export interface RecordIo {
  readonly say: (line: string) => void;
  /** Aborted once (Ctrl-C): stop the load and finish the capture. Repeated aborts come through `hurry`. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: Progress) => void;
}

export interface RecordResult {
  readonly capture: CaptureResult;
  readonly load: LoadOutcome | undefined;
}

/** Where the service's own telemetry goes inside a capture. */
export const TELEMETRY_SUBDIR = 'telemetry';
/** A capture is short: a runtime record every second rather than every 30. */
const CAPTURE_RUNTIME_INTERVAL_MS = 1000;
const DOWNSTREAM_STOP_MS = 15_000;

export async function recordCapture(
  config: RecordConfig,
  io: RecordIo,
): Promise<{
  result: Promise<RecordResult>;
  /** Asks the program to stop again (a second Ctrl-C): the service cuts its drain short. */
  hurry(): void;
}> {
  let session: ProfileSession | undefined;
  const result = run(config, io, (s) => (session = s));
  return { result, hurry: () => session?.stop() };
}

async function run(config: RecordConfig, io: RecordIo, started: (s: ProfileSession) => void): Promise<RecordResult> {
  const userProgram = config.command === undefined ? undefined : parseNodeCommand(config.command);
  let downstream: Downstream | undefined;
  if (config.withDownstream) {
    io.say('starting the downstream instance');
    downstream = await startDownstream(config.startTimeoutMs);
  }
  try {
    const session = await ProfileSession.start({
      tool: config.tool,
      capture: config,
      output: 'file',
      say: io.say,
      program:
        userProgram ??
        ((dir: string) =>
          serviceProgram([
            '--port',
            '0',
            '--telemetry-dir',
            join(dir, TELEMETRY_SUBDIR),
            '--runtime-metrics-interval-ms',
            String(CAPTURE_RUNTIME_INTERVAL_MS),
            ...(downstream === undefined ? [] : ['--downstream-url', downstream.url]),
          ])),
    });
    started(session);
    io.say(`recording with ${config.tool} into ${session.dir}`);
    let origin: string;
    try {
      origin =
        config.url === undefined
          ? new URL(await untilAborted(session.waitForUrl(config.startTimeoutMs), io.signal)).origin
          : await waitForListening(config.url, session, config.startTimeoutMs, io.signal);
    } catch (err) {
      await session.abort();
      throw err;
    }
    let load: LoadOutcome;
    try {
      const loadConfig = config.loadFor(origin);
      io.say(`load: ${describeLoad(loadConfig)} against ${loadConfig.url.href}`);
      load = await runLoadTest(loadConfig, { signal: io.signal, onProgress: io.onProgress });
    } catch (err) {
      await session.abort();
      throw err;
    }
    session.stop();
    const capture = await session.finish({ load: load.summary, downstream: downstream?.url });
    return { capture, load };
  } finally {
    await downstream?.stop(DOWNSTREAM_STOP_MS);
  }
}

function describeLoad(config: ReturnType<RecordConfig['loadFor']>): string {
  const model = config.ratePerSecond === undefined ? `${config.connections} connections` : `${config.ratePerSecond}/s`;
  const span = config.durationMs === undefined ? `${config.requests} requests` : `${config.durationMs / 1000} s`;
  const what =
    config.workload.kind === 'mix'
      ? `items mix ${config.workload.weights.map((w) => w.join('=')).join(',')}`
      : config.workload.method;
  return `${what}, ${model}, ${span}`;
}

/** Rejects as soon as `signal` aborts (Ctrl-C while the program starts). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = () =>
      reject(
        new ProfileError('SVC_ERR_PROFILE_PROGRAM', 'interrupted before the program listened; nothing was captured'),
      );
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** `--url`: polls until the program accepts connections there. */
async function waitForListening(
  url: URL,
  session: ProfileSession,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void session.waitForUrl(timeoutMs).catch(() => (exited = true));
  const port = Number(url.port || 80);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  while (Date.now() < deadline) {
    if (signal?.aborted === true) {
      throw new ProfileError(
        'SVC_ERR_PROFILE_PROGRAM',
        'interrupted before the program listened; nothing was captured',
      );
    }
    if (await accepts(host, port)) return url.origin;
    if (exited) break;
    await sleep(100);
  }
  throw new ProfileError(
    'SVC_ERR_PROFILE_PROGRAM',
    `the program did not accept connections at ${url.origin} within ${timeoutMs / 1000} s; check --url, or raise --start-timeout`,
  );
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
