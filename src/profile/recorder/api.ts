/**
 * What application code uses: name a background task (the `dial9::spawn` analog), record a span or
 * an event, hear about sealed segments. With the recorder off each call is one check of a module
 * variable, then your function runs as it would have.
 *
 * @example
 * import { span, task } from 'service/recorder';
 * task('cache-refresh', () => refreshCache());
 * const rows = await span('app:db', 'query users', () => db.query(sql));
 */
import { performance } from 'node:perf_hooks';
import type { LogLevel } from '../../log/filter.js';
import { EV } from '../format/schema.js';
import type { Recorder, SealedHook } from './recorder.js';

export type { SealedSegmentInfo } from './protocol.js';

let active: Recorder | undefined;
const pendingHooks: SealedHook[] = [];
let nextId = 1;

/** @internal the recorder registers itself here when it starts. */
export function setActiveRecorder(recorder: Recorder | undefined): void {
  active = recorder;
  if (recorder !== undefined) for (const hook of pendingHooks.splice(0)) recorder.onSealed(hook);
}

/** The running recorder, if any. */
export function activeRecorder(): Recorder | undefined {
  return active;
}

/**
 * Task, span and mark names and targets are interned (sent to the writer once and remembered):
 * longer ones are cut, so a name built from input cannot hold megabytes in the recorder's tables.
 */
const MAX_LABEL_CHARS = 200;

/** `value` as a bounded string, whatever the caller passed (with the recorder off nothing is checked either). */
function label(value: unknown): string {
  if (typeof value === 'string' && value.length <= MAX_LABEL_CHARS) return value;
  let text: string;
  try {
    text = typeof value === 'string' ? value : String(value);
  } catch {
    return '(unnamed)';
  }
  if (text.length <= MAX_LABEL_CHARS) return text;
  // A copy, not a slice: V8 keeps a slice's whole parent string alive.
  return Buffer.from(text.slice(0, MAX_LABEL_CHARS)).toString();
}

/** `value` as a number (a bigint converted, anything unconvertible 0); the encoder clamps the range. */
function numeric(value: unknown): number {
  if (typeof value === 'number') return value;
  try {
    return typeof value === 'symbol' ? 0 : Number(value);
  } catch {
    return 0;
  }
}

/**
 * Runs `fn` as a named background task: start and end (with its duration and failure) are recorded.
 * A returned Promise ends the task when it settles, and you get a promise that settles the same way
 * (not the same object: a rejection nobody handles must still be unhandled, as with the recorder
 * off). Any other thenable is returned as is and the task ends at once: calling `then` on a lazy
 * thenable (a query builder) would run it.
 */
export function task<T>(name: string, fn: () => T): T {
  const recorder = active;
  if (recorder === undefined || recorder.closed || !recorder.config.taskTracking) return fn();
  const id = nextId++;
  const start = performance.now();
  recorder.ring.put(EV.taskStart, start, id, recorder.ring.intern(label(name)));
  const end = (failed: boolean) =>
    recorder.ring.put(EV.taskEnd, performance.now(), id, (performance.now() - start) * 1000, failed ? 1 : 0);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    end(true);
    throw err;
  }
  if (!(result instanceof Promise)) {
    end(false);
    return result;
  }
  return result.then(
    (value: unknown) => {
      end(false);
      return value;
    },
    (err: unknown) => {
      end(true);
      throw err;
    },
  ) as T;
}

/**
 * Runs `fn` inside a span of `target` (e.g. `app:db`), recorded when it ends, if the targets
 * filter (DIAL9_TARGETS) keeps `target` at `level`. Promises and other thenables as for `task`.
 */
export function span<T>(target: string, name: string, fn: () => T, level: LogLevel = 'info'): T {
  const recorder = active;
  if (recorder === undefined) return fn();
  const spanTarget = label(target);
  if (!recorder.wants(spanTarget, level)) return fn();
  const id = nextId++;
  const start = performance.now();
  const request = recorder.requests.ranSince(start);
  const end = () =>
    recorder.ring.put(
      EV.span,
      start,
      id,
      recorder.ring.intern(spanTarget),
      recorder.ring.intern(label(name)),
      (performance.now() - start) * 1000,
      request,
    );
  let result: T;
  try {
    result = fn();
  } catch (err) {
    end();
    throw err;
  }
  if (!(result instanceof Promise)) {
    end();
    return result;
  }
  return result.then(
    (value: unknown) => {
      end();
      return value;
    },
    (err: unknown) => {
      end();
      throw err;
    },
  ) as T;
}

/** Records a point event with a number, if the targets filter keeps `target` at `level`. */
export function mark(target: string, name: string, value = 0, level: LogLevel = 'info'): void {
  const recorder = active;
  if (recorder === undefined) return;
  const markTarget = label(target);
  if (!recorder.wants(markTarget, level)) return;
  recorder.ring.put(
    EV.mark,
    performance.now(),
    recorder.ring.intern(markTarget),
    recorder.ring.intern(label(name)),
    numeric(value),
  );
}

/**
 * Calls `hook` with each sealed segment (path, size, index, pinned): upload it elsewhere, then
 * keep or delete it. The last segment, sealed when recording stops, is announced too. A returned
 * promise is awaited when recording stops through `close()`: `service run`'s shutdown, the preload
 * on SIGTERM/SIGINT/SIGHUP or when the loop runs dry; on `process.exit()` only its synchronous part
 * runs (nothing asynchronous runs in 'exit'). Each wait is bounded (3 s).
 */
export function onSegmentSealed(hook: SealedHook): () => void {
  if (active !== undefined) return active.onSealed(hook);
  pendingHooks.push(hook);
  return () => {
    const i = pendingHooks.indexOf(hook);
    if (i !== -1) pendingHooks.splice(i, 1);
  };
}
