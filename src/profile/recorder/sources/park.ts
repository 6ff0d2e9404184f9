/**
 * Idle and busy periods of the loop (dial9's worker park/unpark), through the loop-park native
 * addon (native/loop-park/): libuv prepare/check handles note every park and unpark into a buffer
 * shared with JavaScript, with no JavaScript call per loop iteration. JavaScript drains it with the
 * 100 ms loop sample: an `idle` event per idle stretch of at least DIAL9_IDLE_THRESHOLD_MS, and a
 * `parks` event with the period's counts. Without the addon (not built, not loadable) the recorder
 * runs on and says why in its start-up line; nothing here throws.
 */
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { EV } from '../../format/schema.js';
import type { RecorderConfig } from '../config.js';
import type { EventRing } from '../ring.js';
import {
  ENTRY_SLOTS,
  HEADER_SLOTS,
  SLOT_DROPPED,
  SLOT_IDLE_NS,
  SLOT_OWN_NS,
  SLOT_PARKS,
  SLOT_READ,
  SLOT_WRITE,
} from './park-layout.js';

export interface ParkAddon {
  readonly headerSlots: number;
  readonly entrySlots: number;
  start(buffer: ArrayBuffer, capacity: number, thresholdNs: number, gapNs: number): boolean;
  stop(): void;
  nowMs(): number;
}

/** Where `npm run build` puts the addon (native/loop-park/build.mjs copies it there). */
export const DEFAULT_PARK_ADDON = fileURLToPath(new URL('../../../../native/loop_park.node', import.meta.url));

/**
 * Idle stretches the ring holds between drains. A stretch lasts at least the threshold (≥ 0.05 ms),
 * so 100 ms hold 2,000 at most; the drain runs every 100 ms of a turning loop.
 */
const CAPACITY = 4096;
/**
 * Loop overhead allowed around the recorder's own work for a wake-up to count as the recorder's:
 * measured 50–200 µs between the end of a poll and the next park on a busy 2-core machine for a
 * timer whose JavaScript ran 5 µs (entering JavaScript from libuv, Node's timer lists, microtasks).
 */
const OWN_WAKE_GAP_NS = 1_000_000;

export type ParkLoad = { readonly addon: ParkAddon } | { readonly reason: string };

/** Loads the addon, or says in a few words why not (for the start-up line). */
export function loadParkAddon(config: RecorderConfig): ParkLoad {
  if (!config.parkEnabled) return { reason: 'DIAL9_PARK_ENABLED=false' };
  const path = config.parkAddonPath ?? DEFAULT_PARK_ADDON;
  if (!existsSync(path))
    return {
      reason: `native addon not built: no ${path} (npm run build builds it; needs python3, make and a C compiler)`,
    };
  // require() runs a .js file and blocks forever on a FIFO: only a regular .node file is loaded.
  if (!path.endsWith('.node') || !isFile(path)) return { reason: `${path} is not a native addon (.node file)` };
  try {
    const addon = createRequire(import.meta.url)(path) as ParkAddon;
    if (addon.headerSlots !== HEADER_SLOTS || addon.entrySlots !== ENTRY_SLOTS)
      return { reason: `native addon at ${path} is of another version (rebuild with npm run build)` };
    return { addon };
  } catch (err) {
    return { reason: `native addon failed to load: ${(err as Error).message.split('\n')[0]}` };
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** performance.now() minus the addon's clock (both uv_hrtime underneath): the tightest of a few brackets. */
function calibrate(addon: ParkAddon): number {
  let best = Number.POSITIVE_INFINITY;
  let offsetMs = 0;
  for (let i = 0; i < 7; i++) {
    const before = performance.now();
    const addonMs = addon.nowMs();
    const after = performance.now();
    if (after - before < best) {
      best = after - before;
      offsetMs = (before + after) / 2 - addonMs;
    }
  }
  return offsetMs;
}

export interface ParkStats {
  parks: number;
  idlePeriods: number;
  dropped: number;
}

export class ParkWatch {
  #ring: EventRing;
  #addon: ParkAddon;
  #thresholdNs: number;
  #slots = new Float64Array(new ArrayBuffer((HEADER_SLOTS + CAPACITY * ENTRY_SLOTS) * 8));
  #offsetMs = 0;
  #running = false;
  #lastSampleMs = 0;
  #parksAt = 0;
  #idleNsAt = 0;
  #droppedAt = 0;
  #idlePeriodsAt = 0;
  readonly stats: ParkStats = { parks: 0, idlePeriods: 0, dropped: 0 };

  constructor(ring: EventRing, addon: ParkAddon, config: RecorderConfig) {
    this.#ring = ring;
    this.#addon = addon;
    this.#thresholdNs = config.idleThresholdMs * 1e6;
  }

  start(): void {
    this.#offsetMs = calibrate(this.#addon);
    this.#addon.start(this.#slots.buffer as ArrayBuffer, CAPACITY, this.#thresholdNs, OWN_WAKE_GAP_NS);
    this.#running = true;
    this.#lastSampleMs = performance.now();
  }

  /** Stops watching: the stretch still open is written if long enough, then a last `parks` sample. */
  stop(): void {
    if (!this.#running) return;
    this.#addon.stop();
    const now = performance.now();
    this.sample(now, now - this.#lastSampleMs);
    this.#running = false;
  }

  /** The recorder's own work ran from `startMs` to now: a wake-up for it alone does not end an idle stretch. */
  own(startMs: number): void {
    this.#slots[SLOT_OWN_NS] = (this.#slots[SLOT_OWN_NS] ?? 0) + (performance.now() - startMs) * 1e6;
  }

  /** With the 100 ms loop sample: the idle stretches since the last one, then the period's counts. */
  sample(nowMs: number, periodMs: number): void {
    if (!this.#running) return;
    this.#lastSampleMs = nowMs;
    this.#drain();
    const slots = this.#slots;
    const parks = slots[SLOT_PARKS] ?? 0;
    const idleNs = slots[SLOT_IDLE_NS] ?? 0;
    const dropped = slots[SLOT_DROPPED] ?? 0;
    this.#ring.put(
      EV.parks,
      nowMs,
      parks - this.#parksAt,
      (idleNs - this.#idleNsAt) / 1000,
      this.stats.idlePeriods - this.#idlePeriodsAt,
      dropped - this.#droppedAt,
      periodMs * 1000,
    );
    this.#parksAt = parks;
    this.#idleNsAt = idleNs;
    this.#droppedAt = dropped;
    this.#idlePeriodsAt = this.stats.idlePeriods;
    this.stats.parks = parks;
    this.stats.dropped = dropped;
  }

  #drain(): void {
    const slots = this.#slots;
    const written = slots[SLOT_WRITE] ?? 0;
    for (let read = slots[SLOT_READ] ?? 0; read < written; read++) {
      const at = HEADER_SLOTS + (read % CAPACITY) * ENTRY_SLOTS;
      const startMs = (slots[at] ?? 0) / 1e6 + this.#offsetMs;
      this.#ring.put(EV.idle, startMs, (slots[at + 1] ?? 0) / 1000, (slots[at + 2] ?? 0) / 1000, slots[at + 3] ?? 0);
      this.stats.idlePeriods++;
    }
    slots[SLOT_READ] = written;
  }
}
