/**
 * The record pipeline: a closed record is formatted once, then handed to a line sink.
 * A record that cannot be formatted is dropped and counted, never thrown at the request path.
 *
 * Sampling: for record types marked `sampled`, only a fraction `sampleRate` is written, each kept
 * record standing for about 1/rate records (its `weight`), so sums stay unbiased. An optional
 * archive sink gets every record, unsampled: the tee metrique's guide recommends.
 */
import type { RecordSink } from './guard.js';
import type { AnyRecordType } from './record-type.js';
import type { LineSink } from './sink.js';

export interface Formatter {
  /**
   * One entry for one record: one or more newline-terminated lines. Throws when the record is
   * invalid. `weight` (default 1) is how many records this one stands for, after sampling.
   */
  format(type: AnyRecordType, values: Readonly<Record<string, unknown>>, timestampMs: number, weight?: number): string;
  /**
   * Throws what format() would throw for a record's validity, without formatting it. Lets a record
   * left out by sampling still be counted as invalid rather than as sampled.
   */
  validate?(type: AnyRecordType, values: Readonly<Record<string, unknown>>): void;
}

export interface EmitterOptions {
  /** Called for each record the formatter refused (rate-limit any logging here). */
  readonly onInvalid?: (type: AnyRecordType, err: unknown) => void;
  /** Fraction of `sampled` records to keep, in (0, 1]. Default 1. */
  readonly sampleRate?: number;
  /** Receives every record, unsampled and unweighted. */
  readonly archive?: LineSink;
  /** Source of randomness for sampling; tests pass a seeded one. */
  readonly random?: () => number;
}

export interface EmitterStats {
  /** Records formatted and handed to the sink. */
  readonly emitted: number;
  /** Records the formatter rejected. */
  readonly invalid: number;
  /** Records left out of the main sink by sampling (by design, not lost: the kept ones carry their weight). */
  readonly sampledOut: number;
}

export class RecordEmitter implements RecordSink {
  #formatter: Formatter;
  #sink: LineSink;
  #onInvalid: ((type: AnyRecordType, err: unknown) => void) | undefined;
  #archive: LineSink | undefined;
  #rate: number;
  #random: () => number;
  #emitted = 0;
  #invalid = 0;
  #sampledOut = 0;

  constructor(formatter: Formatter, sink: LineSink, options: EmitterOptions = {}) {
    const rate = options.sampleRate ?? 1;
    if (!(rate > 0 && rate <= 1)) throw new RangeError(`sampleRate must be in (0, 1], got ${rate}`);
    this.#formatter = formatter;
    this.#sink = sink;
    this.#onInvalid = options.onInvalid;
    this.#archive = options.archive;
    this.#rate = rate;
    this.#random = options.random ?? Math.random;
  }

  emit(type: AnyRecordType, values: Readonly<Record<string, unknown>>, timestampMs: number): void {
    const weight = type.sampled && this.#rate < 1 ? this.#weight() : 1;
    let entry: string | undefined;
    let archived: string | undefined;
    try {
      if (this.#archive !== undefined) archived = this.#formatter.format(type, values, timestampMs);
      if (weight > 0) {
        entry =
          weight === 1 && archived !== undefined ? archived : this.#formatter.format(type, values, timestampMs, weight);
      } else if (archived === undefined) {
        this.#formatter.validate?.(type, values);
      }
    } catch (err) {
      this.#invalid++;
      this.#onInvalid?.(type, err);
      return;
    }
    if (archived !== undefined) this.#archive?.write(archived, type.critical);
    if (entry === undefined) {
      this.#sampledOut++;
      return;
    }
    this.#emitted++;
    this.#sink.write(entry, type.critical);
  }

  /**
   * 0 to leave the record out; otherwise how many records it stands for. A whole number, floor or
   * ceiling of 1/rate at random, so that its expected value is exactly 1/rate.
   */
  #weight(): number {
    if (this.#random() >= this.#rate) return 0;
    const ideal = 1 / this.#rate;
    const floor = Math.floor(ideal);
    return this.#random() < ideal - floor ? floor + 1 : floor;
  }

  stats(): EmitterStats {
    return { emitted: this.#emitted, invalid: this.#invalid, sampledOut: this.#sampledOut };
  }
}
