/** Request encoding: what the builtin client writes, and what it refuses to write. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestEncoder } from '../../../src/load/http1/request-encoder.js';
import type { LoadRequest } from '../../../src/load/workload.js';

const encoder = new RequestEncoder('example.test:8080');

test('encodes once per request object, with Host first and framing from the body sent', () => {
  const request = {
    method: 'PUT',
    path: '/items/k?x=1',
    headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' },
    body: Buffer.from('ab'),
  };
  const bytes = encoder.encode(request);
  assert.equal(
    bytes.toString('latin1'),
    'PUT /items/k?x=1 HTTP/1.1\r\nhost: example.test:8080\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nab',
  );
  assert.equal(encoder.encode(request), bytes, 'cached');
  const ownHost = encoder.encode({ method: 'GET', path: '/', headers: { Host: 'other' }, body: undefined });
  assert.equal(ownHost.toString('latin1'), 'GET / HTTP/1.1\r\nHost: other\r\n\r\n');
  const latin1 = encoder.encode({ method: 'GET', path: '/', headers: { 'x-name': 'café' }, body: undefined });
  assert.ok(latin1.includes(Buffer.from('x-name: caf\u00e9', 'latin1')));
});

test('refuses what would change the request on the wire', () => {
  const bad: Omit<LoadRequest, 'body'>[] = [
    { method: 'GET /x HTTP/1.1', path: '/', headers: undefined },
    { method: 'GET', path: '/a b', headers: undefined },
    { method: 'GET', path: '/\u0141', headers: undefined },
    { method: 'GET', path: '/', headers: { 'x-a': 'v\r\nx-b: w' } },
    // U+010D U+010A would become CR LF if truncated to latin-1.
    { method: 'GET', path: '/', headers: { 'x-a': 'v\u010d\u010ax-b: w' } },
    { method: 'GET', path: '/', headers: { 'Transfer-Encoding ': 'chunked' } },
  ];
  for (const request of bad) {
    assert.throws(() => encoder.encode({ ...request, body: undefined }), JSON.stringify(request));
  }
});
