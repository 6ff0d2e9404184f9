/** Generated request ids and their numbers (what the flight recorder keys and stores instead of the text). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GENERATED_ID_PREFIX, generatedIdNumber, newRequestId } from '../../src/http/request-id.js';

describe('generated request ids', () => {
  test('are the process prefix and a number; generatedIdNumber gives the number back exactly', () => {
    assert.match(GENERATED_ID_PREFIX, /^[0-9a-hjkmnp-tv-z]{13}-$/);
    const first = newRequestId();
    const second = newRequestId();
    const n = generatedIdNumber(first);
    assert.ok(n > 0);
    assert.equal(GENERATED_ID_PREFIX + n, first);
    assert.equal(generatedIdNumber(second), n + 1, 'also for an id that is not the last one made');
    assert.equal(generatedIdNumber(first), n, 'and for an older one');
    // One of ours sent back by a client (a retry) is the same text: the same number.
    assert.equal(generatedIdNumber(`${GENERATED_ID_PREFIX}${n}`), n);
  });

  test('anything that is not exactly prefix + canonical decimal is 0 (kept as a string)', () => {
    for (const id of [
      '',
      'client-chosen-1',
      GENERATED_ID_PREFIX,
      `${GENERATED_ID_PREFIX}0`,
      `${GENERATED_ID_PREFIX}007`,
      `${GENERATED_ID_PREFIX}12a`,
      `${GENERATED_ID_PREFIX}-12`,
      `${GENERATED_ID_PREFIX}1234567890123456`, // 16 digits: past what a sequence reaches, maybe unsafe
      `x${GENERATED_ID_PREFIX}12`,
      `${GENERATED_ID_PREFIX.slice(0, -1)}_12`,
    ])
      assert.equal(generatedIdNumber(id), 0, id);
    assert.equal(generatedIdNumber(`${GENERATED_ID_PREFIX}123456789012345`), 123456789012345);
  });
});
