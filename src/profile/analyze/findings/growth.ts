/**
 * Resource growth, the task-leak analog: active handles, libuv requests, pending operations by type
 * or the heap growing steadily over the trace. The series is cut into equal buckets and each
 * bucket's minimum is compared (minimums ignore bursts of load and GC's sawtooth): a leak raises the
 * floor bucket after bucket.
 */
import type { Second } from '../timeline.js';
import type { Finding } from '../types.js';
import { at, type FindingContext, ms, refsInWindow } from './context.js';

const BUCKETS = 8;
/** Share of bucket-to-bucket steps that must not go down. */
const MONOTONE_SHARE = 0.85;
const MIN_SECONDS = 4;

interface Series {
  readonly name: string;
  readonly unit: string;
  readonly minRise: number;
  readonly value: (s: Second) => number;
}

const SERIES: Series[] = [
  { name: 'active handles', unit: '', minRise: 20, value: (s) => s.handlesMin },
  { name: 'active libuv requests', unit: '', minRise: 20, value: (s) => s.requestsMin },
  { name: 'heap used', unit: ' KiB', minRise: 32 * 1024, value: (s) => s.heapMinKb },
];

export function growthFindings(ctx: FindingContext): Finding[] {
  const seconds = ctx.process.timeline.ordered();
  if (seconds.length < MIN_SECONDS) return [];
  const series = [...SERIES];
  const pendingTypes = new Set<string>();
  for (const s of seconds) for (const type of s.pending?.keys() ?? []) pendingTypes.add(type);
  for (const type of pendingTypes)
    series.push({ name: `pending ${type}`, unit: '', minRise: 20, value: (s) => s.pending?.get(type) ?? Number.NaN });
  const findings: Finding[] = [];
  for (const one of series) {
    const mins = bucketMins(seconds, one.value);
    if (mins.length < 3) continue;
    const first = mins[0] as number;
    const last = mins[mins.length - 1] as number;
    let up = 0;
    for (let i = 1; i < mins.length; i++) if ((mins[i] as number) >= (mins[i - 1] as number)) up++;
    const monotone = up / (mins.length - 1);
    const rise = last - first;
    if (rise < one.minRise || monotone < MONOTONE_SHARE || last < first * 1.5) continue;
    const fromUs = Math.max(ctx.originUs, (seconds[0] as Second).index * 1e6);
    const toUs = Math.min(ctx.endUs, ((seconds[seconds.length - 1] as Second).index + 1) * 1e6);
    const perMinute = (rise / Math.max(1, (toUs - fromUs) / 1e6)) * 60;
    const samples = ctx.process.stacks.sitesIn(fromUs, toUs);
    findings.push({
      kind: 'resource-growth',
      severity: last >= first * 3 ? 'critical' : 'warning',
      summary: `${one.name} grew steadily from ${Math.round(first)}${one.unit} to ${Math.round(last)}${one.unit} over ${Math.round((toUs - fromUs) / 1e6)} s (${Math.round(perMinute)}${one.unit} a minute, floor rose in ${up} of ${mins.length - 1} steps) from ${at(ctx, fromUs)}: something is created and never released`,
      startMs: ms(fromUs),
      durationMs: ms(toUs - fromUs),
      stack: samples?.stack ?? [],
      requests: refsInWindow(ctx, fromUs, toUs).slice(0, 5),
      evidence: {
        series: one.name,
        first: Math.round(first),
        last: Math.round(last),
        perMinute: Math.round(perMinute),
        monotoneShare: Math.round(monotone * 100) / 100,
        buckets: mins.length,
      },
    });
  }
  return findings;
}

function bucketMins(seconds: readonly Second[], value: (s: Second) => number): number[] {
  const values = seconds.map(value).filter((v) => Number.isFinite(v));
  if (values.length < MIN_SECONDS) return [];
  const buckets = Math.min(BUCKETS, values.length);
  const out: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * values.length) / buckets);
    const to = Math.floor(((b + 1) * values.length) / buckets);
    let min = Number.POSITIVE_INFINITY;
    for (let i = from; i < to; i++) min = Math.min(min, values[i] as number);
    if (Number.isFinite(min)) out.push(min);
  }
  return out;
}
