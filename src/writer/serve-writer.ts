/**
 * The writer's side of the channel: receives batches of lines and writes them to stdout, stderr or
 * rotated files. Every batch is acknowledged with how much of it was written, so the request thread
 * can bound its queue and count what was lost. It runs in the writer thread (worker.ts), or on the
 * main thread when a second thread must not exist (in-thread.ts).
 */
import { stderrLine } from '../stderr.js';
import { type Destination, openDestination } from './destinations.js';
import type { DestinationSpec, FromWorker, ToWorker } from './protocol.js';

/** What the writer needs of its end of the channel (a worker's parentPort, or a MessagePort). */
export interface WriterPort {
  postMessage(message: FromWorker): void;
  on(event: 'message', listener: (message: ToWorker) => void): unknown;
}

interface Channel {
  readonly destination: Destination;
  readonly spec: DestinationSpec;
  /** Entries lost since the current failure began. */
  lostInStreak: number;
  failing: boolean;
}

/** Serves one request thread's channels through `port` until it closes them. */
export function serveWriter(port: WriterPort): void {
  const channels = new Map<number, Channel>();
  const pending = new Set<Promise<void>>();

  function post(message: FromWorker): void {
    port.postMessage(message);
  }

  /**
   * When a file destination fails, the application log may be the thing that is failing, so the
   * warning also goes straight to stderr (from this thread: it never blocks request handling).
   */
  function warnOnStderr(spec: DestinationSpec, msg: string, extra: Record<string, unknown>): void {
    if (spec.kind !== 'rotating-file') return;
    void stderrLine({ level: 'warn', target: 'service:telemetry', destination: spec.name, ...extra, msg });
  }

  function open(id: number, spec: DestinationSpec): void {
    const channel: Channel = {
      spec,
      lostInStreak: 0,
      failing: false,
      destination: openDestination(spec, {
        onError(err) {
          channel.failing = true;
          channel.lostInStreak = 0;
          post({ op: 'io-error', channel: id, message: err.message, code: err.code });
          warnOnStderr(spec, `${spec.name}: write failed, dropping lines until it recovers`, {
            code: err.code,
            error: err.message,
          });
        },
        onRecovered() {
          channel.failing = false;
          post({ op: 'recovered', channel: id });
          warnOnStderr(spec, `${spec.name}: writing again`, { droppedEntries: channel.lostInStreak });
        },
        onFileDeleted(lostEntries) {
          // The writes still in flight are counted as they fail; these are the confirmed ones.
          post({ op: 'lost', channel: id, entries: lostEntries });
        },
        onFileDeletedSettled(lostEntries) {
          warnOnStderr(spec, `${spec.name}: the file was deleted while open; writing to a new one`, {
            droppedEntries: lostEntries,
          });
        },
        onRepaired(cutBytes) {
          warnOnStderr(spec, `${spec.name}: cut a torn last line before appending`, { cutBytes });
        },
      }),
    };
    channels.set(id, channel);
  }

  function write(id: number, data: Uint8Array, length: number, entries: number): void {
    const done = (failedEntries: number) =>
      port.postMessage({ op: 'written', channel: id, data, length, entries, failedEntries } satisfies FromWorker);
    const channel = channels.get(id);
    if (channel === undefined) {
      done(entries);
      return;
    }
    const task = channel.destination.write(Buffer.from(data.buffer, data.byteOffset, length), entries).then(
      (err) => {
        // A datagram destination says how many lines it lost; an entry is one line or more.
        const failed =
          err === undefined ? 0 : Math.min(entries, (err as { failedLines?: number }).failedLines ?? entries);
        channel.lostInStreak += failed;
        done(failed);
      },
      () => done(entries),
    );
    pending.add(task);
    void task.finally(() => pending.delete(task));
  }

  async function settle(): Promise<void> {
    while (pending.size > 0) await Promise.all([...pending]);
  }

  port.on('message', (message: ToWorker) => {
    switch (message.op) {
      case 'open':
        open(message.channel, message.destination);
        break;
      case 'write':
        write(message.channel, message.data, message.length, message.entries);
        break;
      case 'flush':
        void settle().then(() => post({ op: 'flushed', id: message.id }));
        break;
      case 'close':
        void settle()
          .then(() => Promise.all([...channels.values()].map((channel) => channel.destination.close())))
          .then(() => post({ op: 'closed' }));
        break;
    }
  });
}
