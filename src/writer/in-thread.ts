/**
 * The writer on the main thread, for processes that record Node trace events (clinic bubbleprof
 * runs its program with `--trace-event-categories node.async_hooks`). Node 20's trace buffer is not
 * safe with two threads emitting events: NodeTraceBuffer::AddTraceEvent asks whether its current
 * buffer is full without the lock, reading the last chunk; while another thread holds the lock and
 * has counted, but not yet allocated, that chunk (the first time each of its two buffers fills,
 * about 220 requests into a bubbleprof run) the read finds no chunk and the process dies of SIGSEGV.
 * The core dump of such a crash showed the writer thread there and the main thread adding an event
 * too. With one thread emitting there is no race. Writes stay asynchronous (libuv's pool), so
 * request handling still never waits on a disk or a pipe.
 */
import { createRequire } from 'node:module';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { FromWorker, ToWorker } from './protocol.js';
import { serveWriter } from './serve-writer.js';

/** What WriterThread needs of its writer: a Worker, or the in-thread stand-in below. */
export interface WriterEndpoint {
  postMessage(message: ToWorker): void;
  on(event: 'message', listener: (message: FromWorker) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'exit', listener: () => void): unknown;
  ref(): void;
  unref(): void;
  terminate(): Promise<unknown>;
}

/**
 * True when this process records trace events (any category: the race is in the buffer they all
 * share). `node:trace_events` cannot even be loaded in a worker thread, hence the guarded require.
 */
export function traceEventsRecorded(): boolean {
  try {
    const traceEvents = createRequire(import.meta.url)('node:trace_events') as typeof import('node:trace_events');
    return (traceEvents.getEnabledCategories() ?? '') !== '';
  } catch {
    return false;
  }
}

/** The writer served on this thread, over a MessageChannel: the same messages as with a worker. */
export function startInThreadWriter(): WriterEndpoint {
  const { port1, port2 } = new MessageChannel();
  const errorListeners: Array<(err: Error) => void> = [];
  // A throw in the writer must end the writer (as it would end its thread), not the service.
  serveWriter({
    postMessage: (message) => port2.postMessage(message),
    on: (_event, listener) =>
      port2.on('message', (message: ToWorker) => {
        try {
          listener(message);
        } catch (err) {
          for (const onError of errorListeners) onError(err instanceof Error ? err : new Error(String(err)));
        }
      }),
  });
  // Only the request side may keep the process alive (WriterThread refs it while it waits).
  port2.unref();
  const endpoint: WriterEndpoint = {
    postMessage: (message) => port1.postMessage(message),
    on: (event: 'message' | 'error' | 'exit', listener: (arg: never) => void) => {
      if (event === 'message') port1.on('message', listener as (message: FromWorker) => void);
      else if (event === 'error') errorListeners.push(listener as (err: Error) => void);
      else port1.once('close', listener as () => void);
      return endpoint;
    },
    ref: () => port1.ref(),
    unref: () => port1.unref(),
    terminate: async () => closePorts(port1, port2),
  };
  return endpoint;
}

function closePorts(...ports: MessagePort[]): void {
  for (const port of ports) port.close();
}
