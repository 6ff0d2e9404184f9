/**
 * Outgoing requests through undici (fetch included) and node:http's client, from their
 * diagnostics channels: start, response headers, end or error. A trace can then tell a busy loop
 * from a slow downstream.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { EV } from '../../format/schema.js';
import type { RequestTracker } from '../requests.js';
import type { EventRing } from '../ring.js';

interface UndiciRequest {
  readonly method?: string;
  readonly origin?: string | URL;
  readonly path?: string;
}

/** A start left out by the error-only filter: written after all when its request fails. */
interface HeldStart {
  readonly timeMs: number;
  readonly client: string;
  readonly method: string | undefined;
  readonly origin: string;
  readonly path: string | undefined;
}

export function watchHttpClient(ring: EventRing, requests: RequestTracker, keepErrorsOnly: boolean): () => void {
  const seqs = new WeakMap<object, number>();
  const status = new WeakMap<object, number>();
  /** Only when keeping errors only: an error without its start would not say where the request went. */
  const held = new WeakMap<object, HeldStart>();

  const start = (
    request: object,
    client: string,
    method: string | undefined,
    origin: string,
    path: string | undefined,
  ) => {
    const seq = requests.nextSeq();
    seqs.set(request, seq);
    const timeMs = performance.now();
    if (keepErrorsOnly) {
      held.set(request, { timeMs, client, method, origin, path });
      return;
    }
    putStart(timeMs, seq, client, method, origin, path);
  };
  const putStart = (
    timeMs: number,
    seq: number,
    client: string,
    method: string | undefined,
    origin: string,
    path: string | undefined,
  ) => {
    ring.put(
      EV.httpOutStart,
      timeMs,
      seq,
      ring.intern(client),
      ring.intern(method),
      ring.intern(origin),
      ring.inline(path),
    );
  };
  const headers = (request: object, statusCode: number) => {
    status.set(request, statusCode);
    if (keepErrorsOnly) return;
    ring.put(EV.httpOutHeaders, performance.now(), seqs.get(request) ?? 0, statusCode);
  };
  const end = (request: object, error: string | undefined) => {
    const seq = seqs.get(request);
    if (seq === undefined) return;
    seqs.delete(request);
    if (keepErrorsOnly) {
      const first = held.get(request);
      held.delete(request);
      if (error === undefined) return;
      // Written with the time it started (the format allows a step back in time).
      if (first !== undefined) putStart(first.timeMs, seq, first.client, first.method, first.origin, first.path);
    }
    ring.put(EV.httpOutEnd, performance.now(), seq, status.get(request) ?? 0, ring.intern(error));
  };
  /**
   * node:http's client: `http.client.request.error` says why a request failed; `close` ends the
   * request too where no response came and nothing said why, so it does not stay open in the trace
   * forever. An upgrade (WebSocket) or CONNECT that succeeded gets its response without
   * `http.client.response.finish`: ended at `close` with that status, not as an error. A `close`
   * listener changes nothing for the program, unlike an `error` or `upgrade` one.
   */
  const nodeStart = (r: ClientRequest) => {
    start(r, 'http', r.method, nodeOrigin(r), r.path);
    r.once('close', () => {
      if (status.has(r)) return;
      const response = (r as ClientRequest & { res?: IncomingMessage | null }).res;
      const upgraded = (r as ClientRequest & { upgradeOrConnect?: boolean }).upgradeOrConnect === true;
      if (upgraded || response != null) {
        status.set(r, response?.statusCode ?? 0);
        end(r, undefined);
      } else end(r, 'ERR_CLOSED');
    });
  };

  const subscriptions: [string, (message: unknown) => void][] = [
    [
      'undici:request:create',
      (m) => {
        const r = (m as { request: UndiciRequest }).request;
        start(r, 'undici', r.method, String(r.origin ?? ''), r.path);
      },
    ],
    [
      'undici:request:headers',
      (m) => {
        const { request, response } = m as { request: object; response: { statusCode: number } };
        headers(request, response.statusCode);
      },
    ],
    ['undici:request:trailers', (m) => end((m as { request: object }).request, undefined)],
    [
      'undici:request:error',
      (m) => {
        const { request, error } = m as { request: object; error: Error & { code?: string } };
        end(request, error.code ?? error.name);
      },
    ],
    [
      'http.client.request.start',
      (m) => {
        nodeStart((m as { request: ClientRequest }).request);
      },
    ],
    [
      'http.client.request.error',
      (m) => {
        const { request, error } = m as { request: ClientRequest; error: Error & { code?: string } };
        end(request, error.code ?? error.name);
      },
    ],
    [
      'http.client.response.finish',
      (m) => {
        const { request, response } = m as { request: ClientRequest; response: IncomingMessage };
        // Published when the response headers are parsed (despite its name): the body ends later.
        headers(request, response.statusCode ?? 0);
        response.once('end', () => end(request, undefined));
        response.once('error', (err: Error & { code?: string }) => end(request, err.code ?? err.name));
      },
    ],
  ];
  for (const [name, fn] of subscriptions) diagnosticsChannel.subscribe(name, fn);
  return () => {
    for (const [name, fn] of subscriptions) diagnosticsChannel.unsubscribe(name, fn);
  };
}

/**
 * Where a node:http request goes: its protocol and the Host header Node wrote (`host:port`, the port
 * left out when it is the protocol's default). `request.host` alone has no port. A Host header the
 * program set for another name (a virtual host, a proxy) is not where the request went: then the
 * host alone.
 */
function nodeOrigin(r: ClientRequest): string {
  const header = r.getHeader('host');
  const host = typeof header === 'string' ? header : '';
  const lower = host.toLowerCase();
  const name = r.host.toLowerCase();
  const ours = lower === name || lower.startsWith(`${name}:`) || lower.startsWith(`[${name}]:`);
  return `${r.protocol}//${ours ? host : r.host}`;
}
