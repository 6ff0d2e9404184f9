import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpError } from '../src/errors.js';

test('HttpError: a 4xx carries no stack frames, a 5xx does, and the stack limit is left as it was', () => {
  const limit = Error.stackTraceLimit;
  const notFound = new HttpError(404, 'SVC_ERR_ITEM_NOT_FOUND', 'no item with key "k"');
  assert.equal(Error.stackTraceLimit, limit);
  assert.equal(notFound.statusCode, 404);
  assert.equal(notFound.code, 'SVC_ERR_ITEM_NOT_FOUND');
  assert.equal(notFound.message, 'no item with key "k"');
  assert.doesNotMatch(notFound.stack ?? '', /\n\s+at /);
  const failed = new HttpError(502, 'SVC_ERR_DOWNSTREAM', 'downstream said no', new Error('ECONNRESET'));
  assert.equal(Error.stackTraceLimit, limit);
  assert.match(failed.stack ?? '', /\n\s+at /);
  assert.equal((failed.cause as Error).message, 'ECONNRESET');
});
