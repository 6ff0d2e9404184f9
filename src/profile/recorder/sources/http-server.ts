/**
 * Requests served: the service's lifecycle channels (request id, operation, status) and, for any
 * other Node program, node:http's own server channels. Once the service's channel speaks, node:http's
 * are dropped: they would record every request twice. node:http's start comes first, so the request
 * that first speaks on the service's channel already has an `httpInStart`: its `httpInEnd` is still
 * recorded (the finish channel is kept until the requests it started have ended). A program known to
 * publish the service's channels (`service run`) skips node:http's altogether.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  REQUEST_CLOSED_CHANNEL,
  REQUEST_OPENED_CHANNEL,
  type RequestClosedMessage,
  type RequestOpenedMessage,
} from '../../../request-lifecycle.js';
import { EV } from '../../format/schema.js';
import { OpenRequests } from '../open-requests.js';
import type { RequestTracker } from '../requests.js';
import type { EventRing } from '../ring.js';

interface HttpServerMessage {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
}

export function watchHttpServer(ring: EventRing, requests: RequestTracker, serviceChannelsOnly = false): () => void {
  /** Open requests' numbers, by the generated id's number or else the request id. */
  const open = new OpenRequests();
  const httpSeq = new WeakMap<object, number>();

  let nodeHttp = !serviceChannelsOnly;
  let finishing = !serviceChannelsOnly;
  const stopFinishing = (): void => {
    finishing = false;
    diagnosticsChannel.unsubscribe('http.server.response.finish', onFinish);
  };
  const onOpened = (message: unknown): void => {
    const m = message as RequestOpenedMessage;
    if (nodeHttp) {
      nodeHttp = false;
      diagnosticsChannel.unsubscribe('http.server.request.start', onStart);
      if (requests.inFlight[1] === 0) stopFinishing();
    }
    const seq = requests.nextSeq();
    // A generated id is kept and sent as its number: no string to hash here or to copy to the writer.
    const idNumber = m.requestIdNumber ?? 0;
    open.open(idNumber > 0 ? idNumber : m.requestId, seq);
    requests.open(0, 1);
    requests.touch(0, seq, m.startMs);
    // Interned first: interning may ship the buffer, and inline strings go with the buffer they are in.
    const operation = ring.intern(m.operation);
    const method = ring.intern(m.method);
    const prefix = idNumber > 0 ? ring.intern(m.requestIdPrefix) : 0;
    ring.put(
      EV.requestOpen,
      m.startMs,
      seq,
      idNumber > 0 ? ring.numbered(prefix, idNumber) : ring.inline(m.requestId),
      operation,
      method,
      ring.inline(m.path),
    );
  };
  const onClosed = (message: unknown): void => {
    const m = message as RequestClosedMessage;
    const idNumber = m.requestIdNumber ?? 0;
    const seq = open.close(idNumber > 0 ? idNumber : m.requestId);
    if (seq !== 0) requests.open(0, -1);
    requests.touch(0, seq, m.endMs);
    requests.recordDuration(m.durationMs);
    ring.put(EV.requestClose, m.endMs, seq, m.statusCode, m.durationMs * 1000, ring.intern(m.errorKind));
  };
  const onStart = (message: unknown): void => {
    const { request } = message as HttpServerMessage;
    const now = performance.now();
    const seq = requests.nextSeq();
    httpSeq.set(request, seq);
    requests.open(1, 1);
    requests.touch(1, seq, now);
    ring.put(EV.httpInStart, now, seq, ring.intern(request.method), ring.inline(request.url));
  };
  const onFinish = (message: unknown): void => {
    const { request, response } = message as HttpServerMessage;
    const now = performance.now();
    const seq = httpSeq.get(request) ?? 0;
    if (seq !== 0) {
      httpSeq.delete(request);
      requests.open(1, -1);
    }
    requests.touch(1, seq, now);
    ring.put(EV.httpInEnd, now, seq, response.statusCode);
    if (!nodeHttp && requests.inFlight[1] === 0) stopFinishing();
  };

  const service: [string, (message: unknown) => void][] = [
    [REQUEST_OPENED_CHANNEL, onOpened],
    [REQUEST_CLOSED_CHANNEL, onClosed],
  ];
  const node: [string, (message: unknown) => void][] = [
    ['http.server.request.start', onStart],
    ['http.server.response.finish', onFinish],
  ];
  for (const [name, fn] of serviceChannelsOnly ? service : [...service, ...node])
    diagnosticsChannel.subscribe(name, fn);
  return () => {
    for (const [name, fn] of service) diagnosticsChannel.unsubscribe(name, fn);
    if (nodeHttp) diagnosticsChannel.unsubscribe('http.server.request.start', onStart);
    if (finishing) stopFinishing();
  };
}
