/**
 * Turns any error into one JSON response in fastify's error shape:
 * {"statusCode":400,"code":"SVC_ERR_MALFORMED_JSON","error":"Bad Request","message":"..."}.
 * Unexpected errors become a 500 that hides the details from the client and logs them.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../errors.js';
import type { Logger } from '../log/logger.js';

/** Errors that leave unread request bytes behind: the connection cannot be reused. */
const CLOSES_CONNECTION = new Set([
  'SVC_ERR_BODY_TOO_LARGE',
  'SVC_ERR_BODY_TIMEOUT',
  'SVC_ERR_REQUEST_TIMEOUT',
  'SVC_ERR_MISSING_HOST',
  'SVC_ERR_EXPECTATION_FAILED',
]);

interface ErrorBody {
  readonly statusCode: number;
  readonly code: string;
  readonly error: string;
  readonly message: string;
}

function describe(err: FastifyError | Error): ErrorBody | undefined {
  if (err instanceof HttpError) {
    return {
      statusCode: err.statusCode,
      code: err.code,
      error: STATUS_CODES[err.statusCode] ?? '',
      message: err.message,
    };
  }
  // fastify's own client errors (bad URL, bad content type, ...) keep their status and code.
  const status = (err as FastifyError).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = (err as FastifyError).code ?? 'SVC_ERR_INVALID_REQUEST';
    return { statusCode: status, code, error: STATUS_CODES[status] ?? '', message: err.message };
  }
  return undefined;
}

export function errorHandler(logger: Logger) {
  return (err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void => {
    if (reply.sent || reply.raw.destroyed) return;
    let body = describe(err);
    if (body === undefined) {
      logger.error({ err, requestId: request.id }, 'request failed');
      body = { statusCode: 500, code: 'SVC_ERR_INTERNAL', error: STATUS_CODES[500] ?? '', message: 'internal error' };
    } else if (body.statusCode >= 500) {
      logger.warn({ requestId: request.id, code: body.code, error: body.message }, 'request failed');
    }
    if (CLOSES_CONNECTION.has(body.code)) reply.header('connection', 'close');
    reply.code(body.statusCode).type('application/json; charset=utf-8').send(body);
  };
}
