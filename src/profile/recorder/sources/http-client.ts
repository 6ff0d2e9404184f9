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

export function watchHttpClient(ring: EventRing, requests: RequestTracker, keepErrorsOnly: boolean): () => void {
  const seqs = new WeakMap<object, number>();
  const status = new WeakMap<object, number>();

  const start = (
    request: object,
    client: string,
    method: string | undefined,
    origin: string,
    path: string | undefined,
  ) => {
    const seq = requests.nextSeq();
    seqs.set(request, seq);
    if (keepErrorsOnly) return;
    ring.put(
      EV.httpOutStart,
      performance.now(),
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
    if (keepErrorsOnly && error === undefined) return;
    ring.put(EV.httpOutEnd, performance.now(), seq, status.get(request) ?? 0, ring.intern(error));
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
        const r = (m as { request: ClientRequest }).request;
        start(r, 'http', r.method, `${r.protocol}//${r.host}`, r.path);
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
