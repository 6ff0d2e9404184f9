/**
 * The flight recorder's settings, from `DIAL9_*` environment variables only, parsed leniently as
 * dial9 does: a bad value gives one warning (variable, value, what is allowed) and counts as
 * unset. A bad trace config must never take the service down, so nothing here throws.
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type LogFilter, parseLogFilter } from '../../log/filter.js';

export interface RecorderConfig {
  readonly enabled: boolean;
  readonly traceDir: string;
  readonly rotationSecs: number;
  readonly maxDiskUsageBytes: number;
  readonly maxFileSizeBytes: number;
  /** Named background tasks and custom spans from the API. */
  readonly taskTracking: boolean;
  readonly cpuProfile: boolean;
  readonly cpuSampleHz: number;
  readonly taskDump: boolean;
  readonly taskDumpIdleThresholdMs: number;
  /** The task dump remembers the creation stack of 1 in this many new resources. */
  readonly taskDumpSampleEvery: number;
  readonly memoryProfile: boolean;
  readonly memorySampleRateBytes: number;
  readonly resourceUsage: boolean;
  readonly serviceName: string;
  /** Main-thread work longer than this is recorded as a stall. */
  readonly stallThresholdMs: number;
  /**
   * Requests that were fast (under the stall threshold) and did not fail are written one by one up
   * to this many a second; past it they are counted instead (`requestsSkipped`). 0: every request.
   */
  readonly requestEventsPerSec: number;
  /** Per-callback tracking through async_hooks (costly; opt-in). */
  readonly callbackTracking: boolean;
  /** When > 0, callback tracking turns itself off after this many seconds (a burst). */
  readonly callbackTrackingSecs: number;
  /** Pin segments when the event loop is this late (ms); undefined: off. */
  readonly triggerLoopDelayMs: number | undefined;
  /** Pin segments when the p99 request duration over a second is above this (ms); undefined: off. */
  readonly triggerRequestP99Ms: number | undefined;
  /** Idle and busy periods through the loop-park native addon (when it loads). */
  readonly parkEnabled: boolean;
  /** An idle stretch of the loop at least this long (ms) is one `idle` event. */
  readonly idleThresholdMs: number;
  /** Where the addon is loaded from; undefined: where `npm run build` puts it. */
  readonly parkAddonPath: string | undefined;
  /** Which spans and library events are kept, per target (the seed's `Targets`). */
  readonly targets: LogFilter;
  /** Variables that are read but mean nothing in Node, with why (for the start-up line). */
  readonly notApplicable: Readonly<Record<string, string>>;
}

export interface ParsedRecorderConfig {
  readonly config: RecorderConfig;
  /** One line per bad value. */
  readonly warnings: readonly string[];
}

const MB = 1024 * 1024;
const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);
const BOOLEAN_ALLOWED = 'true/false/1/0/yes/no/on/off';
export const DEFAULT_TARGETS = 'error,service=trace,app=trace,undici=info,http=info';

/** dial9's variables with no meaning in a Node process, and what to use instead. */
const NOT_APPLICABLE: Readonly<Record<string, string>> = {
  DIAL9_SCHEDULE_PROFILE_ENABLED:
    'Node has no kernel off-CPU stacks; stalls carry cpuUs (process CPU during the stall) as the blocked proxy',
  DIAL9_S3_BUCKET: 'no built-in upload; hand sealed segments to your code with onSegmentSealed()',
  DIAL9_S3_PREFIX: 'no built-in upload; hand sealed segments to your code with onSegmentSealed()',
};

type Env = Readonly<Record<string, string | undefined>>;

/** The service name goes into the per-process directory's name: no `/`, no `..`, no overlong name. */
const SAFE_FILE_NAME = /^[A-Za-z0-9._-]{1,64}$/;

class Reader {
  readonly warnings: string[] = [];
  /** Every variable asked for: the DIAL9_* names this version knows. */
  readonly known = new Set<string>();
  constructor(private readonly env: Env) {}

  #raw(name: string): string | undefined {
    this.known.add(name);
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  #warn(name: string, value: string, allowed: string): undefined {
    this.warnings.push(`${name}=${JSON.stringify(value)} is not valid (allowed: ${allowed}); treated as unset`);
    return undefined;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.#raw(name);
    if (value === undefined) return fallback;
    const lower = value.toLowerCase();
    if (TRUE.has(lower)) return true;
    if (FALSE.has(lower)) return false;
    return this.#warn(name, value, BOOLEAN_ALLOWED) ?? fallback;
  }

  /** A number in [min, max]; `integer` rejects fractions. */
  number(name: string, fallback: number, min: number, max: number, integer?: boolean): number;
  number(name: string, fallback: undefined, min: number, max: number, integer?: boolean): number | undefined;
  number(name: string, fallback: number | undefined, min: number, max: number, integer = false): number | undefined {
    const value = this.#raw(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    const ok = /^[0-9]+(\.[0-9]+)?$/.test(value) && Number.isFinite(n) && n >= min && n <= max;
    if (ok && (!integer || Number.isInteger(n))) return n;
    return this.#warn(name, value, `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`) ?? fallback;
  }

  string(name: string, fallback: string): string {
    return this.#raw(name) ?? fallback;
  }

  /** A name that becomes part of a directory name: letters, digits, `.`, `_`, `-`; no path of its own. */
  fileName(name: string, fallback: string): string {
    const value = this.#raw(name);
    if (value === undefined) return fallback;
    if (SAFE_FILE_NAME.test(value) && value !== '.' && value !== '..') return value;
    return this.#warn(name, value, 'up to 64 letters, digits, ".", "_" or "-"') ?? fallback;
  }

  targets(name: string): LogFilter {
    const value = this.#raw(name);
    if (value !== undefined) {
      try {
        return parseLogFilter(value);
      } catch (err) {
        this.#warn(name, value, `directives like "${DEFAULT_TARGETS}" (${(err as Error).message})`);
      }
    }
    return parseLogFilter(DEFAULT_TARGETS);
  }
}

/** Where traces go when DIAL9_TRACE_DIR is unset (or unusable). */
export function defaultTraceDir(): string {
  return join(tmpdir(), 'dial9-traces');
}

/** SERVICE_NAME (the service's own setting) when it can be part of a directory name, else `service`. */
function safeServiceName(value: string | undefined): string {
  const name = value?.trim() ?? '';
  return SAFE_FILE_NAME.test(name) && name !== '.' && name !== '..' ? name : 'service';
}

/** Reads the recorder's settings from `env` (default: `process.env`). Never throws. */
export function recorderConfigFromEnv(env: Env = process.env): ParsedRecorderConfig {
  const r = new Reader(env);
  const enabled = r.bool('DIAL9_ENABLED', false);
  const maxDiskUsageMb = r.number('DIAL9_MAX_DISK_USAGE_MB', 1024, 0.01, 1024 * 1024);
  const maxFileSizeMb = r.number('DIAL9_MAX_FILE_SIZE_MB', Math.min(100, maxDiskUsageMb / 4), 0.001, 1024 * 1024);
  const notApplicable: Record<string, string> = {};
  for (const [name, why] of Object.entries(NOT_APPLICABLE)) if (r.string(name, '') !== '') notApplicable[name] = why;
  const config: RecorderConfig = {
    enabled,
    // Absolute from the start: a program that later calls process.chdir() must not move its trace.
    traceDir: resolve(r.string('DIAL9_TRACE_DIR', defaultTraceDir())),
    rotationSecs: r.number('DIAL9_ROTATION_SECS', 60, 0.1, 7 * 24 * 3600),
    maxDiskUsageBytes: Math.round(maxDiskUsageMb * MB),
    // At most half the budget: the newest sealed segment and the active one fit together, so making
    // room for the next segment does not take the one just sealed (its hook may still be reading it).
    maxFileSizeBytes: Math.round(Math.min(maxFileSizeMb, maxDiskUsageMb / 2) * MB),
    taskTracking: r.bool('DIAL9_TASK_TRACKING_ENABLED', true),
    cpuProfile: r.bool('DIAL9_CPU_PROFILE_ENABLED', false),
    cpuSampleHz: r.number('DIAL9_CPU_SAMPLE_HZ', 99, 1, 10_000, true),
    taskDump: r.bool('DIAL9_TASK_DUMP_ENABLED', false),
    taskDumpIdleThresholdMs: r.number('DIAL9_TASK_DUMP_IDLE_THRESHOLD_MS', 10, 1, 3_600_000),
    taskDumpSampleEvery: r.number('DIAL9_TASK_DUMP_SAMPLE_EVERY', 16, 1, 1_000_000, true),
    memoryProfile: r.bool('DIAL9_MEMORY_PROFILE_ENABLED', false),
    // From 1 KiB: a sample every few bytes made an allocating program ~100x slower.
    memorySampleRateBytes: r.number('DIAL9_MEMORY_SAMPLE_RATE_BYTES', 524_288, 1024, 2 ** 40, true),
    resourceUsage: r.bool('DIAL9_PROCESS_RESOURCE_USAGE_ENABLED', true),
    serviceName: r.fileName('DIAL9_SERVICE_NAME', safeServiceName(env.SERVICE_NAME)),
    stallThresholdMs: r.number('DIAL9_STALL_THRESHOLD_MS', 20, 1, 60_000),
    requestEventsPerSec: r.number('DIAL9_REQUEST_EVENTS_PER_SEC', 0, 0, 1_000_000_000, true),
    callbackTracking: r.bool('DIAL9_CALLBACK_TRACKING_ENABLED', false),
    callbackTrackingSecs: r.number('DIAL9_CALLBACK_TRACKING_SECS', 0, 0, 7 * 24 * 3600),
    triggerLoopDelayMs: r.number('DIAL9_TRIGGER_LOOP_DELAY_MS', undefined, 1, 3_600_000),
    triggerRequestP99Ms: r.number('DIAL9_TRIGGER_REQUEST_P99_MS', undefined, 1, 3_600_000),
    parkEnabled: r.bool('DIAL9_PARK_ENABLED', true),
    idleThresholdMs: r.number('DIAL9_IDLE_THRESHOLD_MS', 1, 0.05, 60_000),
    parkAddonPath: r.string('DIAL9_PARK_ADDON', '') || undefined,
    targets: r.targets('DIAL9_TARGETS'),
    notApplicable,
  };
  return { config: Object.freeze(config), warnings: [...r.warnings, ...misspelled(env, r.known, enabled)] };
}

/**
 * A misspelt variable (`DIAL9_ENABLE=true`) would otherwise be ignored without a word, and a trace
 * config that looks right but records nothing is what dial9's users found hardest to notice. So:
 * one warning per DIAL9_* name this version does not know (with the nearest known one), and one when
 * DIAL9_* settings are given but DIAL9_ENABLED is not (explicitly false is a choice: no warning).
 */
function misspelled(env: Env, known: ReadonlySet<string>, enabled: boolean): string[] {
  const warnings: string[] = [];
  const given = Object.keys(env)
    .filter((name) => name.startsWith('DIAL9_') && (env[name]?.trim() ?? '') !== '')
    .sort();
  for (const name of given) {
    if (known.has(name)) continue;
    const nearest = nearestName(name, known);
    warnings.push(
      `${name} is not a flight recorder variable${nearest === undefined ? '' : ` (did you mean ${nearest}?)`}; ignored (every variable: docs/profiling.md)`,
    );
  }
  const settings = given.filter((name) => name !== 'DIAL9_ENABLED' && known.has(name));
  if (!enabled && (env.DIAL9_ENABLED?.trim() ?? '') === '' && settings.length > 0)
    warnings.push(
      `${settings.join(', ')} ${settings.length === 1 ? 'is' : 'are'} set but DIAL9_ENABLED is not: the flight recorder is off (set DIAL9_ENABLED=true to record)`,
    );
  return warnings;
}

/**
 * The known name within 3 edits of `name` (the closest), else the shortest that extends it (a suffix
 * left off: DIAL9_CPU_PROFILE for DIAL9_CPU_PROFILE_ENABLED), if any.
 */
function nearestName(name: string, known: ReadonlySet<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best !== undefined) return best;
  for (const candidate of known)
    if (candidate.startsWith(`${name}_`) && (best === undefined || candidate.length < best.length)) best = candidate;
  return best;
}

/** Levenshtein distance, one row at a time (names are short). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((previous[j] as number) + 1, (row[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
    }
    previous = row;
  }
  return previous[b.length] as number;
}

/** What is recorded, and what is off and why: the start-up line and each file's metadata. */
export interface RecordingSummary {
  readonly summary: string;
  readonly on: readonly string[];
  readonly off: Readonly<Record<string, string>>;
}

/**
 * `parkOff`: why idle/busy periods are not recorded (the addon did not load), undefined when they
 * are; the recorder knows only once it tried to load the addon.
 */
export function describeRecording(config: RecorderConfig, dir: string, parkOff?: string): RecordingSummary {
  const http =
    config.requestEventsPerSec === 0
      ? 'HTTP in and out (every request served)'
      : `HTTP in and out (requests served: past ${config.requestEventsPerSec}/s, the fast and successful ones counted, not written one by one)`;
  const on = [`stalls over ${config.stallThresholdMs} ms`, 'event loop', 'GC', http];
  const off: Record<string, string> = {};
  if (parkOff === undefined && config.parkEnabled)
    on.push(`park/unpark (idle periods of ${config.idleThresholdMs} ms and more)`);
  else off['park/unpark'] = parkOff ?? 'DIAL9_PARK_ENABLED=false';
  if (config.resourceUsage) on.push('resources every 100 ms');
  else off.resources = 'DIAL9_PROCESS_RESOURCE_USAGE_ENABLED=false';
  if (config.cpuProfile) on.push(`CPU samples at ${config.cpuSampleHz} Hz`);
  else off.cpuSamples = 'DIAL9_CPU_PROFILE_ENABLED is not true (costs ~2-6% at 99 Hz)';
  if (config.memoryProfile) on.push(`heap samples every ${config.memorySampleRateBytes} bytes`);
  else off.heapSamples = 'DIAL9_MEMORY_PROFILE_ENABLED is not true';
  if (config.taskDump)
    on.push(
      `pending operations, with the creation stack of 1 in ${config.taskDumpSampleEvery} (async_hooks init, costly)`,
    );
  else off.pendingOperations = 'DIAL9_TASK_DUMP_ENABLED is not true';
  if (config.taskTracking) on.push(`tasks and spans (targets ${config.targets.source})`);
  else off.tasks = 'DIAL9_TASK_TRACKING_ENABLED=false';
  if (config.callbackTracking)
    on.push(
      `every callback${config.callbackTrackingSecs > 0 ? ` for ${config.callbackTrackingSecs} s` : ''} (async_hooks, costly)`,
    );
  else off.callbacks = 'DIAL9_CALLBACK_TRACKING_ENABLED is not true (async_hooks costs ~12%)';
  const triggers: string[] = [];
  if (config.triggerLoopDelayMs !== undefined) triggers.push(`loop delay > ${config.triggerLoopDelayMs} ms`);
  if (config.triggerRequestP99Ms !== undefined) triggers.push(`request p99 > ${config.triggerRequestP99Ms} ms`);
  if (triggers.length > 0) on.push(`trigger on ${triggers.join(' or ')}`);
  else off.trigger = 'no DIAL9_TRIGGER_* threshold set';
  Object.assign(off, config.notApplicable);
  const budget = `segments of ${config.rotationSecs} s or ${(config.maxFileSizeBytes / MB).toFixed(1)} MB, ${(config.maxDiskUsageBytes / MB).toFixed(1)} MB on disk at most`;
  const offText = Object.entries(off)
    .map(([what, why]) => `${what} (${why})`)
    .join(', ');
  const summary = `flight recorder on: ${on.join(', ')}; writing to ${dir} (${budget}); off: ${offText || 'nothing'}`;
  return { summary, on, off };
}
