/** Messages between the request thread and the writer thread. */

export type DestinationSpec =
  | { readonly kind: 'fd'; readonly fd: 1 | 2; readonly name: string }
  /** A CloudWatch agent (or any line collector) over TCP or UDP. */
  | {
      readonly kind: 'socket';
      readonly protocol: 'tcp' | 'udp';
      readonly host: string;
      readonly port: number;
      readonly name: string;
    }
  | {
      readonly kind: 'rotating-file';
      readonly dir: string;
      readonly file: string;
      /** rotating-file-stream interval, e.g. '1m' or '1h'. */
      readonly interval: string;
      /** Rotated files to keep (the oldest are deleted); 0 keeps them all. */
      readonly maxFiles: number;
      readonly name: string;
    };

export type ToWorker =
  | { readonly op: 'open'; readonly channel: number; readonly destination: DestinationSpec }
  /**
   * `data` is shared memory (a SharedArrayBuffer), neither copied nor transferred: this request side
   * leaves it alone until the thread hands it back in 'written' for reuse. Transferring would detach
   * an ArrayBuffer, and V8's first detach in a thread takes the fast path away from every typed-array
   * access in that thread for good: a handler's Buffer or Float64Array loops ran ~1.6x slower.
   */
  | {
      readonly op: 'write';
      readonly channel: number;
      readonly data: Uint8Array;
      readonly length: number;
      readonly entries: number;
    }
  | { readonly op: 'flush'; readonly id: number }
  | { readonly op: 'close' };

export type FromWorker =
  /** One per 'write', in order: how much of it reached the destination. */
  | {
      readonly op: 'written';
      readonly channel: number;
      /** The batch's buffer, handed back. */
      readonly data: Uint8Array;
      readonly length: number;
      readonly entries: number;
      readonly failedEntries: number;
    }
  | { readonly op: 'io-error'; readonly channel: number; readonly message: string; readonly code: string | undefined }
  | { readonly op: 'recovered'; readonly channel: number }
  /**
   * The channel's file was deleted while open: `entries` already confirmed in 'written' went with
   * it. The file is opened again.
   */
  | { readonly op: 'lost'; readonly channel: number; readonly entries: number }
  | { readonly op: 'flushed'; readonly id: number }
  | { readonly op: 'closed' };
