/**
 * V8's sampling profilers through an in-process inspector session: CPU samples (restarted every
 * 30 s, each profile handed to the writer thread, which maps its timestamps onto the trace clock)
 * and sampled heap allocations. A session from a worker (`connectToMainThread`) was tried first:
 * on Node 20, `Profiler.start` sent from a worker never answers, so the session lives here.
 */
import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';
import type { RecorderConfig } from '../config.js';
import type { CpuProfile, HeapProfileNode, ToWriter } from '../protocol.js';

/**
 * A CPU profile is collected and restarted this often. Each restart pauses the main thread: `start`
 * logs every compiled function (measured 90–200 ms under load on a busy 2-core machine with fastify
 * loaded) and `stop` builds the profile (40–180 ms). At 5 s that was most of CPU sampling's cost; at
 * 30 s it is a sixth of it, and samples reach the trace up to 30 s late (a `kill -9` loses them).
 */
const CPU_PROFILE_PERIOD_MS = 30_000;
const HEAP_PROFILE_PERIOD_MS = 10_000;

export class Profilers {
  #session: Session | undefined;
  #timers: NodeJS.Timeout[] = [];
  #post: (message: ToWriter) => void;
  #config: RecorderConfig;
  #onError: (message: string) => void;

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
      this.#call('Profiler.enable');
      this.#call('Profiler.setSamplingInterval', { interval: intervalUs });
      this.#call('Profiler.start');
      this.#every(CPU_PROFILE_PERIOD_MS, () => this.#collectCpu(true));
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

  #collectCpu(restart: boolean): void {
    const result = this.#call<{ profile: CpuProfile }>('Profiler.stop');
    if (restart) this.#call('Profiler.start');
    if (result !== undefined) this.#post({ op: 'cpu-profile', profile: result.profile });
  }

  #collectHeap(): void {
    const result = this.#call<{ profile: { head: HeapProfileNode } }>('HeapProfiler.getSamplingProfile');
    if (result !== undefined) this.#post({ op: 'heap-profile', head: result.profile.head, timeMs: performance.now() });
  }
}
