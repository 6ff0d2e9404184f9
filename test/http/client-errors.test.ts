/**
 * What Node's HTTP layer refuses on its own (bad heads, oversized heads, unmet expectations, bodies
 * with broken framing, heads that never finish) is answered in the service's error shape and
 * recorded: every status on the wire has exactly one wide event that says what the client got.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, test } from 'node:test';
import { appsClosedAfter, type TestApp } from '../helpers/app.js';
import { call } from '../helpers/http.js';
import { type MetricLine, metric } from '../helpers/ndjson.js';
import { openSocket, readUntilClose } from '../helpers/raw-http.js';

const GENERATED_ID = /^[0-9a-hjkmnp-tv-z]{13}-[1-9][0-9]*$/;

interface RawAnswer {
  /** Every status line the client read, in order. */
  readonly statuses: number[];
  readonly requestIds: string[];
  readonly codes: string[];
  readonly text: string;
}

function parseAnswer(text: string): RawAnswer {
  // Responses follow each other with no separator after a body: match status lines anywhere.
  const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  const requestIds = [...text.matchAll(/^x-request-id: (\S+)\r$/gim)].map((m) => m[1] ?? '');
  const codes = [...text.matchAll(/"code":"([A-Z_]+)"/g)].map((m) => m[1] ?? '');
  return { statuses, requestIds, codes, text };
}

/** Writes `bytes` on a fresh connection and reads until the server closes it. */
async function exchange(app: TestApp, bytes: string, endAfter = false): Promise<RawAnswer> {
  const socket = await openSocket(app.url);
  const reply = readUntilClose(socket, 5000);
  socket.write(bytes);
  if (endAfter) socket.end();
  return parseAnswer(await reply);
}

const row = (r: MetricLine) => [
  r.properties?.Operation,
  r.properties?.Path,
  r.properties?.StatusCode,
  r.properties?.ErrorKind,
];

describe("Node's own refusals are answered and recorded", () => {
  const start = appsClosedAfter();

  test('bad heads: one status each on the wire, one record each with the same request id', async () => {
    const app = await start();
    const cases: Array<[string, string, number, string, string]> = [
      // name, bytes, status, code, recorded path
      ['a bad request line', 'GET /x HTTP/9.9 extra\r\n\r\n', 400, 'HPE_INVALID_VERSION', '/x'],
      ['an invalid method', 'G(T /items/a HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'HPE_INVALID_METHOD', '-'],
      [
        'Content-Length with Transfer-Encoding',
        'PUT /items/a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
        400,
        'HPE_INVALID_TRANSFER_ENCODING',
        '/items/a',
      ],
      ['a bare LF', 'GET /items/a HTTP/1.1\nHost: x\n\n', 400, 'HPE_INVALID_VERSION', '/items/a'],
      [
        'a head over the size limit',
        `GET /items/big?q=1 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`,
        431,
        'HPE_HEADER_OVERFLOW',
        '/items/big',
      ],
    ];
    const answers: RawAnswer[] = [];
    for (const [name, bytes, status, code] of cases) {
      const answer = await exchange(app, bytes);
      assert.deepEqual(answer.statuses, [status], name);
      assert.deepEqual(answer.codes, [code], `${name}: ${answer.text}`);
      assert.match(answer.text, /\r\nconnection: close\r\n/i);
      answers.push(answer);
    }
    const records = await app.settledRequests(cases.length);
    assert.deepEqual(
      records.map(row),
      cases.map(([, , status, , path]) => ['Other', path, String(status), 'InvalidRequest']),
    );
    records.forEach((record, i) => {
      assert.match(record.properties?.RequestId ?? '', GENERATED_ID);
      assert.equal(record.properties?.RequestId, answers[i]?.requestIds[0], 'the record carries the id the client got');
      assert.equal(metric(record, 'ClientError'), 1);
      assert.equal(metric(record, 'Success'), 1);
      assert.ok((metric(record, 'Duration') ?? -1) >= 0);
    });
  });

  test('a client that ends its side halfway through a head or body has left: no status; a body in flight is 499', async () => {
    const app = await start();
    const head = await exchange(app, 'GET /items/a HTTP/1.1\r\nHo', true);
    assert.equal(head.text, '', 'no request, no status');
    const body = await exchange(app, 'PUT /items/b HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\npart', true);
    assert.equal(body.text, '');
    const [record] = await app.settledRequests(1);
    assert.deepEqual(row(record ?? { timestamp: 0 }), ['SetItem', '/items/b', '499', 'ClientClosed']);
  });

  test('a connection that sends nothing gets no status and no record', async () => {
    const app = await start();
    const socket = await openSocket(app.url);
    const reply = readUntilClose(socket, 2000);
    socket.end();
    assert.equal(await reply, '');
    // A request after it, so the test waits for something that does get recorded.
    assert.equal((await call(`${app.url}/items/after`)).status, 404);
    assert.deepEqual((await app.settledRequests(1)).map(row), [['GetItem', '/items/after', '404', 'InvalidRequest']]);
  });

  test('missing Host and an unmet Expect: answered through the route, so the record has its operation', async () => {
    const app = await start();
    const noHost = await exchange(app, 'GET /items/a HTTP/1.1\r\n\r\n');
    assert.deepEqual(noHost.statuses, [400]);
    assert.deepEqual(noHost.codes, ['SVC_ERR_MISSING_HOST']);
    const expect = await exchange(
      app,
      'PUT /items/a HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 3\r\n\r\nabc',
    );
    assert.deepEqual(expect.statuses, [417]);
    assert.deepEqual(expect.codes, ['SVC_ERR_EXPECTATION_FAILED']);
    assert.match(expect.text, /\r\nconnection: close\r\n/i);
    // HTTP/1.0 has neither rule; 100-continue is still met.
    const old = await exchange(app, 'GET /items/a HTTP/1.0\r\n\r\n');
    assert.deepEqual(old.statuses, [404]);
    const socket = await openSocket(app.url);
    const reply = readUntilClose(socket, 5000);
    socket.write(
      'PUT /items/c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\n',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.write('abc');
    assert.deepEqual(parseAnswer(await reply).statuses, [100, 204]);

    const records = await app.settledRequests(4);
    assert.deepEqual(records.map(row), [
      ['GetItem', '/items/a', '400', 'InvalidRequest'],
      ['SetItem', '/items/a', '417', 'InvalidRequest'],
      ['GetItem', '/items/a', '404', 'InvalidRequest'],
      ['SetItem', '/items/c', '204', undefined],
    ]);
    assert.equal(records[0]?.properties?.RequestId, noHost.requestIds[0]);
    assert.equal(records[1]?.properties?.RequestId, expect.requestIds[0]);
  });

  test('a valid request followed by bytes that are not HTTP: the record says what the client got (400)', async () => {
    const app = await start();
    const answer = await exchange(
      app,
      'PUT /items/a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGARBAGE\r\n\r\n',
    );
    assert.deepEqual(answer.statuses, [400], `one answer, and it is the 400: ${answer.text}`);
    const [record] = await app.settledRequests(1);
    assert.deepEqual(row(record ?? { timestamp: 0 }), ['SetItem', '/items/a', '400', 'InvalidRequest']);
    assert.equal(metric(record ?? { timestamp: 0 }, 'ClientError'), 1);
    assert.equal(record?.properties?.RequestId, answer.requestIds[0]);
    assert.equal(app.app.recorder.inFlight, 0);
  });

  test('pipelined requests cut by bytes that are not HTTP: one record per request, none left in flight', async () => {
    const app = await start();
    const answer = await exchange(
      app,
      'GET /items/a HTTP/1.1\r\nHost: x\r\n\r\nGET /items/b HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /items/c HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n',
    );
    assert.deepEqual(answer.statuses, [400]);
    const records = await app.settledRequests(3);
    // The first request's answer is the 400; the two queued behind it got nothing.
    assert.deepEqual(records.map(row), [
      ['GetItem', '/items/a', '400', 'InvalidRequest'],
      ['GetItem', '/items/b', '499', 'ClientClosed'],
      ['GetItem', '/items/c', '499', 'ClientClosed'],
    ]);
    assert.equal(app.app.recorder.inFlight, 0);
  });

  test('broken body framing: 400 on the wire, 400 InvalidRequest in the record (not 499)', async () => {
    const app = await start();
    const bodies: Array<[string, string]> = [
      ['a bad chunk size', 'Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'],
      ['an oversized chunk size', 'Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nabc\r\n'],
      ['Transfer-Encoding: gzip', 'Transfer-Encoding: gzip\r\n\r\nabc'],
    ];
    for (const [name, rest] of bodies) {
      const answer = await exchange(app, `PUT /items/framing HTTP/1.1\r\nHost: x\r\n${rest}`);
      assert.deepEqual(answer.statuses, [400], name);
    }
    const records = await app.settledRequests(bodies.length);
    assert.deepEqual(
      records.map(row),
      bodies.map(() => ['SetItem', '/items/framing', '400', 'InvalidRequest']),
    );
    const errors = app.logs.records<{ level: string | number }>().filter((l) => l.level === 'error' || l.level === 50);
    assert.deepEqual(errors, [], 'a client error is not logged as a failure of the service');
  });

  test('a head that does not finish within the headers timeout: 408, recorded; a silent one is just closed', async () => {
    const app = await start({ headersTimeoutMs: 300 });
    const started = Date.now();
    const trickling: Socket[] = [];
    const replies: Array<Promise<string>> = [];
    for (let i = 0; i < 5; i++) {
      const socket = await openSocket(app.url);
      replies.push(readUntilClose(socket, 8000));
      socket.write(`GET /items/slow${i} HTTP/1.1\r\n`);
      trickling.push(socket);
    }
    const silent = await openSocket(app.url);
    const silentReply = readUntilClose(silent, 8000);
    // A header line every 50 ms: the head never ends, and each line arrives well within any idle timeout.
    const trickle = setInterval(() => {
      for (const socket of trickling) if (socket.writable) socket.write('X-Slow: 1\r\n');
    }, 50);
    try {
      const answers = (await Promise.all(replies)).map(parseAnswer);
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 5000, `closed after ${elapsed} ms`);
      for (const answer of answers) assert.deepEqual(answer.statuses, [408]);
      assert.equal(await silentReply, '', 'nothing is written to a connection that sent nothing');
    } finally {
      clearInterval(trickle);
    }
    const records = await app.settledRequests(5);
    for (const record of records) {
      assert.deepEqual(row(record), ['Other', '-', '408', 'Timeout']);
      assert.ok((metric(record, 'Duration') ?? 0) >= 250, `Duration ${metric(record, 'Duration')}`);
    }
  });

  test('a keep-alive connection idle between requests is not cut by the headers timeout', async () => {
    const app = await start({ headersTimeoutMs: 200 });
    const socket = await openSocket(app.url);
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    socket.write('GET /items/a HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.equal(socket.destroyed, false);
    socket.write('GET /items/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await new Promise((resolve) => socket.once('close', resolve));
    assert.deepEqual(parseAnswer(text).statuses, [404, 404]);
    assert.deepEqual(
      (await app.settledRequests(2)).map((r) => r.properties?.StatusCode),
      ['404', '404'],
    );
  });
});
