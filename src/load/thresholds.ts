/**
 * `--fail-on "p99>200ms,errors>1%"`: conditions that, when any holds, make `service load` exit 1,
 * for CI. Latencies take ms (default), s or us; errors and non2xx take a count or a percentage of
 * requests; rps takes requests a second.
 */
import type { Summary } from './summary.js';

export type ThresholdMetric = 'p50' | 'p90' | 'p99' | 'p99.9' | 'max' | 'mean' | 'errors' | 'non2xx' | 'rps';
type Operator = '>' | '>=' | '<' | '<=';

export interface Threshold {
  readonly source: string;
  readonly metric: ThresholdMetric;
  readonly operator: Operator;
  /** Milliseconds for latencies, a count or a fraction for errors/non2xx, requests a second for rps. */
  readonly value: number;
  readonly percent: boolean;
}

export interface ThresholdOutcome {
  readonly condition: string;
  readonly actual: number;
  readonly unit: string;
  /** True when the condition holds, so the run fails. */
  readonly failed: boolean;
}

const LATENCIES = new Set(['p50', 'p90', 'p99', 'p99.9', 'max', 'mean']);
const CONDITION = /^(p50|p90|p99|p99\.9|max|mean|errors|non2xx|rps)\s*(>=|<=|>|<)\s*(\d+(?:\.\d+)?)\s*(ms|s|us|%)?$/;
const UNIT_TO_MS: Record<string, number> = { ms: 1, s: 1000, us: 0.001 };

/** Parses a comma-separated list; throws an Error saying which condition is wrong and why. */
export function parseThresholds(text: string): Threshold[] {
  const conditions = text
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  if (conditions.length === 0) throw new Error('expected conditions such as "p99>200ms,errors>1%"');
  return conditions.map((source) => {
    const match = CONDITION.exec(source);
    if (match === null) {
      throw new Error(
        `cannot read ${JSON.stringify(source)}; expected <metric><op><value> with metric one of p50 p90 p99 p99.9 max mean errors non2xx rps, op one of > >= < <=, e.g. p99>200ms`,
      );
    }
    const [, metric = '', operator = '>', number = '0', unit] = match;
    const value = Number(number);
    if (LATENCIES.has(metric)) {
      if (unit === '%') throw new Error(`${source}: a latency takes ms, s or us, not %`);
      return {
        source,
        metric: metric as ThresholdMetric,
        operator: operator as Operator,
        value: value * (UNIT_TO_MS[unit ?? 'ms'] ?? 1),
        percent: false,
      };
    }
    if (unit !== undefined && unit !== '%')
      throw new Error(`${source}: ${metric} takes a count${metric === 'rps' ? '' : ' or a percentage'}, not ${unit}`);
    if (metric === 'rps' && unit === '%') throw new Error(`${source}: rps takes requests a second, not %`);
    return {
      source,
      metric: metric as ThresholdMetric,
      operator: operator as Operator,
      value: unit === '%' ? value / 100 : value,
      percent: unit === '%',
    };
  });
}

function holds(actual: number, operator: Operator, limit: number): boolean {
  switch (operator) {
    case '>':
      return actual > limit;
    case '>=':
      return actual >= limit;
    case '<':
      return actual < limit;
    case '<=':
      return actual <= limit;
  }
}

export function evaluateThresholds(thresholds: readonly Threshold[], summary: Summary): ThresholdOutcome[] {
  return thresholds.map((t) => {
    let actual: number;
    let unit: string;
    if (LATENCIES.has(t.metric)) {
      actual = summary.latencyMs[t.metric as keyof Summary['latencyMs']];
      unit = 'ms';
    } else if (t.metric === 'rps') {
      actual = summary.throughputRps;
      unit = 'req/s';
    } else {
      const count = t.metric === 'errors' ? summary.failures : summary.non2xx;
      actual = t.percent ? (summary.sent === 0 ? 0 : count / summary.sent) : count;
      unit = t.percent ? 'fraction' : 'requests';
    }
    return { condition: t.source, actual, unit, failed: holds(actual, t.operator, t.value) };
  });
}
