/** The store bounds and the rate limit through the real CLI: flags, env vars, records, bad values. */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { call } from '../helpers/http.js';
import { isRequestRecord, type MetricLine, parseLines } from '../helpers/ndjson.js';
import { runCli, startService, stopAll } from '../helpers/service-process.js';
import { waitFor } from '../helpers/wait.js';

async function requestRecords(stdout: () => string, count: number): Promise<MetricLine[]> {
  return waitFor(`${count} request records`, () => {
    const found = parseLines<MetricLine>(stdout()).filter(isRequestRecord);
    return found.length >= count ? found : undefined;
  });
}

describe('service run: limits', () => {
  after(stopAll);

  test('STORE_MAX_BYTES: distinct 1 MiB values stop at the bound with 507, recorded; reads keep working', async () => {
    const service = await startService([], { STORE_MAX_BYTES: '3000000' });
    const value = 'v'.repeat(1024 * 1024);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await call(`${service.url}/items/big-${i}`, { method: 'PUT', body: value })).status);
    }
    assert.deepEqual(statuses, [204, 204, 507, 507, 507]);
    const get = await call(`${service.url}/items/big-1`);
    assert.equal(get.status, 200);
    assert.equal(get.text.length, value.length);
    const records = await requestRecords(service.stdout, 6);
    assert.deepEqual(
      records.map((r) => [r.properties?.StatusCode, r.properties?.ErrorKind]),
      [['204', undefined], ['204', undefined], ...Array(3).fill(['507', 'StoreFull']), ['200', undefined]],
    );
    assert.equal(await service.stop(), 0);
  });

  test('--store-max-items: new keys beyond it get 507; an overwrite still works', async () => {
    const service = await startService(['--store-max-items', '2']);
    const put = async (key: string, body: string) =>
      (await call(`${service.url}/items/${key}`, { method: 'PUT', body })).status;
    assert.deepEqual(
      [await put('a', '1'), await put('b', '2'), await put('c', '3'), await put('a', '11')],
      [204, 204, 507, 204],
    );
    const refused = await call(`${service.url}/items/d`, { method: 'PUT', body: '4' });
    assert.equal(JSON.parse(refused.text).code, 'SVC_ERR_STORE_FULL');
    assert.equal((await call(`${service.url}/items/a`)).text, '11');
    assert.equal(await service.stop(), 0);
  });

  test('--rate-limit-rps and --rate-limit-burst: the burst, then 429 with Retry-After; /health unaffected', async () => {
    const service = await startService(['--rate-limit-rps', '0.2', '--rate-limit-burst', '3']);
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await call(`${service.url}/items/k`));
    assert.deepEqual(
      answers.map((a) => [a.status, a.headers['retry-after']]),
      [[404, undefined], [404, undefined], [404, undefined], ...Array(3).fill([429, '5'])],
    );
    for (let i = 0; i < 10; i++) assert.equal((await call(`${service.url}/health`)).status, 200);
    const records = await requestRecords(service.stdout, 6);
    assert.equal(records.length, 6, 'one record per request, none for /health');
    assert.deepEqual(
      records.slice(3).map((r) => [r.properties?.StatusCode, r.properties?.ErrorKind]),
      Array(3).fill(['429', 'RateLimited']),
    );
    assert.equal(await service.stop(), 0);
  });

  test('RATE_LIMIT_RPS alone: the burst defaults to one second of the rate, rounded up', async () => {
    const service = await startService([], { RATE_LIMIT_RPS: '0.5' });
    assert.deepEqual(
      [(await call(`${service.url}/items/k`)).status, (await call(`${service.url}/items/k`)).status],
      [404, 429],
    );
    assert.equal(await service.stop(), 0);
  });

  const bad: Array<[string, string[], Record<string, string>, string]> = [
    [
      '--store-max-bytes 0',
      ['run', '--store-max-bytes', '0'],
      {},
      'Error: invalid value "0" for --store-max-bytes (STORE_MAX_BYTES): expected a size in bytes from 1 to 1099511627776',
    ],
    [
      'STORE_MAX_ITEMS beyond what a Map holds',
      ['run'],
      { STORE_MAX_ITEMS: '20000000' },
      'Error: invalid value "20000000" for --store-max-items (STORE_MAX_ITEMS): expected a whole number of items from 1 to 16777216 (the most a Map holds)',
    ],
    [
      '--rate-limit-rps 0',
      ['run', '--rate-limit-rps', '0'],
      {},
      'Error: invalid value "0" for --rate-limit-rps (RATE_LIMIT_RPS): expected requests a second above 0 and at most 1000000, e.g. 100 or 0.5',
    ],
    [
      'RATE_LIMIT_RPS not a number',
      ['run'],
      { RATE_LIMIT_RPS: 'fast' },
      'Error: invalid value "fast" for --rate-limit-rps (RATE_LIMIT_RPS): expected requests a second above 0 and at most 1000000, e.g. 100 or 0.5',
    ],
    [
      '--rate-limit-burst without a rate',
      ['run', '--rate-limit-burst', '5'],
      {},
      'Error: invalid value "5" for --rate-limit-burst (RATE_LIMIT_BURST): only applies with --rate-limit-rps',
    ],
    [
      '--rate-limit-burst 0',
      ['run', '--rate-limit-rps', '10', '--rate-limit-burst', '0'],
      {},
      'Error: invalid value "0" for --rate-limit-burst (RATE_LIMIT_BURST): expected a whole number of requests from 1 to 1000000',
    ],
  ];
  for (const [name, args, env, expected] of bad) {
    test(`bad value: ${name} → one line, exit 2`, async () => {
      const result = await runCli(args, env);
      assert.equal(result.code, 2);
      assert.equal(result.stderr, `${expected}\n`);
      assert.equal(result.stdout, '');
    });
  }
});
