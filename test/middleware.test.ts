import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyReply } from 'fastify';
import { RequestMetrics } from '../src/metrics.js';
import { errorKindFor, RequestTelemetry } from '../src/middleware.js';
import { JsonFormatter, MemorySink, openRecord, RecordEmitter } from '../src/record/index.js';

const telemetry = () =>
  new RequestTelemetry(
    openRecord(RequestMetrics, new RecordEmitter(new JsonFormatter(), new MemorySink())),
    {} as FastifyReply,
    0,
  );

describe('recorder pieces', () => {
  test('error kinds follow the status when the code did not set one', () => {
    assert.deepEqual([200, 204, 400, 404, 408, 413, 500, 502, 503, 504].map(errorKindFor), [
      undefined,
      undefined,
      'InvalidRequest',
      'InvalidRequest',
      'Timeout',
      'InvalidRequest',
      'Internal',
      'Downstream',
      'Downstream',
      'Timeout',
    ]);
  });

  test('the request signal is created on first read, and an abort before that is not lost', () => {
    const early = telemetry();
    const reason = new Error('client closed the connection');
    early.abort(reason);
    assert.equal(early.signal.aborted, true);
    assert.equal(early.signal.reason, reason);

    const late = telemetry();
    const signal = late.signal;
    assert.equal(signal.aborted, false);
    late.abort(new Error('timeout'));
    assert.equal(signal.aborted, true);
    late.abort(new Error('second'));
    assert.equal((signal.reason as Error).message, 'timeout', 'the first reason wins');
  });
});
