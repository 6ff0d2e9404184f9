/**
 * Two checks Node's HTTP server would answer itself, with a bare status and no request event, so
 * with no wide event either: the app turns them off in Node (`requireHostHeader: false`, a
 * `checkExpectation` listener that passes the request on) and the recorder's hook runs these.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from '../errors.js';

/** Node's own test for an expectation it can meet. */
const CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i;
/** How much of an unmet expectation the error message repeats. */
const MAX_EXPECT_CHARS = 64;

/** The error to answer `request` with before routing, or undefined to serve it. */
export function refusalOf(request: IncomingMessage): HttpError | undefined {
  // Both rules are HTTP/1.1's (RFC 9112 §3.2, RFC 9110 §10.1.1); Node applies them to 1.1 only.
  if (request.httpVersionMajor !== 1 || request.httpVersionMinor !== 1) return undefined;
  const headers = request.headers;
  if (headers.host === undefined) {
    return new HttpError(400, 'SVC_ERR_MISSING_HOST', 'an HTTP/1.1 request needs a Host header');
  }
  const expect = headers.expect;
  if (expect !== undefined && !CONTINUE.test(expect)) {
    return new HttpError(
      417,
      'SVC_ERR_EXPECTATION_FAILED',
      `cannot meet the expectation ${JSON.stringify(expect.slice(0, MAX_EXPECT_CHARS))}; only 100-continue is supported`,
    );
  }
  return undefined;
}
