/**
 * The runtime record: what the event loop, the heap and the garbage collector did in the last
 * interval. The Node counterpart of the Tokio runtime bridge in the Rust template.
 */
import {
  type EventLoopUtilization,
  type Histogram,
  type IntervalHistogram,
  monitorEventLoopDelay,
  PerformanceObserver,
  performance,
} from 'node:perf_hooks';
import { RuntimeMetrics } from '../metrics.js';
import type { Recorder } from '../profile/recorder/recorder.js';
import { openRecord, type RecordSink } from '../record/index.js';
import type { TelemetryStats } from '../telemetry.js';
import { round3 } from '../time.js';
import { memoryNow } from './memory.js';

const NS_PER_MS = 1e6;
/** The delay monitor's timer period; its samples are whole periods, so this is subtracted. */
const DELAY_RESOLUTION_MS = 10;
/** libuv requests (as opposed to handles), as process.getActiveResourcesInfo() names them. */
const REQUEST_RESOURCE = /Req(Wrap|Callback|Promise)?$|^(ShutdownWrap|WriteWrap|ConnectWrap|SendWrap)$/;

/** How late a `periodMs` timer fired, in ms, from one of its samples (ns between two firings). */
const lateBy = (sampleNs: number, periodMs: number): number => round3(Math.max(0, sampleNs / NS_PER_MS - periodMs));

export interface RuntimeSamplerOptions {
  readonly sink: RecordSink;
  readonly intervalMs: number;
  /** Telemetry pipeline counters; the record reports their change over each interval. */
  readonly telemetryStats: () => TelemetryStats;
  /**
   * The flight recorder, when on: the record gains the fields it can measure, and takes its
   * event-loop delay from the recorder's watch timer.
   */
  readonly recorder?: Pick<Recorder, 'stats' | 'takeCallbackP99Ms' | 'loopDelays'> | undefined;
}

interface RecorderTotals {
  readonly eventsDropped: number;
  readonly stalls: number;
  readonly loopIterations: number;
  readonly callbacksRun: number | undefined;
}

export class RuntimeSampler {
  #options: RuntimeSamplerOptions;
  /** The delay histogram: the recorder's watch timer when it runs, else a monitor of our own. */
  #delay: Histogram;
  /** Only when the recorder does not run (its timer already measures the same thing). */
  #monitor: IntervalHistogram | undefined;
  #delayPeriodMs: number;
  #elu: EventLoopUtilization;
  #gc: PerformanceObserver;
  #gcCount = 0;
  #gcPauseMs = 0;
  #timer: NodeJS.Timeout | undefined;
  #lastStats: TelemetryStats;
  #lastRecorder: RecorderTotals | undefined;

  constructor(options: RuntimeSamplerOptions) {
    this.#options = options;
    const recorderDelays = options.recorder?.loopDelays;
    if (recorderDelays !== undefined) {
      this.#delay = recorderDelays.histogram;
      this.#delayPeriodMs = recorderDelays.periodMs;
    } else {
      this.#monitor = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
      this.#delay = this.#monitor;
      this.#delayPeriodMs = DELAY_RESOLUTION_MS;
    }
    this.#elu = performance.eventLoopUtilization();
    this.#gc = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        this.#gcCount++;
        this.#gcPauseMs += entry.duration;
      }
    });
    this.#lastStats = options.telemetryStats();
    this.#lastRecorder = options.recorder?.stats();
  }

  /** Starts measuring, and emitting every `intervalMs`; with an interval of 0 it does nothing. */
  start(): this {
    if (this.#options.intervalMs <= 0) return this;
    this.#monitor?.enable();
    // What the recorder's timer measured before the first interval began is not that interval's.
    this.#delay.reset();
    this.#gc.observe({ entryTypes: ['gc'] });
    this.#timer = setInterval(() => this.emit(), this.#options.intervalMs);
    this.#timer.unref();
    return this;
  }

  /** Emits one record for the interval since the previous one, and starts a new interval. */
  emit(): void {
    const record = openRecord(RuntimeMetrics, this.#options.sink);
    const v = record.values;
    const delay = this.#delay;
    if (delay.count > 0) {
      const periodMs = this.#delayPeriodMs;
      v.EventLoopDelayMin = lateBy(delay.min, periodMs);
      v.EventLoopDelayP50 = lateBy(delay.percentile(50), periodMs);
      v.EventLoopDelayP99 = lateBy(delay.percentile(99), periodMs);
      v.EventLoopDelayMax = lateBy(delay.max, periodMs);
    }
    delay.reset();

    const elu = performance.eventLoopUtilization(this.#elu);
    this.#elu = performance.eventLoopUtilization();
    v.EventLoopUtilization = round3(elu.utilization * 100);

    const memory = memoryNow();
    v.HeapUsed = memory.heapUsed;
    v.HeapTotal = memory.heapTotal;
    v.Rss = memory.rss;

    for (const resource of process.getActiveResourcesInfo()) {
      if (REQUEST_RESOURCE.test(resource)) v.ActiveRequests++;
      else v.ActiveHandles++;
    }

    v.GcCount = this.#gcCount;
    v.GcPauseDuration = round3(this.#gcPauseMs);
    this.#gcCount = 0;
    this.#gcPauseMs = 0;

    const stats = this.#options.telemetryStats();
    v.MetricsDropped = stats.metricsDropped - this.#lastStats.metricsDropped;
    v.MetricsInvalid = stats.metricsInvalid - this.#lastStats.metricsInvalid;
    v.MetricsSampledOut = stats.metricsSampledOut - this.#lastStats.metricsSampledOut;
    v.MetricsArchiveDropped = stats.archiveDropped - this.#lastStats.archiveDropped;
    v.LogsDropped = stats.logsDropped - this.#lastStats.logsDropped;
    v.TelemetryWriteErrors = stats.writeErrors - this.#lastStats.writeErrors;
    this.#lastStats = stats;

    const recorder = this.#options.recorder;
    const before = this.#lastRecorder;
    if (recorder !== undefined && before !== undefined) {
      const now = recorder.stats();
      v.LoopIterations = now.loopIterations - before.loopIterations;
      v.LongCallbacks = now.stalls - before.stalls;
      v.EventLoopIdle = round3(100 - elu.utilization * 100);
      v.RecorderEventsDropped = now.eventsDropped - before.eventsDropped;
      if (now.callbacksRun !== undefined) v.CallbacksRun = now.callbacksRun - (before.callbacksRun ?? 0);
      const p99 = recorder.takeCallbackP99Ms();
      if (p99 !== undefined) v.CallbackDurationP99 = p99;
      this.#lastRecorder = now;
    }

    record.close();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#monitor?.disable();
    this.#gc.disconnect();
  }
}
