/**
 * What a Chrome trace-event importer (Perfetto, DevTools) needs of a file, checked independently of
 * the exporter: the fields each phase requires, complete events nesting on each (pid, tid), async
 * begin/end pairs that match, numeric counters.
 */
import assert from 'node:assert/strict';

export interface TraceEvent {
  readonly ph: string;
  readonly name: string;
  readonly pid: number;
  readonly tid?: number;
  readonly ts?: number;
  readonly dur?: number;
  readonly cat?: string;
  readonly id?: string;
  readonly s?: string;
  readonly args?: Record<string, unknown>;
}

const isInt = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value);

/** Every event has what its phase requires. */
export function checkFields(events: readonly TraceEvent[]): void {
  for (const e of events) {
    const what = JSON.stringify(e);
    assert.equal(typeof e.name, 'string', what);
    assert.ok(isInt(e.pid), `pid: ${what}`);
    if (e.ph === 'M') {
      assert.ok(e.args !== undefined && ('name' in e.args || 'sort_index' in e.args || 'labels' in e.args), what);
      continue;
    }
    assert.ok(isInt(e.ts) && e.ts >= 0, `ts in whole µs: ${what}`);
    switch (e.ph) {
      case 'X':
        assert.ok(isInt(e.tid), `tid: ${what}`);
        assert.ok(isInt(e.dur) && e.dur >= 0, `dur: ${what}`);
        break;
      case 'b':
      case 'e':
        assert.ok(typeof e.cat === 'string' && e.cat !== '', `cat: ${what}`);
        assert.ok(typeof e.id === 'string' && e.id !== '', `id: ${what}`);
        break;
      case 'C': {
        const values = Object.values(e.args ?? {});
        assert.ok(values.length > 0, `counter without series: ${what}`);
        for (const v of values) assert.ok(typeof v === 'number' && Number.isFinite(v), `counter value: ${what}`);
        break;
      }
      case 'i':
        assert.ok(e.s === 'p' || e.s === 't' || e.s === 'g', `scope: ${what}`);
        break;
      default:
        assert.fail(`unexpected phase ${e.ph}: ${what}`);
    }
  }
}

/** Complete events on one (pid, tid) never partly overlap: sorted by start (longer first), each ends inside the one it starts in. */
export function checkNesting(events: readonly TraceEvent[]): number {
  const tracks = new Map<string, TraceEvent[]>();
  for (const e of events) {
    if (e.ph !== 'X') continue;
    const key = `${e.pid}/${e.tid}`;
    const list = tracks.get(key) ?? [];
    list.push(e);
    tracks.set(key, list);
  }
  for (const [key, list] of tracks) {
    list.sort((a, b) => (a.ts as number) - (b.ts as number) || (b.dur as number) - (a.dur as number));
    const open: TraceEvent[] = [];
    for (const e of list) {
      const start = e.ts as number;
      const end = start + (e.dur as number);
      while (open.length > 0 && (open.at(-1)?.ts as number) + (open.at(-1)?.dur as number) <= start) open.pop();
      const parent = open.at(-1);
      if (parent !== undefined) {
        const parentEnd = (parent.ts as number) + (parent.dur as number);
        assert.ok(end <= parentEnd, `track ${key}: ${JSON.stringify(e)} overlaps ${JSON.stringify(parent)} partly`);
      }
      open.push(e);
    }
  }
  return tracks.size;
}

/** Each async begin has one end with the same cat, id and name, not before it. Returns the pairs. */
export function checkAsyncPairs(events: readonly TraceEvent[]): Map<string, { begin: TraceEvent; end: TraceEvent }> {
  const begins = new Map<string, TraceEvent>();
  const pairs = new Map<string, { begin: TraceEvent; end: TraceEvent }>();
  for (const e of events) {
    if (e.ph !== 'b' && e.ph !== 'e') continue;
    const key = `${e.pid}/${e.cat}/${e.id}/${e.name}`;
    if (e.ph === 'b') {
      assert.ok(!begins.has(key) && !pairs.has(key), `begin twice: ${key}`);
      begins.set(key, e);
    } else {
      const begin = begins.get(key);
      assert.ok(begin, `end without begin: ${JSON.stringify(e)}`);
      assert.ok((e.ts as number) >= (begin.ts as number), `end before begin: ${key}`);
      begins.delete(key);
      pairs.set(key, { begin, end: e });
    }
  }
  assert.deepEqual([...begins.keys()], [], 'begins without an end');
  return pairs;
}
