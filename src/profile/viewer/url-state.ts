/**
 * The viewer's deep links. The URL's query holds what is needed to reopen the same view; these
 * names and meanings are a contract (docs/viewer.md, held by test/profile/viewer/url-contract.test.ts; shared by the page and the tests):
 * parameters are only ever added, never renamed or given another meaning. Unknown ones are ignored.
 */

export interface UrlState {
  /** The trace: its directory under /files/ (e.g. `traces/service.123.20261130T045935Z`). */
  trace?: string | undefined;
  /** Visible window, ms on the trace clock (the recorded process's performance.now()). */
  from?: number | undefined;
  to?: number | undefined;
  /** The selected item: `stall:<startMs>`, `gc:<startMs>` or `request:<requestId>`. */
  sel?: string | undefined;
  /** Selected range (its flamegraph), ms on the trace clock. */
  rfrom?: number | undefined;
  rto?: number | undefined;
  /** Search text. */
  q?: string | undefined;
}

/** The parameter table: name → meaning. Append only. */
export const URL_PARAMETERS = Object.freeze({
  trace: 'trace directory under /files/',
  from: 'window start, ms on the trace clock',
  to: 'window end, ms on the trace clock',
  sel: 'selection: stall:<startMs> | gc:<startMs> | request:<requestId>',
  rfrom: 'range start, ms on the trace clock',
  rto: 'range end, ms on the trace clock',
  q: 'search text',
} as const);

const NUMBERS = new Set(['from', 'to', 'rfrom', 'rto']);

export function readUrlState(search: string): UrlState {
  const params = new URLSearchParams(search);
  const state: Record<string, string | number | undefined> = {};
  for (const name of Object.keys(URL_PARAMETERS)) {
    const value = params.get(name);
    if (value === null || value === '') continue;
    if (NUMBERS.has(name)) {
      const n = Number(value);
      if (Number.isFinite(n)) state[name] = n;
    } else state[name] = value;
  }
  return state as UrlState;
}

/** Times keep µs precision: a link reopens the same pixels, not a rounded neighbour. */
export function writeUrlState(state: UrlState): string {
  const params = new URLSearchParams();
  for (const name of Object.keys(URL_PARAMETERS) as (keyof UrlState)[]) {
    const value = state[name];
    if (value === undefined || value === '') continue;
    params.set(name, typeof value === 'number' ? String(Math.round(value * 1000) / 1000) : value);
  }
  return `?${params.toString()}`;
}
