/**
 * A CloudWatch agent (or any collector of newline-delimited lines) over TCP or UDP. Runs in the
 * writer thread. TCP reconnects with backoff and holds writes while it is down, within the request
 * side's bounded queue. Like any sender without acknowledgements it cannot know about bytes the
 * kernel accepted just before a connection died: those can be lost unnoticed, and a failed write is
 * counted whole even if part of it arrived. UDP sends one line per datagram and never waits.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, isIP, type Socket } from 'node:net';
import type { Destination, DestinationEvents } from './destinations.js';
import type { DestinationSpec } from './protocol.js';
import { SerialWrites } from './serial-writes.js';

type SocketSpec = Extract<DestinationSpec, { kind: 'socket' }>;

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;
const NEWLINE = 0x0a;

export function openSocketDestination(spec: SocketSpec, events: DestinationEvents): Destination {
  return spec.protocol === 'tcp' ? new TcpDestination(spec, events) : new UdpDestination(spec, events);
}

class TcpDestination implements Destination {
  #spec: SocketSpec;
  #events: DestinationEvents;
  #socket: Socket | undefined;
  #serial = new SerialWrites();
  #retryMs = FIRST_RETRY_MS;
  #failing = false;
  #closed = false;
  #wake: (() => void) | undefined;

  constructor(spec: SocketSpec, events: DestinationEvents) {
    this.#spec = spec;
    this.#events = events;
  }

  write(data: Buffer): Promise<Error | undefined> {
    return this.#serial.run(() => this.#send(data));
  }

  async #send(data: Buffer): Promise<Error | undefined> {
    const socket = await this.#connected();
    if (socket === undefined) return Object.assign(new Error('destination closed'), { code: 'ECANCELED' });
    return new Promise((resolve) => {
      socket.write(data, (err) => {
        if (err) {
          this.#forget(socket);
          resolve(this.#fail(err as NodeJS.ErrnoException));
          return;
        }
        if (this.#failing) {
          this.#failing = false;
          this.#events.onRecovered();
        }
        resolve(undefined);
      });
    });
  }

  /** The open connection, connecting (and retrying with backoff) until one opens or we close. */
  async #connected(): Promise<Socket | undefined> {
    while (!this.#closed) {
      if (this.#socket !== undefined) return this.#socket;
      try {
        this.#socket = await this.#connect();
        this.#retryMs = FIRST_RETRY_MS;
        return this.#socket;
      } catch (err) {
        this.#fail(err as NodeJS.ErrnoException);
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          setTimeout(resolve, this.#retryMs);
        });
        this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
      }
    }
    return undefined;
  }

  #connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.#spec.host, port: this.#spec.port });
      const onError = (err: Error) => {
        socket.destroy();
        reject(err);
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.removeListener('error', onError);
        socket.setNoDelay(true);
        socket.setKeepAlive(true);
        // The agent never talks back: data or an end from it means the connection is going away.
        socket.on('error', () => this.#forget(socket));
        socket.on('end', () => this.#forget(socket));
        socket.on('close', () => this.#forget(socket));
        socket.resume();
        resolve(socket);
      });
    });
  }

  #forget(socket: Socket): void {
    if (this.#socket === socket) this.#socket = undefined;
    socket.destroy();
  }

  #fail(err: NodeJS.ErrnoException): NodeJS.ErrnoException {
    if (!this.#failing) {
      this.#failing = true;
      this.#events.onError(err);
    }
    return err;
  }

  async close(): Promise<void> {
    // Whatever is queued gets written if the connection is up; a retry loop in progress gives up.
    const socket = this.#socket;
    if (socket === undefined) {
      this.#closed = true;
      this.#wake?.();
    }
    await this.#serial.idle();
    this.#closed = true;
    this.#wake?.();
    if (this.#socket !== undefined) {
      const open = this.#socket;
      await new Promise<void>((resolve) => open.end(() => resolve()));
    }
  }
}

class UdpDestination implements Destination {
  #spec: SocketSpec;
  #events: DestinationEvents;
  #socket: UdpSocket;
  #failing = false;

  constructor(spec: SocketSpec, events: DestinationEvents) {
    this.#spec = spec;
    this.#events = events;
    this.#socket = createSocket(isIP(spec.host) === 6 ? 'udp6' : 'udp4');
    // Errors arrive through the send callbacks; this only keeps a stray one from being thrown.
    this.#socket.on('error', () => {});
  }

  /** One datagram per line. A failure carries how many lines were lost (`failedLines`). */
  async write(data: Buffer): Promise<Error | undefined> {
    let failure: Error | undefined;
    let failedLines = 0;
    let start = 0;
    const sends: Promise<void>[] = [];
    while (start < data.length) {
      const end = data.indexOf(NEWLINE, start);
      const stop = end === -1 ? data.length : end + 1;
      const line = data.subarray(start, stop);
      start = stop;
      sends.push(
        new Promise((resolve) => {
          this.#socket.send(line, this.#spec.port, this.#spec.host, (err) => {
            if (err) {
              failure ??= err;
              failedLines++;
            }
            resolve();
          });
        }),
      );
    }
    await Promise.all(sends);
    if (failure !== undefined) {
      if (!this.#failing) {
        this.#failing = true;
        this.#events.onError(failure as NodeJS.ErrnoException);
      }
      return Object.assign(failure, { failedLines });
    }
    if (this.#failing) {
      this.#failing = false;
      this.#events.onRecovered();
    }
    return undefined;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}
