/**
 * Two real instances, one forwarding to the other: one call carries one request id through both
 * wide events, and a failed downstream tells the client nothing about where it lives.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call } from '../helpers/http.js';
import { isRequestRecord, type MetricLine, parseLines } from '../helpers/ndjson.js';
import { openSocket, readUntilClose } from '../helpers/raw-http.js';
import { type ServiceProcess, startService, stopAll } from '../helpers/service-process.js';
import { waitFor } from '../helpers/wait.js';

const records = (service: ServiceProcess, count: number): Promise<MetricLine[]> =>
  waitFor(`${count} request records`, () => {
    const found = parseLines<MetricLine>(service.stdout()).filter(isRequestRecord);
    return found.length >= count ? found : undefined;
  });

describe('request ids across a forwarding hop', () => {
  let backing: ServiceProcess;
  let forwarding: ServiceProcess;
  before(async () => {
    backing = await startService(['--service-name', 'backing']);
    forwarding = await startService(['--service-name', 'forwarding', '--downstream-url', backing.url]);
  });
  after(stopAll);

  test('both records carry the same RequestId, generated or given', async () => {
    const put = await call(`${forwarding.url}/items/k`, { method: 'PUT', body: 'v' });
    assert.equal(put.status, 204);
    const get = await call(`${forwarding.url}/items/k`, { headers: { 'x-request-id': 'client-chosen-1' } });
    assert.equal(get.status, 200);
    const generated = put.headers['x-request-id'];
    assert.match(String(generated), /^[0-9a-hjkmnp-tv-z]{13}-[1-9][0-9]*$/);

    const front = await records(forwarding, 2);
    const back = await records(backing, 2);
    assert.deepEqual(
      front.map((r) => [r.properties?.service_name, r.properties?.Operation, r.properties?.RequestId]),
      [
        ['forwarding', 'SetItem', generated],
        ['forwarding', 'GetItem', 'client-chosen-1'],
      ],
    );
    assert.deepEqual(
      back.map((r) => [r.properties?.service_name, r.properties?.Operation, r.properties?.RequestId]),
      [
        ['backing', 'SetItem', generated],
        ['backing', 'GetItem', 'client-chosen-1'],
      ],
    );
  });

  test('a dot-segment key never reaches the backing instance', async () => {
    const before = parseLines<MetricLine>(backing.stdout()).filter(isRequestRecord).length;
    // Raw bytes: a URL parser on this side would resolve the dot segment before sending.
    const socket = await openSocket(forwarding.url);
    socket.write('GET /items/%2E%2E HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    const answer = await readUntilClose(socket);
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /"code":"SVC_ERR_INVALID_KEY"/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(parseLines<MetricLine>(backing.stdout()).filter(isRequestRecord).length, before);
  });

  test('the downstream gone: 502 names no address; the record and the log do', async () => {
    assert.equal(await backing.stop(), 0);
    const res = await call(`${forwarding.url}/items/k`, { headers: { 'x-request-id': 'after-stop' } });
    assert.equal(res.status, 502);
    assert.deepEqual(JSON.parse(res.text), {
      statusCode: 502,
      code: 'SVC_ERR_DOWNSTREAM',
      error: 'Bad Gateway',
      message: 'downstream failed (request id after-stop)',
    });
    const port = new URL(backing.url).port;
    assert.ok(!res.text.includes(port), 'the downstream port is not in the body');
    const [, , , record] = await records(forwarding, 4);
    assert.equal(record?.properties?.RequestId, 'after-stop');
    assert.match(record?.properties?.DownstreamError ?? '', new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
    const logged = await waitFor('the downstream log line', () =>
      parseLines<{ msg?: string; requestId?: string; error?: string }>(forwarding.stderr()).find(
        (l) => l.msg === 'downstream call failed' && l.requestId === 'after-stop',
      ),
    );
    assert.match(logged.error ?? '', new RegExp(`127\\.0\\.0\\.1:${port}`));
  });
});
