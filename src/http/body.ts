/**
 * Reads request bodies for every content type, with the body limit (413) and the body timeout
 * (408) enforced here, so both errors flow through the same error handler and get recorded.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { HttpError } from '../errors.js';

export interface BodyLimits {
  readonly limitBytes: number;
  readonly timeoutMs: number;
}

type Done = (err: Error | null, body?: Buffer) => void;

function tooLarge(limitBytes: number): HttpError {
  return new HttpError(413, 'SVC_ERR_BODY_TOO_LARGE', `request body larger than ${limitBytes} bytes`);
}

/** A fastify content-type parser that hands the handler a Buffer. */
export function bufferBodyParser(
  limits: BodyLimits,
): (request: FastifyRequest, payload: IncomingMessage, done: Done) => void {
  const { limitBytes, timeoutMs } = limits;
  return (request, payload, done) => {
    const declared = Number(request.headers['content-length']);
    if (declared > limitBytes) {
      done(tooLarge(limitBytes));
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let finished = false;

    const finish = (err: Error | null, body?: Buffer): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
      payload.removeListener('close', onClose);
      done(err, body);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limitBytes) finish(tooLarge(limitBytes));
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish(null, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received));
    const onError = (err: Error): void => finish(err);
    // 'close' before 'end': the client went away mid-body.
    const onClose = (): void => finish(new Error('client closed the connection before sending the whole body'));
    const timer = setTimeout(
      () => finish(new HttpError(408, 'SVC_ERR_BODY_TIMEOUT', `request body not received within ${timeoutMs} ms`)),
      timeoutMs,
    );

    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
    payload.on('close', onClose);
  };
}
