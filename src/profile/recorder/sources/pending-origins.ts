/**
 * Where pending operations were created (the task dump's "where" and "what they wait on"), opt-in
 * with DIAL9_TASK_DUMP_ENABLED. An async_hooks `init` hook remembers the creation stack of 1 in N
 * new resources, at random (timers, sockets, file and DNS requests, ...; promises are left out: they have no
 * destroy without GC tracking), `destroy` forgets it, and every dump reports what has been pending
 * longer than the threshold, grouped by type and creation stack, the most numerous first.
 *
 * The cost is bounded three ways: the sampling rate, a cap on resources remembered, and the stack
 * captured but formatted only for resources still pending at a dump. Any enabled hook also turns on
 * V8's promise hooks, which is most of the cost on a promise-heavy service (see docs/profiling.md).
 */
import { createHook } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { EV } from '../../format/schema.js';
import type { EventRing } from '../ring.js';

/** Resources remembered at most (each holds an un-formatted stack): memory stays bounded. */
const MAX_TRACKED = 10_000;
/** Frames captured per creation stack. */
const STACK_FRAMES = 24;
/** Groups (type + stack) reported per dump at most, the most numerous first. */
const MAX_GROUPS = 20;
/** Frames of the hook machinery itself: not where the resource was created. */
const HOOK_FRAME = /node:internal\/async_hooks|pending-origins\.[jt]s/;
/** A frame in Node's own code (`at f (node:...)` or `at node:...`). */
const NODE_FRAME = /\(node:|at node:/;
/** The recorder's own modules: its timers are pending by design. */
const RECORDER_FRAME = /\/profile\/recorder\//;

interface Origin {
  readonly type: string;
  readonly createdMs: number;
  /** Holds V8's captured frames; `.stack` formats them (only when still pending at a dump). */
  readonly site: { stack?: string };
}

interface Group {
  readonly type: string;
  readonly stack: string;
  count: number;
  oldestMs: number;
}

export interface PendingOriginsOptions {
  /** Remember 1 in this many new resources. */
  readonly sampleEvery: number;
  /** Report resources pending longer than this. */
  readonly thresholdMs: number;
  readonly periodMs: number;
}

export function watchPendingOrigins(ring: EventRing, options: PendingOriginsOptions): () => void {
  const tracked = new Map<number, Origin>();
  const rate = 1 / options.sampleEvery;
  const init = (asyncId: number, type: string): void => {
    // At random, not every Nth: resources are often created in fixed patterns (a socket, then its
    // connect request, ...) that a counter would alias with, never sampling one of them.
    if (type === 'PROMISE' || Math.random() >= rate || tracked.size >= MAX_TRACKED) return;
    const site: { stack?: string } = {};
    // Node's own frames (net, timers, streams) would use up the default 10 before the caller's.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = STACK_FRAMES;
    Error.captureStackTrace(site, init);
    Error.stackTraceLimit = limit;
    tracked.set(asyncId, { type, createdMs: performance.now(), site });
  };
  const hook = createHook({ init, destroy: (asyncId) => tracked.delete(asyncId) });

  const dump = (): void => {
    const now = performance.now();
    const groups = new Map<string, Group>();
    for (const origin of tracked.values()) {
      if (now - origin.createdMs < options.thresholdMs) continue;
      const stack = (origin.site.stack ?? '')
        .split('\n')
        .slice(1)
        .filter((line) => !HOOK_FRAME.test(line));
      const caller = stack.find((line) => !NODE_FRAME.test(line));
      if (caller !== undefined && RECORDER_FRAME.test(caller)) continue;
      const text = stack.join('\n');
      const key = `${origin.type}\n${text}`;
      const group = groups.get(key);
      if (group === undefined)
        groups.set(key, { type: origin.type, stack: text, count: 1, oldestMs: origin.createdMs });
      else {
        group.count++;
        if (origin.createdMs < group.oldestMs) group.oldestMs = origin.createdMs;
      }
    }
    const top = [...groups.values()].sort((a, b) => b.count - a.count).slice(0, MAX_GROUPS);
    for (const g of top)
      ring.put(EV.pendingOrigin, now, ring.intern(g.type), ring.intern(g.stack), g.count, (now - g.oldestMs) * 1000);
  };
  const timer = setInterval(dump, options.periodMs);
  timer.unref();
  hook.enable();
  return () => {
    clearInterval(timer);
    hook.disable();
    tracked.clear();
  };
}
