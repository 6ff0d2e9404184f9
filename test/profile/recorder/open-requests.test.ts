import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OpenRequests } from '../../../src/profile/recorder/open-requests.js';

describe('open requests', () => {
  test('a generated number and a request id each give back their sequence number once', () => {
    const open = new OpenRequests();
    open.open(41, 1);
    open.open('client-id', 2);
    assert.equal(open.size, 2);
    assert.equal(open.close(41), 1);
    assert.equal(open.close(41), 0, 'forgotten once closed');
    assert.equal(open.close('client-id'), 2);
    assert.equal(open.close('client-id'), 0);
    assert.equal(open.close(99), 0, 'never opened');
    assert.equal(open.size, 0);
  });

  test('a request open across thousands of newer ones keeps its number (moved out of its slot)', () => {
    const open = new OpenRequests();
    open.open(1, 1000);
    // 10,000 requests open and close in order while number 1 stays open: its slot is taken twice.
    for (let n = 2; n <= 10_001; n++) {
      open.open(n, n);
      if (n >= 52) assert.equal(open.close(n - 50), n - 50);
    }
    assert.equal(open.close(1), 1000);
    for (let n = 9_952; n <= 10_001; n++) assert.equal(open.close(n), n);
    assert.equal(open.size, 0, 'nothing left behind');
  });

  test('numbers past 2^32 and out-of-order closes', () => {
    const open = new OpenRequests();
    const big = 2 ** 40 + 7;
    open.open(big, 5);
    open.open(big + 4096, 6); // the same slot
    assert.equal(open.close(big + 4096), 6);
    assert.equal(open.close(big), 5);
    assert.equal(open.size, 0);
  });

  test("gives back each request's mark at its close, in its slot, moved out of it, or by a request id", () => {
    const open = new OpenRequests();
    open.open(1, 10, 100);
    open.open('client-id', 11, 101);
    open.open(2, 12);
    open.open(1 + 4096, 13, 103); // takes number 1's slot: 1 moves to the Map with its mark
    assert.equal(open.close(2), 12);
    assert.equal(open.closedMark, -1, 'opened without a mark');
    assert.equal(open.close(1), 10);
    assert.equal(open.closedMark, 100);
    assert.equal(open.close('client-id'), 11);
    assert.equal(open.closedMark, 101);
    assert.equal(open.close(1 + 4096), 13);
    assert.equal(open.closedMark, 103);
    assert.equal(open.close('never'), 0);
    assert.equal(open.closedMark, -1);
  });
});
