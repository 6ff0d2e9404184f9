/**
 * Event-loop work without async_hooks: a watch timer. When it fires late, the loop was busy with
 * other work for that long: a stall, from the last sign of life before the timer was due (the
 * previous firing, or a request event) to now. Process CPU time tells working from blocked
 * (Atomics.wait, a synchronous syscall): it is read at every firing (a getrusage call, ~3 µs), so a
 * stall's `cpuUs` covers `cpuWindowUs`, from the firing before it to its end. Every 100 ms the timer
 * also samples loop utilization, libuv counters and process resources.
 *
 * The period stays 10 ms even when the loop idles: a longer one (50 ms while quiet was tried) saves
 * ~0.5% of a core on an idle process but puts a stall's start up to 40 ms too late.
 */
import { createHistogram, type EventLoopUtilization, performance, type RecordableHistogram } from 'node:perf_hooks';
import { memoryNow } from '../../../runtime/memory.js';
import { EV } from '../../format/schema.js';
import type { RecorderConfig } from '../config.js';
import type { Heartbeat } from '../heartbeat.js';
import type { RequestTracker } from '../requests.js';
import type { EventRing } from '../ring.js';
import type { ParkWatch } from './park.js';

/** The watch timer's period (also the runtime record's event-loop-delay resolution: see `delays`). */
export const WATCH_PERIOD_MS = 10;
const SAMPLE_MS = 100;
/** A firing later than this counts as delayed (timers are ms-granular). */
const MIN_LATE_MS = 1;
/** libuv requests (as opposed to handles), as process.getActiveResourcesInfo() names them. */
const REQUEST_RESOURCE = /Req(Wrap|Callback|Promise)?$|^(ShutdownWrap|WriteWrap|ConnectWrap|SendWrap)$/;

interface UvMetrics {
  readonly loopCount: number;
  readonly events: number;
  readonly eventsWaiting: number;
}

const uvMetrics = (): UvMetrics | undefined =>
  (performance.nodeTiming as unknown as { uvMetricsInfo?: UvMetrics }).uvMetricsInfo;

export interface LoopStats {
  stalls: number;
  loopIterations: number;
}

export class LoopWatch {
  #ring: EventRing;
  #config: RecorderConfig;
  #requests: RequestTracker;
  #onTrigger: (reason: string, valueMs: number, thresholdMs: number) => void;
  #heartbeat: Heartbeat;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** A request event since the last firing, before the timer was due: the stall began there. */
  #aliveSeen = false;
  /** A request event after the timer was due (the poll phase runs before the late timer does). */
  #aliveAfterDue = false;
  #lastFireMs = performance.now();
  #dueMs = this.#lastFireMs + WATCH_PERIOD_MS;
  #lastAliveMs = this.#lastFireMs;
  /**
   * Requests open at `#lastAliveMs` (a request event, or the last firing), where a stall starts:
   * counted when the late timer fires instead, a stall's own request had often closed by then (its
   * response went out in the same loop turn), and a 300 ms stall in a request handler showed 0.
   */
  #inFlightAtAlive = 0;
  /**
   * The most requests open after a request event since the timer was due. A request that arrived
   * just after (the poll phase runs before a late timer) may itself be what stalled the loop.
   */
  #inFlightAfterDue = 0;
  /**
   * Process CPU (user + system, µs) at `#cpuAtMs`: read at every firing, so a stall's CPU window
   * starts at most one firing (10 ms) before the stall. Read only every 100 ms, a 150 ms CPU burn was
   * measured over up to 250 ms and shown as "mostly blocked" (47% of a core in the viewer's test).
   */
  #cpuUs = 0;
  #cpuAtMs = performance.now();
  /** That reading, user and system apart (the resource sample uses it). */
  #cpu = process.cpuUsage();
  #delayMaxMs = 0;
  #lastSampleMs = this.#lastFireMs;
  #elu: EventLoopUtilization = performance.eventLoopUtilization();
  #uv: UvMetrics | undefined = uvMetrics();
  #lastResourceCpu = process.cpuUsage();
  /** Idle periods from the native addon, drained with each sample; undefined without the addon. */
  #park: ParkWatch | undefined;
  readonly stats: LoopStats = { stalls: 0, loopIterations: 0 };
  /**
   * The time between firings, ns: what `monitorEventLoopDelay()` records for its own 10 ms timer.
   * The service's runtime record reads it instead of running that second timer: two 10 ms timers
   * that never coincide woke an idle `service run` 175 times a second instead of ~110.
   */
  readonly delays: RecordableHistogram = createHistogram();

  constructor(
    ring: EventRing,
    config: RecorderConfig,
    requests: RequestTracker,
    onTrigger: (reason: string, valueMs: number, thresholdMs: number) => void,
    heartbeat: Heartbeat,
    park?: ParkWatch,
  ) {
    this.#park = park;
    this.#heartbeat = heartbeat;
    this.#ring = ring;
    this.#config = config;
    this.#requests = requests;
    this.#onTrigger = onTrigger;
  }

  start(): void {
    this.#arm();
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    // A last look: a program that ends inside a stall (synchronous work, then the loop runs dry or
    // it exits) has no late firing after it, and its trace would show only the watchdog's markers,
    // which read as a hang that never ended.
    this.#fire();
  }

  #arm(): void {
    if (this.#stopped) return;
    // refresh() re-arms the same Timeout: no allocation per firing.
    if (this.#timer !== undefined) this.#timer.refresh();
    else this.#timer = setTimeout(() => this.#fire(), WATCH_PERIOD_MS).unref();
  }

  /**
   * Something ran at `timeMs` (a request event), with `inFlight` requests open after it: if before
   * the timer was due, the stall began later, with those requests in flight through it (nothing
   * opens or closes while the loop is stuck).
   */
  alive(timeMs: number, inFlight: number): void {
    if (timeMs > this.#dueMs) {
      this.#aliveAfterDue = true;
      if (inFlight > this.#inFlightAfterDue) this.#inFlightAfterDue = inFlight;
      return;
    }
    this.#lastAliveMs = timeMs;
    this.#inFlightAtAlive = inFlight;
    this.#aliveSeen = true;
  }

  #fire(): void {
    const now = performance.now();
    this.delays.record(Math.max(1, Math.round((now - this.#lastFireMs) * 1e6)));
    this.#heartbeat.beat(now);
    const cpu = process.cpuUsage();
    const cpuUs = cpu.user + cpu.system;
    const lateMs = now - this.#dueMs;
    if (lateMs >= MIN_LATE_MS) {
      // A request event since the last firing bounds the start exactly. One just after the timer was
      // due (the poll phase runs before a late timer) means the loop was still turning then.
      const startMs = this.#aliveSeen ? this.#lastAliveMs : this.#aliveAfterDue ? this.#dueMs : this.#lastFireMs;
      // Without a request event before the timer was due, the count at the last firing held, or rose
      // with the requests that came after it was due (one of which may have stalled).
      const inFlight = this.#aliveSeen
        ? this.#inFlightAtAlive
        : Math.max(this.#inFlightAtAlive, this.#inFlightAfterDue);
      const durationMs = now - startMs;
      if (durationMs >= this.#config.stallThresholdMs) {
        this.#ring.put(
          EV.stall,
          startMs,
          durationMs * 1000,
          this.#requests.ranSince(startMs),
          inFlight,
          cpuUs - this.#cpuUs,
          (now - this.#cpuAtMs) * 1000,
          lateMs * 1000,
        );
        this.stats.stalls++;
      }
      if (lateMs > this.#delayMaxMs) this.#delayMaxMs = lateMs;
      const trigger = this.#config.triggerLoopDelayMs;
      if (trigger !== undefined && lateMs >= trigger) this.#onTrigger('loop delay', lateMs, trigger);
    }
    this.#cpu = cpu;
    this.#cpuUs = cpuUs;
    this.#cpuAtMs = now;
    this.#lastFireMs = now;
    this.#lastAliveMs = now;
    this.#inFlightAtAlive = this.#requests.openRequests;
    this.#inFlightAfterDue = 0;
    this.#aliveSeen = false;
    this.#aliveAfterDue = false;
    this.#dueMs = now + WATCH_PERIOD_MS;
    if (now - this.#lastSampleMs >= SAMPLE_MS) this.#sample(now);
    this.#arm();
    // This wake-up was the recorder's own: it does not end an idle period.
    this.#park?.own(now);
  }

  #sample(now: number): void {
    const periodMs = now - this.#lastSampleMs;
    this.#lastSampleMs = now;
    const elu = performance.eventLoopUtilization(this.#elu);
    this.#elu = performance.eventLoopUtilization();
    const uv = uvMetrics();
    const before = this.#uv;
    const loops = uv !== undefined && before !== undefined ? uv.loopCount - before.loopCount : 0;
    const events = uv !== undefined && before !== undefined ? uv.events - before.events : 0;
    this.#uv = uv;
    this.stats.loopIterations += loops;
    this.#ring.put(
      EV.loop,
      now,
      Math.round(elu.utilization * 1000),
      this.#delayMaxMs * 1000,
      loops,
      events,
      uv?.eventsWaiting ?? 0,
      periodMs * 1000,
    );
    this.#delayMaxMs = 0;
    this.#park?.sample(now, periodMs);
    if (!this.#config.resourceUsage) return;
    const total = this.#cpu;
    const cpu = { user: total.user - this.#lastResourceCpu.user, system: total.system - this.#lastResourceCpu.system };
    this.#lastResourceCpu = total;
    const memory = memoryNow();
    let handles = 0;
    let requests = 0;
    for (const resource of process.getActiveResourcesInfo()) {
      if (REQUEST_RESOURCE.test(resource)) requests++;
      else handles++;
    }
    this.#ring.put(
      EV.resources,
      now,
      cpu.user,
      cpu.system,
      memory.rss / 1024,
      memory.heapUsed / 1024,
      handles,
      requests,
    );
  }
}
