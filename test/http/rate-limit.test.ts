/** The optional rate limit: a token bucket, 429 with an honest Retry-After, every refusal recorded. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TokenBucket } from '../../src/http/rate-limit.js';
import { appsClosedAfter } from '../helpers/app.js';
import { call } from '../helpers/http.js';
import { metric } from '../helpers/ndjson.js';

describe('token bucket', () => {
  test('starts full, refills at the rate, never above the burst, and says how long to wait', () => {
    const bucket = new TokenBucket({ rps: 2, burst: 3 }, 0);
    assert.deepEqual([bucket.take(0), bucket.take(0), bucket.take(0)], [0, 0, 0]);
    assert.equal(bucket.take(0), 500, 'empty: a token every 500 ms');
    assert.equal(bucket.take(250), 250, 'half a token accrued');
    assert.equal(bucket.take(500), 0);
    assert.equal(bucket.take(500), 500);
    // An hour idle refills to the burst, not to 7200 tokens.
    const later = 3_600_000;
    assert.deepEqual([bucket.take(later), bucket.take(later), bucket.take(later)], [0, 0, 0]);
    assert.equal(bucket.take(later), 500);
  });

  test('a fractional rate: 0.1 a second is one token every 10 s', () => {
    const bucket = new TokenBucket({ rps: 0.1, burst: 1 }, 1000);
    assert.equal(bucket.take(1000), 0);
    assert.equal(bucket.take(1000), 10000);
    assert.equal(Math.round(bucket.take(9000)), 2000);
  });
});

describe('rate-limited service', () => {
  const start = appsClosedAfter();

  test('the burst passes, then 429 SVC_ERR_RATE_LIMITED with Retry-After; one record per request', async () => {
    // One token every 10 s: the wait after the burst is just under 10 s, whatever this machine's speed.
    const app = await start({ rateLimit: { rps: 0.1, burst: 4 } });
    const statuses: number[] = [];
    const retryAfter: unknown[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await call(`${app.url}/items/k`, i % 2 === 0 ? { method: 'PUT', body: 'v' } : {});
      statuses.push(res.status);
      retryAfter.push(res.headers['retry-after']);
      if (res.status === 429) {
        assert.deepEqual(JSON.parse(res.text), {
          statusCode: 429,
          code: 'SVC_ERR_RATE_LIMITED',
          error: 'Too Many Requests',
          message: 'over the rate limit of 0.1 requests a second (burst 4); retry after 10 s',
        });
        assert.match(String(res.headers['x-request-id']), /^[0-9a-hjkmnp-tv-z]{13}-[1-9][0-9]*$/);
      }
    }
    assert.deepEqual(statuses, [204, 200, 204, 200, 429, 429, 429, 429, 429, 429]);
    assert.deepEqual(retryAfter, [...Array(4).fill(undefined), ...Array(6).fill('10')]);

    // /health is outside the limit (and the recorder): always 200, never a record.
    for (let i = 0; i < 20; i++) assert.equal((await call(`${app.url}/health`)).status, 200);

    const records = await app.settledRequests(10);
    assert.deepEqual(
      records.map((r) => [r.properties?.Operation, r.properties?.StatusCode, r.properties?.ErrorKind]),
      statuses.map((status, i) => [
        i % 2 === 0 ? 'SetItem' : 'GetItem',
        String(status),
        status === 429 ? 'RateLimited' : undefined,
      ]),
    );
    const limited = records[4] ?? { timestamp: 0 };
    assert.equal(metric(limited, 'ClientError'), 1, '429 is a client error');
    assert.equal(metric(limited, 'Success'), 1);
    assert.equal(metric(limited, 'PayloadBytes'), undefined, 'the handler never ran');
  });

  test('Retry-After is honest: after waiting that long, the next request passes', async () => {
    const app = await start({ rateLimit: { rps: 2, burst: 1 } });
    assert.equal((await call(`${app.url}/items/k`)).status, 404);
    const refused = await call(`${app.url}/items/k`);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['retry-after'], '1', 'a wait under 500 ms rounds up to HTTP’s smallest delay');
    await new Promise((resolve) => setTimeout(resolve, 1000 * Number(refused.headers['retry-after'])));
    assert.equal((await call(`${app.url}/items/k`)).status, 404);
  });

  test('unknown routes are limited too, and recorded as Other', async () => {
    const app = await start({ rateLimit: { rps: 0.1, burst: 1 } });
    assert.equal((await call(`${app.url}/nowhere`)).status, 404);
    assert.equal((await call(`${app.url}/nowhere`)).status, 429);
    const records = await app.settledRequests(2);
    assert.deepEqual(
      records.map((r) => [r.properties?.Operation, r.properties?.StatusCode]),
      [
        ['Other', '404'],
        ['Other', '429'],
      ],
    );
  });

  test('off by default: no hook is registered at all', async () => {
    const off = await start({});
    const on = await start({ rateLimit: { rps: 10, burst: 10 } });
    assert.doesNotMatch(off.app.server.printRoutes({ includeHooks: true }), /rateLimit/);
    assert.match(on.app.server.printRoutes({ includeHooks: true }), /"onRequest\(\)","rateLimit\(\)"/);
    const statuses = new Set<number>();
    for (let i = 0; i < 200; i++) statuses.add((await call(`${off.url}/items/k`)).status);
    assert.deepEqual([...statuses], [404]);
  });
});
