/**
 * The record pipeline: a closed record is formatted once, then handed to a line sink.
 * A record that cannot be formatted is dropped and counted, never thrown at the request path.
 */
import type { RecordSink } from './guard.js';
import type { AnyRecordType } from './record-type.js';
import type { LineSink } from './sink.js';

export interface Formatter {
  /** One entry for one record: one or more newline-terminated lines. Throws when the record is invalid. */
  format(type: AnyRecordType, values: Readonly<Record<string, unknown>>, timestampMs: number): string;
}

export interface EmitterStats {
  /** Records formatted and handed to the sink. */
  readonly emitted: number;
  /** Records the formatter rejected. */
  readonly invalid: number;
}

export class RecordEmitter implements RecordSink {
  #formatter: Formatter;
  #sink: LineSink;
  #onInvalid: ((type: AnyRecordType, err: unknown) => void) | undefined;
  #emitted = 0;
  #invalid = 0;

  constructor(formatter: Formatter, sink: LineSink, onInvalid?: (type: AnyRecordType, err: unknown) => void) {
    this.#formatter = formatter;
    this.#sink = sink;
    this.#onInvalid = onInvalid;
  }

  emit(type: AnyRecordType, values: Readonly<Record<string, unknown>>, timestampMs: number): void {
    let entry: string;
    try {
      entry = this.#formatter.format(type, values, timestampMs);
    } catch (err) {
      this.#invalid++;
      this.#onInvalid?.(type, err);
      return;
    }
    this.#emitted++;
    this.#sink.write(entry, type.critical);
  }

  stats(): EmitterStats {
    return { emitted: this.#emitted, invalid: this.#invalid };
  }
}
