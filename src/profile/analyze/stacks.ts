/**
 * CPU samples and their stacks across segments. Stack ids are per segment, so each stack is
 * re-interned into one table for the whole trace (frames by function, file, line; a stack is a frame
 * on top of its parent stack). Samples are kept as two growing typed arrays (time, stack): at 99 Hz a
 * 10-minute trace holds ~60,000, 0.7 MB. `sitesIn(from, to)` answers "what code ran in this window".
 */
import type { DecodedSegment } from '../format/index.js';
import { GrowingF64, GrowingI32 } from './growing.js';
import type { Frame } from './types.js';

/** Frames that are the runtime, a dependency or the recorder itself rather than the program. */
export function isAppFrame(frame: Frame): boolean {
  const { url } = frame;
  // V8's own entries ("(garbage collector)", "(program)", "(root)") have no script. An anonymous
  // function of a script, shown as "(anonymous)", is the program's code like any other.
  if (url === '') return false;
  if (url.startsWith('node:') || url.includes('/node_modules/')) return false;
  return !url.includes('/profile/recorder/');
}

/** Where the event loop blocks: roots of work that no request asked for. */
const BACKGROUND_ROOTS = new Set(['listOnTimeout', 'processTimers', 'processImmediate']);
/** Frames of a request being served (node:http, fastify). */
const REQUEST_FRAME = /^node:_http_server$|\/fastify\/lib\//;

export function frameLabel(frame: Frame): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  const file = frame.url.replace(/^file:\/\//, '');
  return `${name} ${file}:${frame.line}`;
}

export interface SiteSummary {
  /** `functionName file:line` of the top app frame (or the leaf when no app frame ran). */
  site: string;
  /** Leaf first, from the site frame down to the root (runtime frames left out when app frames exist). */
  stack: Frame[];
  samples: number;
  /** Samples in the window. */
  total: number;
  /** The site's samples came from a timer or setImmediate with no request being served. */
  background: boolean;
}

const MAX_FRAMES = 10;
/** Share of a window's samples from which an app frame is its site even when GC or the runtime has more. */
const APP_SITE_SHARE = 0.2;
const MAX_DEPTH = 256;

export class StackStore {
  readonly frames: Frame[] = [];
  #frameIds = new Map<string, number>();
  /** Per global stack id: its frame and parent stack (0 none). Index 0 unused. */
  #stackFrame: number[] = [0];
  #stackParent: number[] = [0];
  #stackIds = new Map<string, number>();
  /** The top app frame's stack id per stack (0 = none yet computed), cached. */
  #siteCache = new Map<number, number>();
  readonly sampleTime = new GrowingF64();
  readonly sampleStack = new GrowingI32();
  #sorted = true;

  /** Adds the segment's cpuSample events. */
  addSamples(segment: DecodedSegment): void {
    const columns = segment.events.cpuSample;
    if (columns === undefined) return;
    const stackField = columns.fields.stack as Float64Array;
    const memo = new Map<number, number>();
    const last = this.sampleTime.length > 0 ? this.sampleTime.at(this.sampleTime.length - 1) : -Infinity;
    let previous = last;
    for (let i = 0; i < columns.count; i++) {
      const time = columns.time[i] as number;
      if (time < previous) this.#sorted = false;
      previous = time;
      this.sampleTime.push(time);
      this.sampleStack.push(this.#intern(segment, stackField[i] as number, memo));
    }
  }

  get sampleCount(): number {
    return this.sampleTime.length;
  }

  /** The frames of a global stack, leaf first. */
  framesOf(stackId: number): Frame[] {
    const out: Frame[] = [];
    for (let id = stackId, n = 0; id > 0 && n < MAX_DEPTH; id = this.#stackParent[id] as number, n++)
      out.push(this.frames[this.#stackFrame[id] as number] as Frame);
    return out;
  }

  /** What ran between `fromUs` and `toUs`: the commonest top app frame, with its commonest stack. */
  sitesIn(fromUs: number, toUs: number): SiteSummary | undefined {
    this.#sort();
    const times = this.sampleTime.view();
    const stacks = this.sampleStack.view();
    let i = lowerBound(times, fromUs);
    const bySite = new Map<number, Map<number, number>>();
    let total = 0;
    for (; i < times.length && (times[i] as number) <= toUs; i++) {
      const stack = stacks[i] as number;
      const site = this.#siteOf(stack);
      let stacksOfSite = bySite.get(site);
      if (stacksOfSite === undefined) {
        stacksOfSite = new Map();
        bySite.set(site, stacksOfSite);
      }
      stacksOfSite.set(stack, (stacksOfSite.get(stack) ?? 0) + 1);
      total++;
    }
    if (total === 0) return undefined;
    // The commonest site, but code of the program wins over GC or the runtime when it holds a
    // fair share of the window: that is the code to change.
    let best: [number, Map<number, number>, number] | undefined;
    let bestApp: [number, Map<number, number>, number] | undefined;
    for (const [site, counts] of bySite) {
      let n = 0;
      for (const c of counts.values()) n += c;
      if (best === undefined || n > best[2]) best = [site, counts, n];
      const frame = this.frames[this.#stackFrame[site] as number];
      if (frame !== undefined && isAppFrame(frame) && (bestApp === undefined || n > bestApp[2]))
        bestApp = [site, counts, n];
    }
    if (bestApp !== undefined && bestApp[2] >= total * APP_SITE_SHARE) best = bestApp;
    if (best === undefined) return undefined;
    const [site, counts, samples] = best;
    let bestStack = site;
    let bestCount = -1;
    for (const [stack, count] of counts) {
      if (count > bestCount) [bestStack, bestCount] = [stack, count];
    }
    const full = this.framesOf(bestStack);
    const siteFrames = this.framesOf(site);
    const top = siteFrames[0];
    const hasApp = siteFrames.some(isAppFrame);
    const stack = (hasApp ? siteFrames.filter((f) => !f.url.startsWith('node:')) : siteFrames).slice(0, MAX_FRAMES);
    const names = full.map((f) => f.functionName);
    const background = names.some((n) => BACKGROUND_ROOTS.has(n)) && !full.some((f) => REQUEST_FRAME.test(f.url));
    return {
      site: top === undefined ? 'unknown' : frameLabel(top),
      stack: stack.map((f) => ({ ...f })),
      samples,
      total,
      background,
    };
  }

  /** The stack cut at its top app frame (or the stack itself when it has none). */
  #siteOf(stack: number): number {
    const cached = this.#siteCache.get(stack);
    if (cached !== undefined) return cached;
    let site = stack;
    for (let id = stack, n = 0; id > 0 && n < MAX_DEPTH; id = this.#stackParent[id] as number, n++) {
      if (isAppFrame(this.frames[this.#stackFrame[id] as number] as Frame)) {
        site = id;
        break;
      }
    }
    this.#siteCache.set(stack, site);
    return site;
  }

  #intern(segment: DecodedSegment, localId: number, memo: Map<number, number>): number {
    if (localId <= 0) return 0;
    const known = memo.get(localId);
    if (known !== undefined) return known;
    const { stacks, strings } = segment;
    const parent = this.#intern(segment, stacks.parent[localId] ?? 0, memo);
    const frame: Frame = {
      functionName: strings[stacks.functionName[localId] ?? 0] ?? '',
      url: strings[stacks.url[localId] ?? 0] ?? '',
      line: stacks.line[localId] ?? 0,
      column: stacks.column[localId] ?? 0,
    };
    const frameKey = `${frame.functionName}\u0000${frame.url}\u0000${frame.line}\u0000${frame.column}`;
    let frameId = this.#frameIds.get(frameKey);
    if (frameId === undefined) {
      frameId = this.frames.length;
      this.frames.push(frame);
      this.#frameIds.set(frameKey, frameId);
    }
    const stackKey = `${frameId}:${parent}`;
    let id = this.#stackIds.get(stackKey);
    if (id === undefined) {
      id = this.#stackFrame.length;
      this.#stackFrame.push(frameId);
      this.#stackParent.push(parent);
      this.#stackIds.set(stackKey, id);
    }
    memo.set(localId, id);
    return id;
  }

  #sort(): void {
    if (this.#sorted) return;
    const times = this.sampleTime.view();
    const stacks = this.sampleStack.view();
    const order = Array.from({ length: times.length }, (_, i) => i).sort(
      (a, b) => (times[a] as number) - (times[b] as number),
    );
    const t = Float64Array.from(order, (i) => times[i] as number);
    const s = Int32Array.from(order, (i) => stacks[i] as number);
    this.sampleTime.replace(t);
    this.sampleStack.replace(s);
    this.#sorted = true;
  }
}

/** First index whose value is >= `value` in an ascending array. */
export function lowerBound(values: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
