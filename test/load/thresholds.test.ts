import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Summary } from '../../src/load/summary.js';
import { evaluateThresholds, parseThresholds } from '../../src/load/thresholds.js';

const summary = {
  sent: 1000,
  failures: 20,
  non2xx: 100,
  throughputRps: 900,
  latencyMs: { min: 0.1, p50: 1, p90: 5, p99: 150, 'p99.9': 400, max: 900, mean: 3 },
} as unknown as Summary;

describe('--fail-on thresholds', () => {
  test('units: ms by default, s and us; counts or percentages; rps', () => {
    const parsed = parseThresholds('p99>0.1s, p50 >= 900us ,errors>1.5%,non2xx>=100,rps<1000,p99.9<=400');
    assert.deepEqual(
      parsed.map((t) => [t.metric, t.operator, t.value, t.percent]),
      [
        ['p99', '>', 100, false],
        ['p50', '>=', 0.9, false],
        ['errors', '>', 0.015, true],
        ['non2xx', '>=', 100, false],
        ['rps', '<', 1000, false],
        ['p99.9', '<=', 400, false],
      ],
    );
    assert.deepEqual(
      evaluateThresholds(parsed, summary).map((o) => [o.condition, o.actual, o.failed]),
      [
        ['p99>0.1s', 150, true],
        ['p50 >= 900us', 1, true],
        ['errors>1.5%', 0.02, true],
        ['non2xx>=100', 100, true],
        ['rps<1000', 900, true],
        ['p99.9<=400', 400, true],
      ],
    );
    assert.deepEqual(
      evaluateThresholds(parseThresholds('p99>200ms,errors>2%,max<100'), summary).map((o) => o.failed),
      [false, false, false],
    );
  });

  test('nonsense is refused with the reason', () => {
    assert.throws(() => parseThresholds(''), /expected conditions/);
    assert.throws(() => parseThresholds('p95>1ms'), /cannot read "p95>1ms"/);
    assert.throws(() => parseThresholds('p99>5%'), /a latency takes ms, s or us, not %/);
    assert.throws(() => parseThresholds('errors>5ms'), /errors takes a count or a percentage, not ms/);
    assert.throws(() => parseThresholds('rps>5%'), /rps takes requests a second, not %/);
  });
});
