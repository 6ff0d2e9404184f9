/**
 * Guards own a record while work runs and emit it exactly once.
 * A slot is a one-shot child: its fields join the parent when the slot closes, and only
 * if the parent is still open; a handler that fills its slot late changes nothing.
 */
import type { AnyRecordType, RecordType, Shape, ShapeOf, SlotShape, Values } from './record-type.js';

/** Where closed records go: normally a formatter plus a line sink (see emitter.ts). */
export interface RecordSink {
  emit(type: AnyRecordType, values: Readonly<Record<string, unknown>>, timestampMs: number): void;
}

export class RecordGuard<S extends Shape, Slots extends SlotShape> {
  readonly type: RecordType<S, Slots>;
  readonly values: Values<S>;
  /** Epoch milliseconds when the record was opened; the record's timestamp. */
  readonly timestampMs: number;
  #sink: RecordSink;
  #closed = false;

  constructor(type: RecordType<S, Slots>, sink: RecordSink, timestampMs: number = Date.now()) {
    this.type = type;
    this.values = type.create();
    this.timestampMs = timestampMs;
    this.#sink = sink;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Emits the record. Returns false (and does nothing) if it was already closed or discarded. */
  close(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    this.#sink.emit(this.type, this.values as Record<string, unknown>, this.timestampMs);
    return true;
  }

  /** Drops the record without emitting it. */
  discard(): void {
    this.#closed = true;
  }

  /** Opens the named slot; hand the returned guard to whoever owns those fields. */
  openSlot<K extends keyof Slots & string>(name: K): SlotGuard<ShapeOf<Slots[K]>> {
    const slotType = this.type.slots[name];
    if (slotType === undefined) throw new TypeError(`${this.type.name} has no slot ${name}`);
    return new SlotGuard(slotType.create(), this);
  }

  /** @internal called by SlotGuard.close */
  mergeSlot(values: Readonly<Record<string, unknown>>): boolean {
    if (this.#closed) return false;
    Object.assign(this.values, values);
    return true;
  }
}

export class SlotGuard<S extends Shape> {
  readonly values: Values<S>;
  #parent: RecordGuard<Shape, SlotShape> | undefined;

  // biome-ignore lint/suspicious/noExplicitAny: the parent's own shape does not matter to the slot
  constructor(values: Values<S>, parent: RecordGuard<any, any>) {
    this.values = values;
    this.#parent = parent;
  }

  /** Hands the fields to the parent. Returns false if the slot or its parent was already closed. */
  close(): boolean {
    const parent = this.#parent;
    if (parent === undefined) return false;
    this.#parent = undefined;
    return parent.mergeSlot(this.values as Record<string, unknown>);
  }
}

/** Opens a record that `sink` will receive once, when the guard closes. */
export function openRecord<S extends Shape, Slots extends SlotShape>(
  type: RecordType<S, Slots>,
  sink: RecordSink,
  timestampMs?: number,
): RecordGuard<S, Slots> {
  return new RecordGuard(type, sink, timestampMs);
}
