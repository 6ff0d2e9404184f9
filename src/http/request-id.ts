import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Ids from upstream proxies and clients are kept when they look like ids: short, no spaces or quotes. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:/+=@-]{1,128}$/;

/** The request id: a sane incoming `x-request-id`, or a new UUID. */
export function requestIdFrom(request: IncomingMessage): string {
  const incoming = request.headers['x-request-id'];
  return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}
