/**
 * V8's sampling profilers through an in-process inspector session: CPU samples (handed to the
 * writer thread every 10 s, which maps their timestamps onto the trace clock) and sampled heap
 * allocations. A session from a worker (`connectToMainThread`) was tried first: on Node 20,
 * `Profiler.start` sent from a worker never answers, so the session lives here.
 *
 * The CPU profile is never restarted from cold. Starting V8's profiler while none runs logs every
 * compiled function (130–250 ms of main-thread pause measured with fastify loaded; it was most of
 * CPU sampling's cost when the profile was stopped and started every 30 s). Two profiles take turns
 * instead, the protocol's (`Profiler.start`/`stop`) and a console one (`console.profile`, reported by
 * `Profiler.consoleProfileFinished`): the next starts before the previous stops, so the profiler
 * keeps running across the hand-over, which then costs under a millisecond.
 */
import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';
import type { RecorderConfig } from '../config.js';
import type { CpuProfile, HeapProfileNode, ToWriter } from '../protocol.js';

/** Samples are handed to the writer this often (a `kill -9` loses at most this much of them). */
const CPU_PROFILE_PERIOD_MS = 10_000;
const HEAP_PROFILE_PERIOD_MS = 10_000;
/** Title of the recorder's console profile (the user's own console profiles have theirs). */
const CONSOLE_PROFILE = 'dial9-recorder';

export class Profilers {
  #session: Session | undefined;
  #timers: NodeJS.Timeout[] = [];
  #post: (message: ToWriter) => void;
  #config: RecorderConfig;
  #onError: (message: string) => void;
  /** Which of the two CPU profiles is running: the protocol's or the console one. */
  #running: 'protocol' | 'console' | undefined;

  constructor(config: RecorderConfig, post: (message: ToWriter) => void, onError: (message: string) => void) {
    this.#config = config;
    this.#post = post;
    this.#onError = onError;
  }

  start(): void {
    if (!this.#config.cpuProfile && !this.#config.memoryProfile) return;
    try {
      this.#session = new Session();
      this.#session.connect();
    } catch (err) {
      // Another inspector client (a debugger) may already own the profiler.
      this.#onError(`cannot open an inspector session for profiling: ${(err as Error).message}`);
      this.#session = undefined;
      return;
    }
    if (this.#config.cpuProfile) {
      const intervalUs = Math.max(1, Math.round(1e6 / this.#config.cpuSampleHz));
      this.#session.on('Profiler.consoleProfileFinished', (message) => {
        const { title, profile } = message.params as { title?: string; profile: CpuProfile };
        if (title === CONSOLE_PROFILE) this.#post({ op: 'cpu-profile', profile });
      });
      this.#call('Profiler.enable');
      this.#call('Profiler.setSamplingInterval', { interval: intervalUs });
      this.#call('Profiler.start');
      this.#running = 'protocol';
      this.#every(CPU_PROFILE_PERIOD_MS, () => this.handOverCpu());
    }
    if (this.#config.memoryProfile) {
      this.#call('HeapProfiler.enable');
      this.#call('HeapProfiler.startSampling', { samplingInterval: this.#config.memorySampleRateBytes });
      this.#every(HEAP_PROFILE_PERIOD_MS, () => this.#collectHeap());
    }
  }

  /** Collects what is pending (the last profile) and closes the session. */
  stop(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    if (this.#session === undefined) return;
    if (this.#config.cpuProfile) this.#collectCpu(false);
    if (this.#config.memoryProfile) this.#collectHeap();
    this.#session.disconnect();
    this.#session = undefined;
  }

  #every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.#timers.push(timer);
  }

  /** In-process inspector calls answer synchronously: the callback runs before post() returns. */
  #call<T>(method: string, params?: object): T | undefined {
    let result: T | undefined;
    this.#session?.post(method, params ?? {}, (err, value) => {
      if (err !== null) this.#onError(`${method} failed: ${err.message}`);
      else result = value as T;
    });
    return result;
  }

  /** Hands the CPU samples so far to the writer, the other profile taking over first (the timer calls it). */
  handOverCpu(): void {
    this.#collectCpu(true);
  }

  /** Hands the running profile to the writer; with `next`, the other one starts first. */
  #collectCpu(next: boolean): void {
    if (this.#running === 'protocol') {
      if (next) {
        console.profile(CONSOLE_PROFILE);
        this.#running = 'console';
      } else this.#running = undefined;
      const result = this.#call<{ profile: CpuProfile }>('Profiler.stop');
      if (result !== undefined) this.#post({ op: 'cpu-profile', profile: result.profile });
    } else if (this.#running === 'console') {
      if (next) {
        this.#call('Profiler.start');
        this.#running = 'protocol';
      } else this.#running = undefined;
      // Its profile comes as Profiler.consoleProfileFinished (synchronously, in-process).
      console.profileEnd(CONSOLE_PROFILE);
    }
  }

  #collectHeap(): void {
    const result = this.#call<{ profile: { head: HeapProfileNode } }>('HeapProfiler.getSamplingProfile');
    if (result !== undefined) this.#post({ op: 'heap-profile', head: result.profile.head, timeMs: performance.now() });
  }
}
