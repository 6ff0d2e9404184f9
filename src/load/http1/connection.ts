/**
 * One keep-alive HTTP/1.1 connection of the load generator's own client: requests are written as
 * pre-encoded bytes and responses framed by a parser that skips bodies. It speaks the same handler
 * protocol as undici's `dispatch` (onConnect, onHeaders, onComplete, onError), so the engine drives
 * either client the same way.
 *
 * Why not undici here: measured on a 2-core machine shared with the server, undici's HTTP stack
 * costs about twice the client CPU per request of a plain `node:net` client (docs/load.md), and on
 * a shared machine the generator's CPU is taken from the server it measures.
 *
 * Failure rules, as undici's: a failed connect fails every request waiting for it; when an open
 * connection breaks, the request at the head of the line gets the error and those pipelined behind
 * it are written again on a new connection (the engine counts those as re-sent).
 */
import { connect, type Socket } from 'node:net';
import type { LoadRequest } from '../workload.js';
import type { RequestEncoder } from './request-encoder.js';
import { type ResponseEvents, ResponseParseError, ResponseParser } from './response-parser.js';

/** The part of undici's dispatch handler protocol the engine's handlers implement. */
export interface ResponseHandler {
  onConnect(abort: (err?: Error) => void): void;
  onHeaders(statusCode: number): boolean;
  onComplete(): void;
  onError(err: Error): void;
}

export class ConnectionError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export interface Http1ConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly encoder: RequestEncoder;
  /** Requests on the wire at once. */
  readonly pipelining: number;
  readonly connectTimeoutMs: number;
}

interface Pending {
  readonly request: LoadRequest;
  readonly handler: ResponseHandler;
}

export class Http1Connection implements ResponseEvents {
  readonly #options: Http1ConnectionOptions;
  /** One per socket, so bytes of a dropped connection can never be read as the next one's. */
  #parser = new ResponseParser(this);
  #socket: Socket | undefined;
  #connected = false;
  #connectTimer: NodeJS.Timeout | undefined;
  /** Dispatched, not yet written (waiting for the connection or a pipelining slot). */
  #waiting: Pending[] = [];
  /** Written, in order, awaiting their responses. */
  #inFlight: Pending[] = [];
  #destroyed = false;

  constructor(options: Http1ConnectionOptions) {
    this.#options = options;
  }

  dispatch(request: LoadRequest, handler: ResponseHandler): void {
    if (this.#destroyed) {
      handler.onError(new ConnectionError('LOAD_CLIENT_CLOSED', 'the connection was closed by the load generator'));
      return;
    }
    this.#waiting.push({ request, handler });
    this.#flush();
  }

  /** Closes the socket; anything still waiting or in flight fails. */
  destroy(): Promise<void> {
    this.#destroyed = true;
    const socket = this.#socket;
    const err = new ConnectionError('LOAD_CLIENT_CLOSED', 'the connection was closed by the load generator');
    this.#dropSocket();
    for (const p of this.#inFlight.splice(0)) p.handler.onError(err);
    for (const p of this.#waiting.splice(0)) p.handler.onError(err);
    return new Promise((resolve) => {
      if (socket === undefined || socket.closed) resolve();
      else socket.once('close', () => resolve());
    });
  }

  onResponseHead(status: number): void {
    this.#inFlight[0]?.handler.onHeaders(status);
  }

  onResponseComplete(_status: number, keepAlive: boolean): void {
    const done = this.#inFlight.shift();
    if (!keepAlive) {
      // The server said it closes: whatever was pipelined behind is re-sent on a new connection.
      this.#dropSocket();
      this.#requeueInFlight();
    } else {
      this.#expectNext();
    }
    done?.handler.onComplete();
    // Requests dispatched past the pipelining limit take the slot this response freed.
    this.#flush();
  }

  #flush(): void {
    if (this.#destroyed || this.#waiting.length === 0) return;
    const socket = this.#socket;
    if (socket === undefined) {
      this.#connect();
      return;
    }
    if (!this.#connected) return;
    const { pipelining, encoder } = this.#options;
    while (this.#waiting.length > 0 && this.#inFlight.length < pipelining) {
      const next = this.#waiting.shift() as Pending;
      this.#inFlight.push(next);
      if (this.#inFlight.length === 1) this.#expectNext();
      next.handler.onConnect((err) => this.#abort(next, err));
      socket.write(encoder.encode(next.request));
    }
  }

  #expectNext(): void {
    this.#parser.expectNoBody = this.#inFlight[0]?.request.method === 'HEAD';
  }

  #connect(): void {
    const { host, port, connectTimeoutMs } = this.#options;
    const socket = connect({ host, port, noDelay: true });
    this.#socket = socket;
    this.#connected = false;
    this.#parser = new ResponseParser(this);
    this.#connectTimer = setTimeout(() => {
      socket.destroy(new ConnectionError('LOAD_CONNECT_TIMEOUT', `no connection within ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
    let socketError: Error | undefined;
    socket.on('connect', () => {
      clearTimeout(this.#connectTimer);
      this.#connected = true;
      this.#flush();
    });
    socket.on('data', (chunk: Buffer) => this.#onData(socket, chunk));
    socket.on('error', (err) => {
      socketError = err;
    });
    socket.on('close', () => this.#onClose(socket, socketError));
  }

  #onData(socket: Socket, chunk: Buffer): void {
    if (socket !== this.#socket) return;
    try {
      this.#parser.execute(chunk);
    } catch (err) {
      // Only the server's bytes are the server's fault; anything else is a bug to surface.
      if (!(err instanceof ResponseParseError)) throw err;
      this.#failHead(err);
    }
  }

  #onClose(socket: Socket, err: Error | undefined): void {
    clearTimeout(this.#connectTimer);
    if (socket !== this.#socket) return;
    const wasConnected = this.#connected;
    // A body that runs to the end of the connection ends here.
    this.#parser.finish();
    if (socket !== this.#socket) return;
    this.#socket = undefined;
    this.#connected = false;
    if (!wasConnected) {
      const failure = err ?? new ConnectionError('ECONNRESET', 'connection closed while connecting');
      for (const p of this.#waiting.splice(0)) p.handler.onError(failure);
      return;
    }
    if (this.#inFlight.length > 0) {
      const head = this.#inFlight.shift() as Pending;
      this.#requeueInFlight();
      head.handler.onError(
        err ?? new ConnectionError('LOAD_SOCKET_CLOSED', 'the server closed the connection before responding'),
      );
    }
    this.#flush();
  }

  /** The head request failed (bad response): it gets the error, the connection is dropped. */
  #failHead(err: Error): void {
    const head = this.#inFlight.shift();
    this.#dropSocket();
    this.#requeueInFlight();
    head?.handler.onError(err);
    this.#flush();
  }

  /** The engine gave up on a request (its timeout). */
  #abort(pending: Pending, err: Error | undefined): void {
    const failure = err ?? new ConnectionError('LOAD_ABORTED', 'request aborted');
    const waitingAt = this.#waiting.indexOf(pending);
    if (waitingAt !== -1) {
      this.#waiting.splice(waitingAt, 1);
      pending.handler.onError(failure);
      return;
    }
    const at = this.#inFlight.indexOf(pending);
    if (at === -1) return;
    // Its response may still come, and would be taken for the next request's: start a new connection.
    this.#inFlight.splice(at, 1);
    this.#dropSocket();
    this.#requeueInFlight();
    pending.handler.onError(failure);
    this.#flush();
  }

  #requeueInFlight(): void {
    if (this.#inFlight.length > 0) this.#waiting.unshift(...this.#inFlight.splice(0));
  }

  #dropSocket(): void {
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#socket = undefined;
    this.#connected = false;
    clearTimeout(this.#connectTimer);
    this.#parser.halt();
    socket.destroy();
  }
}
