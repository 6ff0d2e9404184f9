import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadRunConfig } from '../../src/config/run.js';
import { InvalidOptionError } from '../../src/errors.js';

describe('limit options', () => {
  test('defaults: a 64 MiB, 100000-item store and no rate limit', () => {
    const config = loadRunConfig({});
    assert.deepEqual(config.store, { maxBytes: 67108864, maxItems: 100000 });
    assert.equal(config.rateLimit, undefined);
    assert.ok(Object.isFrozen(config.store));
  });

  test('a rate with and without a burst; the burst defaults to the rate rounded up', () => {
    assert.deepEqual(loadRunConfig({ rateLimitRps: '100' }).rateLimit, { rps: 100, burst: 100 });
    assert.deepEqual(loadRunConfig({ rateLimitRps: '2.5' }).rateLimit, { rps: 2.5, burst: 3 });
    assert.deepEqual(loadRunConfig({ rateLimitRps: '0.1' }).rateLimit, { rps: 0.1, burst: 1 });
    assert.deepEqual(loadRunConfig({ rateLimitRps: ' 50 ', rateLimitBurst: '7' }).rateLimit, { rps: 50, burst: 7 });
    assert.deepEqual(loadRunConfig({ storeMaxBytes: '1024', storeMaxItems: '3' }).store, {
      maxBytes: 1024,
      maxItems: 3,
    });
  });

  const refused: Array<[Record<string, string>, string]> = [
    [{ storeMaxBytes: '-1' }, 'invalid value "-1" for --store-max-bytes (STORE_MAX_BYTES)'],
    [{ storeMaxBytes: '64MiB' }, 'invalid value "64MiB" for --store-max-bytes (STORE_MAX_BYTES)'],
    [{ storeMaxItems: '0' }, 'invalid value "0" for --store-max-items (STORE_MAX_ITEMS)'],
    [{ rateLimitRps: '1e3' }, 'invalid value "1e3" for --rate-limit-rps (RATE_LIMIT_RPS)'],
    [{ rateLimitRps: '-5' }, 'invalid value "-5" for --rate-limit-rps (RATE_LIMIT_RPS)'],
    [{ rateLimitRps: '0.0' }, 'invalid value "0.0" for --rate-limit-rps (RATE_LIMIT_RPS)'],
    [{ rateLimitRps: '2000000' }, 'invalid value "2000000" for --rate-limit-rps (RATE_LIMIT_RPS)'],
    [{ rateLimitRps: '10', rateLimitBurst: '1.5' }, 'invalid value "1.5" for --rate-limit-burst (RATE_LIMIT_BURST)'],
    [{ rateLimitBurst: '10' }, 'invalid value "10" for --rate-limit-burst (RATE_LIMIT_BURST): only applies with'],
  ];
  for (const [raw, message] of refused) {
    test(`refuses ${JSON.stringify(raw)}`, () => {
      assert.throws(
        () => loadRunConfig(raw),
        (err: unknown) => {
          assert.ok(err instanceof InvalidOptionError);
          assert.equal(err.exitCode, 2);
          assert.ok(err.message.startsWith(message), err.message);
          return true;
        },
      );
    });
  }
});
