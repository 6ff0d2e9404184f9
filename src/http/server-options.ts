/**
 * The options of Node's HTTP server that bound how long a client may take to send a request, and
 * the one that hands a check Node would answer unrecorded over to the app.
 *
 * Node measures a request head from the connection's opening (or the request's first byte on a
 * reused connection), but only checks every `connectionsCheckingInterval` (30 s by default): with
 * its defaults a slowloris client kept a connection for 60 to 90 s. Here the head has
 * `headersTimeoutMs` and the check runs ten times within it (at most once a second). The whole
 * request (head and body) gets the head's time plus the body's, so the body timeout, which answers
 * a recorded 408 itself, always fires first; Node's deadline only catches bodies no route reads.
 * A connection past either deadline is closed by Node through the client-error handler, which
 * answers 408 and records it (client-errors.ts).
 */
import type { ServerOptions } from 'node:http';

/** Fastify's options for it: `requestTimeout` is fastify's too, which sets it on the server after creating it. */
export interface ServerTimeoutOptions {
  readonly requestTimeout: number;
  readonly http: ServerOptions;
}

const MAX_CHECK_INTERVAL_MS = 1000;
const MIN_CHECK_INTERVAL_MS = 10;

export function serverOptions(headersTimeoutMs: number, bodyTimeoutMs: number): ServerTimeoutOptions {
  const requestTimeout = headersTimeoutMs + bodyTimeoutMs;
  const checkIntervalMs = Math.min(
    MAX_CHECK_INTERVAL_MS,
    Math.max(MIN_CHECK_INTERVAL_MS, Math.floor(headersTimeoutMs / 10)),
  );
  return {
    requestTimeout,
    http: {
      headersTimeout: headersTimeoutMs,
      requestTimeout,
      connectionsCheckingInterval: checkIntervalMs,
      // Node would answer a missing Host with a bare 400 and no request event: refusalOf() answers it.
      requireHostHeader: false,
    },
  };
}
