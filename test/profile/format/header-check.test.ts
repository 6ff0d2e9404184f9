/**
 * The decoder checks a header before trusting it: a schema whose known events differ from this
 * reader's (one flipped bit in a field name), or a header missing what the readers use, is refused
 * with a TraceFormatError that says what is wrong, instead of a TypeError far away in a reader.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeSegment,
  EV,
  EVENTS,
  encodeHeader,
  FILE_MAGIC,
  readHeader,
  SegmentEncoder,
  TraceFormatError,
  type TraceHeader,
} from '../../../src/profile/format/index.js';
import { concat, TEST_HEADER } from './hand-encoded.js';

/** A segment whose header JSON is `json` as written (not through encodeHeader). */
function withJson(json: string, version = 2): Uint8Array {
  const body = new TextEncoder().encode(json);
  const preamble = new Uint8Array(16);
  preamble.set(FILE_MAGIC);
  const view = new DataView(preamble.buffer);
  view.setUint32(8, version, true);
  view.setUint32(12, body.length, true);
  return concat([preamble, body]);
}

function refused(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => decodeSegment(bytes),
    (err: unknown) => err instanceof TraceFormatError && pattern.test(err.message),
  );
}

const headerJson = (change: (header: Record<string, unknown>) => void): string => {
  const header = JSON.parse(JSON.stringify({ ...TEST_HEADER, version: 2 })) as Record<string, unknown>;
  change(header);
  return JSON.stringify(header);
};

describe('segment header checks', () => {
  it('reads a header as the encoder writes it, version 2 and version 1', () => {
    const encoder = new SegmentEncoder();
    encoder.event(EV.stall, 10, [30_000, 1, 1, 0, 0, 0]);
    const segment = decodeSegment(concat([encodeHeader(TEST_HEADER), encoder.takeBlock() as Uint8Array]));
    assert.equal(segment.events.stall?.count, 1);
    assert.equal(readHeader(encodeHeader(TEST_HEADER, 1))?.header.version, 1);
  });

  it('refuses a known event whose schema a bit flip changed (field name, kind, delta, event name)', () => {
    const flip = (from: string, to: string) => {
      const json = JSON.stringify({ ...TEST_HEADER, version: 2 });
      assert.ok(json.includes(from), from);
      return withJson(json.replace(from, to));
    };
    refused(
      flip('{"name":"request","kind":"u","delta":true}', '{"nime":"request","kind":"u","delta":true}'),
      /malformed field 0/,
    );
    refused(
      flip('{"name":"request","kind":"u","delta":true}', '{"name":"requeSt","kind":"u","delta":true}'),
      /event 6 \(requestOpen\) unlike this reader: field 0 is "requeSt", not request/,
    );
    refused(flip('{"name":"durationUs","kind":"u"}', '{"name":"durationUs","kind":"i"}'), /event 2 \(stall\).*kind i/);
    refused(flip('"kind":"u","delta":true', '"kind":"u","delte":true'), /not delta-coded/);
    refused(flip('"name":"stall"', '"name":"stalm"'), /event 2 \(stall\) unlike this reader: it is named "stalm"/);
  });

  it('refuses a known event with fewer fields than this reader has, accepts more at the end', () => {
    const stall = EVENTS.find((spec) => spec.id === EV.stall);
    const withStall = (fields: unknown[]) => withJson(headerJson((h) => (h.events = [{ ...stall, fields }])));
    refused(withStall(stall?.fields.slice(0, 5) ?? []), /event 2 \(stall\).*5 fields where it has 6/);
    const more = readHeader(withStall([...(stall?.fields ?? []), { name: 'newer', kind: 'u' }]));
    assert.equal(more?.header.events[0]?.fields.length, 7);
  });

  it('accepts events it does not know, as a newer recorder writes them', () => {
    const json = headerJson((h) => {
      h.events = [...EVENTS, { id: 99, name: 'future', fields: [{ name: 'x', kind: 'u' }], doc: 'new' }];
    });
    assert.equal(readHeader(withJson(json))?.header.events.length, EVENTS.length + 1);
  });

  it('refuses headers missing what the readers use, saying what', () => {
    refused(withJson('{}'), /its header does not say format "dial9-node"/);
    refused(withJson('null'), /its header is not a JSON object/);
    refused(withJson('{"format":'), /its header is not JSON/);
    refused(withJson(headerJson((h) => (h.process = null))), /its header has no object process$/);
    refused(withJson(headerJson((h) => ((h.process as Record<string, unknown>).pid = '1'))), /no number process\.pid/);
    refused(withJson(headerJson((h) => ((h.process as Record<string, unknown>).host = 5))), /no string process\.host/);
    refused(withJson(headerJson((h) => (h.timeOriginMs = 'x'))), /no number timeOriginMs/);
    refused(withJson(headerJson((h) => (h.recording = 5))), /no object recording/);
    refused(withJson(headerJson((h) => (h.events = null))), /no array events/);
    refused(
      withJson(headerJson((h) => (h.events = [{ id: 2, name: 'stall', fields: 'nope' }]))),
      /event 2 \(stall\) without an array of fields/,
    );
    refused(withJson(headerJson((h) => (h.events = [EVENTS[0], EVENTS[0]]))), /defines event 1 twice/);
    refused(withJson(headerJson((h) => (h.version = 1))), /says version 1 where the file says 2/);
  });

  it('a header cut short is still "not all there yet", not an error', () => {
    const bytes = encodeHeader(TEST_HEADER as TraceHeader);
    assert.equal(readHeader(bytes.subarray(0, bytes.length - 1)), undefined);
  });
});
