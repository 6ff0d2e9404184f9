/**
 * The server's open connections, so a drain can close every one that has no request in flight:
 * idle keep-alive connections, and also sockets that never sent a byte (a browser preconnect, a
 * TCP health check) or stopped halfway through a request head. Node's `closeIdleConnections()`
 * leaves the last two open (its parser counts a connection as busy from the moment it is
 * accepted), and `server.close()` then waits for them until the drain times out.
 *
 * Bookkeeping is per connection, never per request: a Set entry and one shared 'close' listener.
 */
import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/** Node's own name for the response a socket is currently serving (null between requests). */
interface ServingSocket extends Socket {
  _httpMessage?: ServerResponse | null;
  /** `performance.now()` when the connection was accepted. */
  [OPENED_AT_MS]?: number;
}

const OPENED_AT_MS = Symbol('openedAtMs');

export class Connections {
  readonly #sockets = new Set<Socket>();

  constructor(server: Server) {
    const sockets = this.#sockets;
    // One function for every socket: EventEmitter calls it with the socket as `this`.
    const forget = function (this: Socket): void {
      sockets.delete(this);
    };
    server.on('connection', (socket: ServingSocket) => {
      socket[OPENED_AT_MS] = performance.now();
      sockets.add(socket);
      socket.on('close', forget);
    });
  }

  /**
   * Destroys every connection that is not serving a request; returns how many. A request whose
   * head is complete has its response attached to the socket (Node's own `closeIdleConnections`
   * tests the same property), so it is left to finish; anything less than a complete head is cut.
   */
  closeIdle(): number {
    let closed = 0;
    for (const socket of this.#sockets) {
      if (servingResponse(socket) !== undefined) continue;
      socket.destroy();
      closed++;
    }
    return closed;
  }
}

/** The response `socket` is serving right now, if any (later pipelined ones wait behind it). */
export function servingResponse(socket: Socket): ServerResponse | undefined {
  return (socket as ServingSocket)._httpMessage ?? undefined;
}

/** Milliseconds since `socket` was accepted by a tracked server (0 if it was not tracked). */
export function connectionAgeMs(socket: Socket): number {
  const openedAtMs = (socket as ServingSocket)[OPENED_AT_MS];
  return openedAtMs === undefined ? 0 : performance.now() - openedAtMs;
}
