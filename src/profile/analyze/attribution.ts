/**
 * Who a stall ran for, and what code it ran. The recorder names the request that had an event
 * during the stall, which may be one that merely closed right after it (its timer was due while
 * another callback held the loop). Two stronger signals come first: CPU samples whose stacks start
 * in a timer or setImmediate with no request being served (background work: nobody's request), and
 * a request that opened at the very instant the stall began (the recorder starts a stall at a
 * request event, so that request's own handler ran).
 */
import type { Req, Stall } from './model.js';
import type { SiteSummary, StackStore } from './stacks.js';

/** The recorder writes µs integers: a request event "at" the stall start is within this. */
const SAME_INSTANT_US = 50;

export interface StallView {
  readonly stall: Stall;
  readonly sites: SiteSummary | undefined;
  /** The request whose code ran in it; undefined for background work or when unknown. */
  readonly ranFor: Req | undefined;
  /** Where the time went: top app frame, else the operation it ran for, else `unknown`. */
  readonly site: string;
  readonly blocked: boolean;
}

/** cpuUs / cpuWindowUs under this: the thread waited (Atomics.wait, sync I/O) rather than worked. */
export const BLOCKED_CPU_SHARE = 0.3;

export function viewStall(stall: Stall, stacks: StackStore): StallView {
  const sites = stacks.sitesIn(stall.startUs, stall.endUs);
  let ranFor: Req | undefined;
  if (sites?.background !== true) {
    ranFor =
      stall.overlapping.find((req) => Math.abs(req.startUs - stall.startUs) <= SAME_INSTANT_US && isOwnOpen(req)) ??
      stall.requestRef;
  }
  const site =
    sites?.site ?? (ranFor !== undefined ? `${ranFor.operation} (no CPU samples)` : 'unknown (no CPU samples)');
  const blocked = stall.cpuWindowUs > 0 && cpuShare(stall) < BLOCKED_CPU_SHARE;
  return { stall, sites, ranFor, site, blocked };
}

/** The request's recorded start is its open event (not rebuilt from a duration of 0). */
function isOwnOpen(req: Req): boolean {
  return req.requestId !== '' && req.operation !== 'unknown';
}

/** Memoizes views: findings and breakdowns ask about the same stalls. */
export class StallViews {
  readonly #views = new Map<Stall, StallView>();
  readonly #stacks: StackStore;

  constructor(stacks: StackStore) {
    this.#stacks = stacks;
  }

  of(stall: Stall): StallView {
    let view = this.#views.get(stall);
    if (view === undefined) {
      view = viewStall(stall, this.#stacks);
      this.#views.set(stall, view);
    }
    return view;
  }
}

/**
 * The stall's share of CPU, at most: the CPU was read over a window that may start before the
 * stall, so all of it is assumed to fall inside the stall (an upper bound; a low value is a sure wait).
 */
export function cpuShare(stall: Stall): number {
  if (stall.durationUs <= 0) return 1;
  return Math.min(1, stall.cpuUs / stall.durationUs);
}
