/**
 * The request lifecycle, published on two named `diagnostics_channel`s so that observers (the
 * flight recorder, a user's own tooling) learn about requests without importing the app.
 * Publishing costs a property check when nobody subscribes: callers test `hasSubscribers` first,
 * so no message object is built for nobody.
 *
 * Subscribe with `diagnostics_channel.subscribe(REQUEST_OPENED_CHANNEL, fn)`; the names are part
 * of the public surface and keep their meaning.
 */
import diagnosticsChannel from 'node:diagnostics_channel';

/** A request entered the recorder: its wide event is open. */
export const REQUEST_OPENED_CHANNEL = 'service:request:opened';
/** A request's wide event closed: its response was sent, failed or cut. */
export const REQUEST_CLOSED_CHANNEL = 'service:request:closed';

export interface RequestOpenedMessage {
  readonly requestId: string;
  /**
   * When `requestId` is one this process generated: `requestId === requestIdPrefix + requestIdNumber`
   * (`requestIdPrefix` is the same string for every such request). 0 and '' otherwise. Absent from
   * other publishers' messages.
   */
  readonly requestIdNumber?: number;
  readonly requestIdPrefix?: string;
  /** The wide event's `Operation` (`Other` where no route matched). */
  readonly operation: string;
  readonly method: string;
  readonly path: string;
  /** `performance.now()` when the recorder saw the request. */
  readonly startMs: number;
}

export interface RequestClosedMessage {
  readonly requestId: string;
  /** As in the opened message. */
  readonly requestIdNumber?: number;
  readonly operation: string;
  /** The status recorded in the wide event (499 when the client left, 503 when shutdown cut it). */
  readonly statusCode: number;
  /** The wide event's `Duration`. */
  readonly durationMs: number;
  /** The wide event's `ErrorKind`, when there is one. */
  readonly errorKind: string | undefined;
  /** `performance.now()` when the wide event's `Duration` was taken (the request's start plus it). */
  readonly endMs: number;
}

export const requestOpened = diagnosticsChannel.channel(REQUEST_OPENED_CHANNEL);
export const requestClosed = diagnosticsChannel.channel(REQUEST_CLOSED_CHANNEL);

/** Publishes `service:request:opened` (callers check `requestOpened.hasSubscribers` first). */
export function publishRequestOpened(
  requestId: string,
  requestIdNumber: number,
  requestIdPrefix: string,
  operation: string,
  method: string,
  path: string,
  startMs: number,
): void {
  requestOpened.publish({
    requestId,
    requestIdNumber,
    requestIdPrefix,
    operation,
    method,
    path,
    startMs,
  } satisfies RequestOpenedMessage);
}

/**
 * Publishes `service:request:closed` (callers check `requestClosed.hasSubscribers` first). `endMs`
 * is the caller's start plus `durationMs`: the clock was read once for the duration, and reading it
 * again here cost ~80 ns a request for a value a few µs later.
 */
export function publishRequestClosed(
  requestId: string,
  requestIdNumber: number,
  operation: string,
  statusCode: number,
  durationMs: number,
  errorKind: string | undefined,
  endMs: number,
): void {
  requestClosed.publish({
    requestId,
    requestIdNumber,
    operation,
    statusCode,
    durationMs,
    errorKind,
    endMs,
  } satisfies RequestClosedMessage);
}
