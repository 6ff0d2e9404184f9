/**
 * What the service answers when Node's HTTP parser gives up on a connection: bytes that are not
 * HTTP (400), a head over the size limit (431), a head or request that ran out of time (408).
 * Node (and fastify's default handler) would write a bare status that no wide event records; this
 * handler writes it itself, in the service's error shape with an `x-request-id`, and records it:
 *
 * - a request still waiting for its response on that connection gets the status as its answer, and
 *   its own record says so (the handler's later response never reaches the client);
 * - otherwise a record of its own, `Operation` `Other`, a fresh id, the path when the bytes show it;
 * - a connection that never sent a byte gets neither a status nor a record; one the client reset, or
 *   closed before its request was complete, gets no status (the client is not waiting for one), and
 *   the request it had in flight is recorded as 499, as when a client leaves mid-body.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { pathOf, type Recorder } from '../middleware.js';
import { connectionAgeMs, servingResponse } from './connections.js';
import { newRequestId } from './request-id.js';

/** The parser's error: `code` is Node's (`HPE_*`, `ERR_HTTP_REQUEST_TIMEOUT`), `rawPacket` the bytes it failed on. */
export interface ClientError extends Error {
  readonly code?: string;
  readonly rawPacket?: unknown;
}

/** Method and path of a request line at the start of the bytes; only printable ASCII is believed. */
const REQUEST_LINE = /^([A-Z]{1,32}) ((?:\/|https?:\/\/)[\x21-\x7e]*)/;
/** Enough of the packet to hold a request line with a path of the longest recorded length. */
const REQUEST_LINE_CHARS = 2048;
/** What the record says where the bytes do not show a method or path. */
const UNKNOWN = '-';
/** How long the answer may take to flush before the socket is destroyed anyway (a client that never reads). */
const FLUSH_TIMEOUT_MS = 1000;

/** The client went away: it reset the connection, or ended its side in the middle of a request. */
const CLIENT_LEFT: ReadonlySet<string | undefined> = new Set(['ECONNRESET', 'EPIPE', 'HPE_INVALID_EOF_STATE']);

const ANSWERED = Symbol('answered');
interface AnsweredSocket extends Socket {
  [ANSWERED]?: true;
}

function statusFor(code: string | undefined): number {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 413;
    default:
      return 400;
  }
}

function requestLineOf(packet: unknown): { method: string; path: string } {
  const match = Buffer.isBuffer(packet) ? REQUEST_LINE.exec(packet.toString('latin1', 0, REQUEST_LINE_CHARS)) : null;
  if (match === null) return { method: UNKNOWN, path: UNKNOWN };
  return { method: match[1] ?? UNKNOWN, path: pathOf(match[2] ?? UNKNOWN) };
}

function response(status: number, code: string, message: string, requestId: string | undefined): string {
  const reason = STATUS_CODES[status] ?? '';
  const body = JSON.stringify({ statusCode: status, code, error: reason, message });
  const id = requestId === undefined ? '' : `x-request-id: ${requestId}\r\n`;
  return (
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\n${id}connection: close\r\n\r\n${body}`
  );
}

/** fastify's `clientErrorHandler`: answers, records, and closes the connection. */
export function clientErrorHandler(recorder: Recorder): (error: ClientError, socket: Socket) => void {
  return (error, socket) => {
    const answered = socket as AnsweredSocket;
    // The parser may fail again on bytes that arrive before the answer is flushed: one answer only.
    if (answered[ANSWERED] === true) {
      socket.destroy();
      return;
    }
    answered[ANSWERED] = true;
    const serving = servingResponse(socket);
    if (serving === undefined && socket.bytesRead === 0) {
      // Silent since it connected (a preconnect, a TCP probe): no request, so no status and no record.
      socket.destroy();
      return;
    }
    if (serving?.headersSent === true) {
      // Part of a response is out: a status now would corrupt it. The record says it was cut.
      socket.destroy();
      return;
    }
    if (!socket.writable || CLIENT_LEFT.has(error.code)) {
      if (serving !== undefined) recorder.answeredByConnection(serving, 499);
      socket.destroy();
      return;
    }
    const status = statusFor(error.code);
    const code = error.code ?? 'SVC_ERR_INVALID_REQUEST';
    if (serving !== undefined) {
      // The client reads this as the answer to its request in flight: record it as that request's.
      socket.write(response(status, code, error.message, recorder.answeredByConnection(serving, status)));
    } else {
      const requestId = newRequestId();
      const { method, path } = requestLineOf(error.rawPacket);
      socket.write(response(status, code, error.message, requestId));
      recorder.recordRefused(requestId, method, path, status, connectionAgeMs(socket));
    }
    // Flush the answer, then close: a client that never closes its side cannot keep the socket open.
    socket.destroySoon();
    setTimeout(() => socket.destroy(), FLUSH_TIMEOUT_MS).unref();
  };
}
