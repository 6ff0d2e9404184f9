/**
 * The flight recorder of one process: the ring, its writer thread and the sources feeding it, on
 * one clock (`performance.now()`, written in µs). Start it once per process with `Recorder.start`
 * (the preload and `service run` do); application code talks to it through api.ts.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { performance, type RecordableHistogram } from 'node:perf_hooks';
import { LOG_LEVELS, type LogLevel, levelFor } from '../../log/filter.js';
import { EV, EVENTS, FORMAT_VERSION } from '../format/schema.js';
import { describeRecording, type RecorderConfig, type RecordingSummary } from './config.js';
import { Heartbeat } from './heartbeat.js';
import type { SealedSegmentInfo, WriterInit } from './protocol.js';
import { RequestTracker } from './requests.js';
import { EventRing } from './ring.js';
import { CallbackTracker } from './sources/callbacks.js';
import { watchGc } from './sources/gc.js';
import { watchHttpClient } from './sources/http-client.js';
import { watchHttpServer } from './sources/http-server.js';
import { Profilers } from './sources/inspector.js';
import { LoopWatch, WATCH_PERIOD_MS } from './sources/loop.js';
import { loadParkAddon, ParkWatch } from './sources/park.js';
import { watchPending } from './sources/pending.js';
import { watchPendingOrigins } from './sources/pending-origins.js';
import { RecorderWriter } from './writer-thread.js';

/**
 * Called with each sealed segment, the last one (sealed at close or exit) included. A returned
 * promise is awaited by `close()` (bounded by its timeout); at process 'exit' nothing asynchronous
 * runs any more, so only the hook's synchronous part does.
 */
export type SealedHook = (segment: SealedSegmentInfo) => void | Promise<void>;

export type RecorderLog = (level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string) => void;

export interface RecorderOptions {
  readonly config: RecorderConfig;
  /** Where the start-up line and recorder problems go (default: JSON lines on stderr). */
  readonly log?: RecorderLog;
  /** Seal on 'exit', and on SIGTERM/SIGINT/SIGHUP when nobody else handles them (the preload). */
  readonly sealOnExit?: boolean;
  /** Called with each sealed segment (the seed's custom pipeline: upload it, keep or delete it). */
  readonly onSealed?: SealedHook;
  /** The program publishes the service's request lifecycle channels (`service run`): node:http's server channels are not needed. */
  readonly serviceChannelsOnly?: boolean;
}

export interface RecorderStats {
  readonly eventsRecorded: number;
  readonly eventsDropped: number;
  /** Stretches of main-thread work over the stall threshold. */
  readonly stalls: number;
  readonly loopIterations: number;
  /** Only with per-callback tracking. */
  readonly callbacksRun: number | undefined;
  readonly diskBytes: number;
  readonly segmentsEvicted: number;
}

/** Ring buffers are shipped at least this often, so a quiet process still reaches the disk. */
const SHIP_INTERVAL_MS = 200;
/** After a trigger fires, it stays quiet this long (one incident, one set of pinned segments). */
const TRIGGER_COOLDOWN_MS = 60_000;
const P99_CHECK_MS = 1000;
const EXIT_SEAL_TIMEOUT_MS = 3000;
const CLOCK_SYNC_MS = 10_000;
const PENDING_SAMPLE_MS = 1000;
/**
 * Signals whose default action ends the process and that a program may be sent: sealed first, then
 * raised again. SIGQUIT (core dump), SIGUSR2 (nodemon's restart) and SIGALRM end a program with no
 * handler just as SIGTERM does. Not SIGUSR1 (Node's inspector) nor SIGPROF/SIGVTALRM (profilers).
 */
const SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR2', 'SIGALRM'];
/** Held on every signal above while sealing: a repeated signal waits for the seal (bounded by its timeout). */
const whileSealing = (): void => {};
/** Targets whose filter level is remembered; past this, forgotten and looked up again. */
const MAX_CACHED_TARGETS = 1024;

function stamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

const defaultLog: RecorderLog = (level, fields, message) => {
  process.stderr.write(
    `${JSON.stringify({ time: new Date().toISOString(), level, target: 'service:recorder', pid: process.pid, ...fields, msg: message })}\n`,
  );
};

export class Recorder {
  readonly config: RecorderConfig;
  /** This process's own directory under DIAL9_TRACE_DIR. */
  readonly dir: string;
  readonly recording: RecordingSummary;
  readonly ring: EventRing;
  readonly requests = new RequestTracker();
  #writer: RecorderWriter;
  #log: RecorderLog;
  #loop: LoopWatch;
  #park: ParkWatch | undefined;
  #profilers: Profilers;
  #callbacks: CallbackTracker | undefined;
  #heartbeat = new Heartbeat();
  #stops: (() => void)[] = [];
  #timers: NodeJS.Timeout[] = [];
  #lastTriggerMs = Number.NEGATIVE_INFINITY;
  #sealedHooks: SealedHook[] = [];
  /** Hooks still running (their promises), awaited by close(). */
  #hooksRunning = new Set<Promise<void>>();
  #levels = new Map<string, number>();
  #closed = false;
  #onExit = () => this.closeSync(EXIT_SEAL_TIMEOUT_MS);
  /**
   * The loop ran dry: seal while asynchronous work still runs, so sealed-segment hooks may finish.
   * Unless another 'beforeExit' listener started more work (the program's own, pino's transports):
   * then the loop runs on, still recorded, and the next 'beforeExit' decides again. This listener
   * goes first (prepended) and counts the active resources; a microtask, which runs once every
   * listener has, counts them again. Counted, not required to be none: the list also holds handles
   * that never keep the loop alive (stdio pipes).
   */
  #onBeforeExit = () => {
    const before = process.getActiveResourcesInfo().length;
    queueMicrotask(() => {
      if (process.getActiveResourcesInfo().length <= before) void this.close(EXIT_SEAL_TIMEOUT_MS);
    });
  };
  #onSignal = (signal: NodeJS.Signals) => {
    // Someone else handles it: they decide when to exit, and 'exit' seals.
    if (process.listenerCount(signal) > 1) return;
    // A second signal (Ctrl-C twice, `timeout` signalling the whole process group) must not find the
    // default action half-way through the seal: it would leave the segment `.active`, or a bare
    // `.bin` beside a partial `.gz`. Held first, so that no signal ever finds no listener meanwhile.
    for (const s of SIGNALS) process.on(s, whileSealing);
    for (const s of SIGNALS) process.removeListener(s, this.#onSignal);
    // Sealed (hooks included, within the timeout), then the signal again: the program dies of it.
    void this.close(EXIT_SEAL_TIMEOUT_MS).finally(() => {
      for (const s of SIGNALS) process.removeListener(s, whileSealing);
      process.kill(process.pid, signal);
    });
  };

  private constructor(options: RecorderOptions) {
    const config = options.config;
    this.config = config;
    this.#log = options.log ?? defaultLog;
    if (options.onSealed !== undefined) this.#sealedHooks.push(options.onSealed);
    const started = new Date();
    // The random part: pid and second alone collide across containers (each its own pid 1) that
    // share a trace volume and start together; the second process would write into the first's files.
    this.dir = join(
      config.traceDir,
      `${config.serviceName}.${process.pid}.${stamp(started)}.${randomBytes(3).toString('hex')}`,
    );
    const park = loadParkAddon(config);
    this.recording = describeRecording(config, this.dir, 'reason' in park ? park.reason : undefined);
    const init: WriterInit = {
      dir: this.dir,
      rotationMs: config.rotationSecs * 1000,
      maxFileBytes: config.maxFileSizeBytes,
      maxDiskBytes: config.maxDiskUsageBytes,
      hrtimeOffsetUs: Number(process.hrtime.bigint() / 1000n) - performance.now() * 1000,
      heartbeat: this.#heartbeat.buffer,
      stallThresholdMs: config.stallThresholdMs,
      header: {
        format: 'dial9-node',
        version: FORMAT_VERSION,
        timeUnit: 'us',
        clock: 'performance.now() of the recorded process (monotonic), in µs',
        timeOriginMs: performance.timeOrigin,
        process: {
          pid: process.pid,
          host: hostname(),
          service: config.serviceName,
          argv: process.argv,
          node: process.version,
        },
        recording: this.recording,
        config: { ...config, targets: config.targets.source },
        events: EVENTS,
      },
    };
    this.#writer = new RecorderWriter(init, {
      onBuffer: (buffer) => this.ring.release(buffer),
      onSealed: (segment) => this.#sealed(segment),
      onError: (message) => this.#log('error', { dir: this.dir }, message),
      // The writer's messages wake the loop for the recorder alone: they do not end an idle period.
      onHandled: (startMs) => this.#park?.own(startMs),
    });
    this.ring = new EventRing({ ship: (batch) => this.#writer.post({ op: 'batch', batch }) });
    if ('addon' in park) this.#park = new ParkWatch(this.ring, park.addon, config);
    this.#loop = new LoopWatch(
      this.ring,
      config,
      this.requests,
      // Noticed as the stall ends: its events are all still in the ring, bound for the active segment.
      (reason, value, threshold) => this.trigger(reason, value, threshold),
      this.#heartbeat,
      this.#park,
    );
    this.#heartbeat.beat(performance.now());
    this.requests.onAlive = (timeMs, seq) => {
      const inFlight = this.requests.openRequests;
      this.#loop.alive(timeMs, inFlight);
      this.#heartbeat.request(seq, timeMs, inFlight);
    };
    this.#profilers = new Profilers(
      config,
      (message) => this.#writer.post(message),
      (message) => this.#log('warn', {}, message),
    );
  }

  /** Starts recording. Call once per process. */
  static start(options: RecorderOptions): Recorder {
    const recorder = new Recorder(options);
    recorder.#start(options.sealOnExit ?? false, options.serviceChannelsOnly ?? false);
    return recorder;
  }

  #start(sealOnExit: boolean, serviceChannelsOnly: boolean): void {
    const config = this.config;
    this.#clockSync();
    this.#loop.start();
    this.#stops.push(() => this.#loop.stop());
    const park = this.#park;
    if (park !== undefined) {
      try {
        park.start();
        this.#stops.push(() => park.stop());
      } catch (err) {
        // Loaded but refused to start: record without it, and say so.
        this.#park = undefined;
        this.#log('warn', {}, `park/unpark: off (native addon did not start: ${(err as Error).message})`);
      }
    }
    this.#stops.push(watchGc(this.ring));
    this.#stops.push(
      watchHttpServer(
        this.ring,
        this.requests,
        { perSec: config.requestEventsPerSec, slowMs: config.stallThresholdMs },
        serviceChannelsOnly,
      ),
    );
    const clientLevel = Math.max(this.#level('undici'), this.#level('http'));
    if (clientLevel <= LOG_LEVELS.indexOf('error'))
      this.#stops.push(watchHttpClient(this.ring, this.requests, clientLevel > LOG_LEVELS.indexOf('info')));
    if (config.taskDump) {
      const periodMs = Math.max(PENDING_SAMPLE_MS, config.taskDumpIdleThresholdMs);
      this.#stops.push(watchPending(this.ring, periodMs));
      this.#stops.push(
        watchPendingOrigins(this.ring, {
          sampleEvery: config.taskDumpSampleEvery,
          thresholdMs: config.taskDumpIdleThresholdMs,
          periodMs,
        }),
      );
    }
    if (config.callbackTracking) {
      const tracker = new CallbackTracker(this.ring, this.requests);
      tracker.start(config.callbackTrackingSecs);
      this.#callbacks = tracker;
      this.#stops.push(() => tracker.stop());
    }
    this.#profilers.start();
    this.#every(SHIP_INTERVAL_MS, () => this.ring.ship());
    this.#every(CLOCK_SYNC_MS, () => this.#clockSync());
    const p99Threshold = config.triggerRequestP99Ms;
    if (p99Threshold !== undefined)
      this.#every(P99_CHECK_MS, () => {
        const p99 = this.requests.takeP99(performance.now());
        // The slow requests closed since the durations began (and began up to p99 before that).
        if (p99 !== undefined && p99.p99Ms > p99Threshold)
          this.trigger('request p99', p99.p99Ms, p99Threshold, Math.max(P99_CHECK_MS, p99.windowMs) + p99.p99Ms);
      });
    if (sealOnExit) {
      process.on('exit', this.#onExit);
      process.prependListener('beforeExit', this.#onBeforeExit);
      for (const signal of SIGNALS) process.on(signal, this.#onSignal);
    }
    this.#log('info', { dir: this.dir, on: this.recording.on, off: this.recording.off }, this.recording.summary);
  }

  #every(ms: number, fn: () => void): void {
    // The recorder's own wake-ups: they do not end an idle period.
    const timer = setInterval(() => {
      const startMs = performance.now();
      fn();
      this.#park?.own(startMs);
    }, ms);
    timer.unref();
    this.#timers.push(timer);
  }

  #clockSync(): void {
    this.ring.put(EV.clockSync, performance.now(), Date.now());
  }

  /** Index into LOG_LEVELS of the level `target` is kept at. */
  #level(target: string): number {
    let level = this.#levels.get(target);
    if (level === undefined) {
      level = LOG_LEVELS.indexOf(levelFor(this.config.targets, target));
      // A cache, bounded: targets built from input (one per user, per key) must not grow it for good.
      if (this.#levels.size >= MAX_CACHED_TARGETS) this.#levels.clear();
      this.#levels.set(target, level);
    }
    return level;
  }

  /** Whether spans and events of `target` at `level` pass the targets filter (never once closed). */
  wants(target: string, level: LogLevel): boolean {
    return !this.#closed && this.config.taskTracking && LOG_LEVELS.indexOf(level) >= this.#level(target);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Marks the moment and pins the segments around it (at most once a minute): the active one, the
   * next, and those sealed in the last `lookbackMs` (at least the newest), so that an incident
   * noticed late (a p99 over the last second) keeps its segments even when they rotate fast.
   */
  trigger(reason: string, valueMs: number, thresholdMs: number, lookbackMs = 0): void {
    const now = performance.now();
    if (now - this.#lastTriggerMs < TRIGGER_COOLDOWN_MS) return;
    this.#lastTriggerMs = now;
    this.ring.put(EV.trigger, now, this.ring.intern(reason), valueMs * 1000, thresholdMs * 1000);
    this.ring.ship();
    this.#writer.post({ op: 'pin', lookbackMs });
    this.#log(
      'warn',
      { reason, valueMs, thresholdMs },
      `flight recorder trigger: ${reason} ${valueMs.toFixed(1)} ms over ${thresholdMs} ms; pinning the segments around it`,
    );
  }

  onSealed(hook: SealedHook): () => void {
    this.#sealedHooks.push(hook);
    return () => {
      this.#sealedHooks = this.#sealedHooks.filter((h) => h !== hook);
    };
  }

  #sealed(segment: SealedSegmentInfo): void {
    const failed = (err: unknown) =>
      this.#log('error', { path: segment.path }, `sealed-segment hook failed: ${(err as Error).message}`);
    for (const hook of this.#sealedHooks) {
      try {
        const result = hook(segment);
        if (result instanceof Promise) {
          const running: Promise<void> = result.catch(failed).finally(() => this.#hooksRunning.delete(running));
          this.#hooksRunning.add(running);
        }
      } catch (err) {
        failed(err);
      }
    }
  }

  /**
   * The watch timer's time between firings (ns), as `monitorEventLoopDelay()` at 10 ms would record
   * it: the runtime record takes its event-loop delay from here rather than start another timer.
   */
  get loopDelays(): { readonly histogram: RecordableHistogram; readonly periodMs: number } {
    return { histogram: this.#loop.delays, periodMs: WATCH_PERIOD_MS };
  }

  /** p99 callback duration since the last call (per-callback tracking only). */
  takeCallbackP99Ms(): number | undefined {
    return this.#callbacks?.takeP99Ms();
  }

  stats(): RecorderStats {
    return {
      eventsRecorded: this.ring.recorded,
      // Full buffers on this thread, and blocks the writer could not write (a full disk).
      eventsDropped: this.ring.dropped + this.#writer.lost,
      stalls: this.#loop.stats.stalls,
      loopIterations: this.#loop.stats.loopIterations,
      callbacksRun: this.#callbacks?.callbacks,
      diskBytes: this.#writer.diskBytes,
      segmentsEvicted: this.#writer.evicted,
    };
  }

  #stopSources(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    this.#heartbeat.stop();
    for (const timer of this.#timers) clearInterval(timer);
    for (const stop of this.#stops) stop();
    this.#profilers.stop();
    process.removeListener('exit', this.#onExit);
    process.removeListener('beforeExit', this.#onBeforeExit);
    for (const signal of SIGNALS) process.removeListener(signal, this.#onSignal);
    this.#clockSync();
    this.ring.ship();
    return true;
  }

  /**
   * Stops recording, seals the active segment and waits for the sealed-segment hooks still running
   * (the last segment's included), each bound by `timeoutMs`. Idempotent.
   */
  async close(timeoutMs = EXIT_SEAL_TIMEOUT_MS): Promise<void> {
    if (!this.#stopSources()) return;
    await this.#writer.close(timeoutMs);
    if (this.#hooksRunning.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)));
    const late = await Promise.race([Promise.all(this.#hooksRunning).then(() => false), gaveUp]);
    clearTimeout(timer);
    if (late)
      this.#log('warn', { dir: this.dir }, `sealed-segment hooks still running after ${timeoutMs} ms; not waiting`);
  }

  /** The same, blocking (for 'exit' handlers, where nothing asynchronous runs any more). */
  closeSync(timeoutMs = EXIT_SEAL_TIMEOUT_MS): void {
    if (!this.#stopSources()) return;
    if (!this.#writer.closeSync(timeoutMs))
      this.#log('warn', { dir: this.dir }, 'the trace segment was not sealed in time');
  }
}
