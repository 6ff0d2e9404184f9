/** The builtin client's response parser: framing by the RFC 9112 rules, bytes split anywhere. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MAX_HEAD_BYTES, ResponseParseError, ResponseParser } from '../../../src/load/http1/response-parser.js';

type Event = ['head', number] | ['complete', number, boolean];

/** Feeds `chunks` to a fresh parser and returns what it reported (and whether it threw). */
function parse(chunks: readonly Buffer[], options: { noBody?: boolean; close?: boolean } = {}) {
  const events: Event[] = [];
  const parser = new ResponseParser({
    onResponseHead: (status) => events.push(['head', status]),
    onResponseComplete: (status, keepAlive) => events.push(['complete', status, keepAlive]),
  });
  parser.expectNoBody = options.noBody ?? false;
  for (const chunk of chunks) parser.execute(chunk);
  if (options.close === true) parser.finish();
  return events;
}

/** Every way of cutting `bytes` in two, plus one byte at a time. */
function splits(bytes: Buffer): Buffer[][] {
  const out: Buffer[][] = [[bytes], Array.from(bytes, (b) => Buffer.from([b]))];
  for (let i = 1; i < bytes.length; i++) out.push([bytes.subarray(0, i), bytes.subarray(i)]);
  return out;
}

const crlf = (...lines: string[]) => Buffer.from(lines.join('\r\n'), 'latin1');

describe('response parser', () => {
  test('Content-Length framing, whatever the cuts; two responses back to back', () => {
    const bytes = Buffer.concat([
      crlf('HTTP/1.1 200 OK', 'Content-Length: 5', 'X-Other: a:b', '', 'hello'),
      crlf('HTTP/1.1 404 Not Found', 'content-length: 0', '', ''),
    ]);
    for (const chunks of splits(bytes)) {
      assert.deepEqual(parse(chunks), [
        ['head', 200],
        ['complete', 200, true],
        ['head', 404],
        ['complete', 404, true],
      ]);
    }
  });

  test('chunked bodies with extensions and trailers', () => {
    const bytes = Buffer.concat([
      crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: gzip', 'Transfer-Encoding: chunked', ''),
      crlf('', '5;name=value', 'hello', 'A', '0123456789', '0', 'Trailer-One: x', '', ''),
      crlf('HTTP/1.1 201 Created', 'Content-Length: 2', '', 'ok'),
    ]);
    for (const chunks of splits(bytes)) {
      assert.deepEqual(parse(chunks), [
        ['head', 200],
        ['complete', 200, true],
        ['head', 201],
        ['complete', 201, true],
      ]);
    }
  });

  test('ambiguous framing is read the RFC 9112 way, and the connection is not reused after it', () => {
    // Chunked wins over Content-Length, then the connection closes.
    const both = crlf('HTTP/1.1 200 OK', 'Content-Length: 3', 'Transfer-Encoding: chunked', '', '2', 'ok', '0', '', '');
    assert.deepEqual(parse([both]), [
      ['head', 200],
      ['complete', 200, false],
    ]);
    // A last coding other than chunked: the body runs to the close, whatever else is said.
    const gzip = crlf(
      'HTTP/1.1 200 OK',
      'Transfer-Encoding: gzip',
      'Content-Length: 2',
      'Connection: keep-alive',
      '',
      'ok',
    );
    assert.deepEqual(parse([gzip]), [['head', 200]]);
    assert.deepEqual(parse([gzip], { close: true }), [
      ['head', 200],
      ['complete', 200, false],
    ]);
    // Transfer-Encoding on HTTP/1.0 is faulty framing: read it, then close.
    assert.deepEqual(
      parse([crlf('HTTP/1.0 200 OK', 'Connection: keep-alive', 'Transfer-Encoding: chunked', '', '0', '', '')]),
      [
        ['head', 200],
        ['complete', 200, false],
      ],
    );
    // Only letters fold case: a CR inside a name does not make it Content-Length.
    assert.deepEqual(parse([crlf('HTTP/1.1 200 OK', 'Content\rLength: 2', '', 'ok')], { close: true }), [
      ['head', 200],
      ['complete', 200, false],
    ]);
    // The same length repeated is one length.
    assert.deepEqual(parse([crlf('HTTP/1.1 200 OK', 'Content-Length: 2, 2', 'Content-Length: 2', '', 'ok')]), [
      ['head', 200],
      ['complete', 200, true],
    ]);
    // A 204 without a length is still keep-alive.
    assert.deepEqual(parse([crlf('HTTP/1.1 204 No Content', '', '')]), [
      ['head', 204],
      ['complete', 204, true],
    ]);
  });

  test('no body after HEAD, 204 and 304, whatever Content-Length says; 1xx responses are skipped', () => {
    assert.deepEqual(parse([crlf('HTTP/1.1 200 OK', 'Content-Length: 99', '', '')], { noBody: true }), [
      ['head', 200],
      ['complete', 200, true],
    ]);
    const bytes = Buffer.concat([
      crlf('HTTP/1.1 100 Continue', '', ''),
      crlf('HTTP/1.1 103 Early Hints', 'Link: </a.css>; rel=preload', '', ''),
      crlf('HTTP/1.1 204 No Content', 'Content-Length: 10', '', ''),
      crlf('HTTP/1.1 304 Not Modified', 'CONTENT-LENGTH: 10', 'CONNECTION: KEEP-ALIVE', '', ''),
    ]);
    for (const chunks of splits(bytes)) {
      assert.deepEqual(parse(chunks), [
        ['head', 204],
        ['complete', 204, true],
        ['head', 304],
        ['complete', 304, true],
      ]);
    }
  });

  test('keep-alive: HTTP/1.1 by default, HTTP/1.0 only when asked; Connection: close ends the stream', () => {
    assert.deepEqual(parse([crlf('HTTP/1.0 200 OK', 'Content-Length: 0', '', '')]), [
      ['head', 200],
      ['complete', 200, false],
    ]);
    assert.deepEqual(parse([crlf('HTTP/1.0 200 OK', 'Connection: Keep-Alive', 'Content-Length: 0', '', '')]), [
      ['head', 200],
      ['complete', 200, true],
    ]);
    // What follows a closing response is not read as another response.
    const events = parse([
      crlf('HTTP/1.1 500 Oops', 'Connection: close', 'Content-Length: 0', '', 'HTTP/1.1 200 OK', '', ''),
    ]);
    assert.deepEqual(events, [
      ['head', 500],
      ['complete', 500, false],
    ]);
  });

  test('a body with no length runs to the close', () => {
    const bytes = crlf('HTTP/1.1 200 OK', 'Content-Type: text/plain', '', 'all of this, and more');
    assert.deepEqual(parse([bytes]), [['head', 200]], 'not complete before the close');
    assert.deepEqual(parse([bytes], { close: true }), [
      ['head', 200],
      ['complete', 200, false],
    ]);
  });

  test('bytes that are not a response are refused with a stable code', () => {
    const bad = [
      crlf('HTTP/2 200 OK', '', ''),
      crlf('HTTP/1.1 20 OK', '', ''),
      crlf('HTTP/1.1 200OK', '', ''),
      crlf('SSH-2.0-OpenSSH_9.2', '', ''),
      crlf('HTTP/1.1 200 OK', 'Content-Length: -1', '', ''),
      crlf('HTTP/1.1 200 OK', 'Content-Length: 1', 'Content-Length: 2', '', ''),
      crlf('HTTP/1.1 200 OK', 'no colon here', '', ''),
      crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', 'zz', ''),
      crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', '1', 'ab', ''),
      crlf('HTTP/1.1 101 Switching Protocols', '', ''),
    ];
    for (const bytes of bad) {
      assert.throws(
        () => parse([bytes]),
        (err: unknown) => err instanceof ResponseParseError && err.code === 'LOAD_BAD_RESPONSE',
        bytes.toString('latin1'),
      );
    }
    const huge = Buffer.from(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(MAX_HEAD_BYTES)}`, 'latin1');
    assert.throws(() => parse([huge.subarray(0, 1000), huge.subarray(1000)]), ResponseParseError);
    // Trickled a byte at a time, the head is still bounded (and its end found across the seams).
    assert.throws(
      () => parse(Array.from(huge.subarray(0, MAX_HEAD_BYTES + 10), (b) => Buffer.from([b]))),
      ResponseParseError,
    );
  });

  test('property: any sequence of responses, cut anywhere, is framed exactly', () => {
    const response = fc.record({
      status: fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 304),
      framing: fc.constantFrom('length', 'chunked'),
      body: fc.uint8Array({ maxLength: 300 }),
      chunkSizes: fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 8 }),
      extraHeaders: fc.array(fc.stringMatching(/^[a-z][a-z-]{0,10}: [ -~]{0,20}$/), { maxLength: 4 }),
      interim: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(response, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (rs, cuts) => {
          const parts: Buffer[] = [];
          const expected: Event[] = [];
          for (const r of rs) {
            if (r.interim) parts.push(crlf('HTTP/1.1 100 Continue', '', ''));
            const headers = r.extraHeaders.filter((h) => !/^(content-length|transfer-encoding|connection):/.test(h));
            const body = Buffer.from(r.body);
            if (r.framing === 'length') {
              parts.push(crlf(`HTTP/1.1 ${r.status} X`, ...headers, `Content-Length: ${body.length}`, '', ''), body);
            } else {
              parts.push(crlf(`HTTP/1.1 ${r.status} X`, ...headers, 'Transfer-Encoding: chunked', '', ''));
              let at = 0;
              for (const size of r.chunkSizes) {
                const piece = body.subarray(at, at + size);
                if (piece.length === 0) break;
                parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
                at += piece.length;
              }
              parts.push(Buffer.from('0\r\n\r\n'));
            }
            expected.push(['head', r.status], ['complete', r.status, true]);
          }
          const bytes = Buffer.concat(parts);
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let from = 0;
          for (const p of points) {
            chunks.push(bytes.subarray(from, p));
            from = p;
          }
          chunks.push(bytes.subarray(from));
          assert.deepEqual(parse(chunks), expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
