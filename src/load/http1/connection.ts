/**
 * One keep-alive HTTP/1.1 connection of the load generator's own client: requests are written as
 * pre-encoded bytes and responses framed by a parser that skips bodies. It speaks the same handler
 * protocol as undici's `dispatch` (onConnect, onHeaders, onComplete, onError), so the engine drives
 * either client the same way.
 *
 * Why not undici here: measured on a 2-core machine shared with the server, undici's HTTP stack
 * costs about twice the client CPU per request of a plain `node:net` client (docs/benchmarks.md), and
 * on a shared machine the generator's CPU is taken from the server it measures.
 *
 * Failure rules, close to undici's: a failed connect fails every request waiting for it. When an open
 * connection breaks, the request at the head of the line gets the error; idempotent requests
 * pipelined behind it are written again on a new connection (the engine counts them as re-sent),
 * others (POST, PATCH) fail too, since the server may have acted on them. When the server announces
 * the close (`Connection: close`), everything behind is re-sent: the server read none of it.
 */
import { connect, type Socket } from 'node:net';
import type { LoadRequest } from '../workload.js';
import type { RequestEncoder } from './request-encoder.js';
import { ResponseParseError, ResponseParser } from './response-parser.js';

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

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);

const closedByUs = () => new ConnectionError('LOAD_CLIENT_CLOSED', 'the connection was closed by the load generator');
const closedByPeer = () =>
  new ConnectionError('LOAD_SOCKET_CLOSED', 'the server closed the connection before responding');

export class Http1Connection {
  readonly #options: Http1ConnectionOptions;
  #socket: Socket | undefined;
  /** One per socket, so bytes of a dropped connection can never be read as the next one's. */
  #parser: ResponseParser | undefined;
  #connected = false;
  /** Dispatched, not yet written (waiting for the connection or a pipelining slot). */
  #waiting: Pending[] = [];
  /** Written, in order, awaiting their responses. */
  #inFlight: Pending[] = [];
  #destroyed = false;
  /**
   * Set while parsing or writing: handlers called from there may dispatch, abort or fail requests,
   * and writing then would let bytes already read be taken for the new request's answer. The
   * writes wait until the outer call is done.
   */
  #busy = false;
  #flushWanted = false;

  constructor(options: Http1ConnectionOptions) {
    this.#options = options;
  }

  dispatch(request: LoadRequest, handler: ResponseHandler): void {
    if (this.#destroyed) {
      handler.onError(closedByUs());
      return;
    }
    this.#waiting.push({ request, handler });
    this.#flush();
  }

  /** Closes the socket; anything still waiting or in flight fails. */
  destroy(): Promise<void> {
    this.#destroyed = true;
    const socket = this.#socket;
    this.#dropSocket();
    for (const p of this.#inFlight.splice(0)) p.handler.onError(closedByUs());
    for (const p of this.#waiting.splice(0)) p.handler.onError(closedByUs());
    return new Promise((resolve) => {
      if (socket === undefined || socket.closed) resolve();
      else socket.once('close', () => resolve());
    });
  }

  #flush(): void {
    if (this.#busy) {
      this.#flushWanted = true;
      return;
    }
    this.#busy = true;
    try {
      do {
        this.#flushWanted = false;
        this.#writeWaiting();
      } while (this.#flushWanted);
    } finally {
      this.#busy = false;
    }
  }

  #writeWaiting(): void {
    if (this.#destroyed || this.#waiting.length === 0) return;
    const socket = this.#socket;
    if (socket === undefined) {
      this.#connect();
      return;
    }
    if (!this.#connected) return;
    const { pipelining, encoder } = this.#options;
    while (this.#waiting.length > 0 && this.#inFlight.length < pipelining && this.#socket === socket) {
      const next = this.#waiting.shift() as Pending;
      let bytes: Buffer;
      try {
        bytes = encoder.encode(next.request);
      } catch (err) {
        next.handler.onError(err as Error);
        continue;
      }
      this.#inFlight.push(next);
      if (this.#inFlight.length === 1) this.#expectNext();
      socket.write(bytes);
      next.handler.onConnect((err) => this.#abort(next, err));
    }
  }

  #expectNext(): void {
    if (this.#parser !== undefined) this.#parser.expectNoBody = this.#inFlight[0]?.request.method === 'HEAD';
  }

  #connect(): void {
    const { host, port, connectTimeoutMs } = this.#options;
    const socket = connect({ host, port, noDelay: true });
    const parser: ResponseParser = new ResponseParser({
      onResponseHead: (status) => {
        if (parser === this.#parser) this.#onResponseHead(status);
      },
      onResponseComplete: (_status, keepAlive) => {
        if (parser === this.#parser) this.#onResponseComplete(keepAlive);
      },
    });
    this.#socket = socket;
    this.#parser = parser;
    this.#connected = false;
    // This socket's own timer: a replaced socket's events must not touch the next one's.
    const timer = setTimeout(() => {
      socket.destroy(new ConnectionError('LOAD_CONNECT_TIMEOUT', `no connection within ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
    let socketError: Error | undefined;
    socket.on('connect', () => {
      clearTimeout(timer);
      if (socket !== this.#socket) return;
      this.#connected = true;
      this.#flush();
    });
    socket.on('data', (chunk: Buffer) => this.#onData(socket, parser, chunk));
    socket.on('error', (err) => {
      socketError = err;
    });
    // The server's FIN: nothing more will be answered here, so requests go on a new connection.
    socket.on('end', () => {
      this.#onClosed(socket, undefined);
      socket.destroy();
    });
    socket.on('close', () => {
      clearTimeout(timer);
      this.#onClosed(socket, socketError);
    });
  }

  #onData(socket: Socket, parser: ResponseParser, chunk: Buffer): void {
    if (socket !== this.#socket) return;
    const outer = this.#busy;
    this.#busy = true;
    try {
      parser.execute(chunk);
    } catch (err) {
      // Only the server's bytes are the server's fault; anything else is a bug to surface.
      if (!(err instanceof ResponseParseError)) throw err;
      this.#failHead(err);
    } finally {
      this.#busy = outer;
    }
    if (!outer && this.#flushWanted) this.#flush();
  }

  #onResponseHead(status: number): void {
    const head = this.#inFlight[0];
    if (head === undefined) throw new ResponseParseError(`a ${status} response arrived with no request outstanding`);
    head.handler.onHeaders(status);
  }

  #onResponseComplete(keepAlive: boolean): void {
    const done = this.#inFlight.shift();
    if (!keepAlive) {
      // The server said it closes: whatever was pipelined behind it, it did not read.
      this.#dropSocket();
      this.#requeueInFlight(undefined);
    } else {
      this.#expectNext();
    }
    done?.handler.onComplete();
    // Requests dispatched past the pipelining limit take the slot this response freed.
    this.#flush();
  }

  #onClosed(socket: Socket, err: Error | undefined): void {
    if (socket !== this.#socket) return;
    const wasConnected = this.#connected;
    // A body that runs to the end of the connection ends here (and drops this socket).
    this.#parser?.finish();
    if (socket !== this.#socket) return;
    this.#socket = undefined;
    this.#parser = undefined;
    this.#connected = false;
    if (!wasConnected) {
      const failure = err ?? new ConnectionError('ECONNRESET', 'connection closed while connecting');
      for (const p of this.#waiting.splice(0)) p.handler.onError(failure);
      return;
    }
    const head = this.#inFlight.shift();
    const failure = err ?? closedByPeer();
    this.#requeueInFlight(failure);
    head?.handler.onError(failure);
    this.#flush();
  }

  /** The head request failed (bad response): it gets the error, the connection is dropped. */
  #failHead(err: Error): void {
    const head = this.#inFlight.shift();
    this.#dropSocket();
    this.#requeueInFlight(err);
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
    this.#requeueInFlight(undefined);
    pending.handler.onError(failure);
    this.#flush();
  }

  /**
   * Puts requests written on a connection now gone back in line, ahead of the rest. With `broken`
   * (the connection failed rather than closed as announced) a request that is not idempotent fails
   * instead: the server may have acted on it.
   */
  #requeueInFlight(broken: Error | undefined): void {
    if (this.#inFlight.length === 0) return;
    const again: Pending[] = [];
    const failed: Pending[] = [];
    for (const p of this.#inFlight.splice(0)) {
      if (broken === undefined || IDEMPOTENT.has(p.request.method)) again.push(p);
      else failed.push(p);
    }
    this.#waiting.unshift(...again);
    for (const p of failed) p.handler.onError(broken ?? closedByPeer());
  }

  #dropSocket(): void {
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#parser?.halt();
    this.#socket = undefined;
    this.#parser = undefined;
    this.#connected = false;
    socket.destroy();
  }
}
