/**
 * Field kinds of a record, metrique style: numbers and booleans are metrics (booleans as 0/1),
 * strings are properties, every metric may carry a unit. A field is required (always written,
 * with a zero default) unless marked optional (written only when set).
 */

/** CloudWatch's unit names, which metrique uses for JSON too. */
export type Unit =
  | 'Seconds'
  | 'Milliseconds'
  | 'Microseconds'
  | 'Bytes'
  | 'Kilobytes'
  | 'Megabytes'
  | 'Gigabytes'
  | 'Terabytes'
  | 'Bits'
  | 'Kilobits'
  | 'Megabits'
  | 'Gigabits'
  | 'Terabits'
  | 'Percent'
  | 'Count'
  | 'Bytes/Second'
  | 'Kilobytes/Second'
  | 'Megabytes/Second'
  | 'Gigabytes/Second'
  | 'Terabytes/Second'
  | 'Bits/Second'
  | 'Kilobits/Second'
  | 'Megabits/Second'
  | 'Gigabits/Second'
  | 'Terabits/Second'
  | 'Count/Second'
  | 'None';

export type FieldKind = 'metric' | 'flag' | 'property';

export interface FieldSpec<V = unknown, Optional extends boolean = boolean> {
  readonly kind: FieldKind;
  readonly unit: Unit | undefined;
  readonly optional: Optional;
  /** CloudWatch high-resolution (1 s) storage, for formats that support it. */
  readonly highResolution: boolean;
  /** Type-level only: the value a handler sets. */
  readonly __value?: V;
}

function make<V>(kind: FieldKind, unit: Unit | undefined): FieldSpec<V, false> {
  return Object.freeze({ kind, unit, optional: false as const, highResolution: false });
}

/** Builders for record fields. Units live in the field spec, so names stay plain. */
export const field = Object.freeze({
  /** A number with an optional unit. */
  metric: (unit?: Unit) => make<number>('metric', unit),
  /** Milliseconds, as a float. */
  duration: () => make<number>('metric', 'Milliseconds'),
  bytes: () => make<number>('metric', 'Bytes'),
  count: () => make<number>('metric', 'Count'),
  percent: () => make<number>('metric', 'Percent'),
  /** A boolean written as 0 or 1. */
  flag: () => make<boolean>('flag', undefined),
  /** A string property; `T` narrows it to a set of literals. */
  property: <T extends string = string>() => make<T>('property', undefined),
});

/** The same field, omitted from the output unless set: `optional(field.flag())`. */
export function optional<V>(spec: FieldSpec<V, false>): FieldSpec<V, true> {
  return Object.freeze({ ...spec, optional: true as const });
}

/** The same metric, stored at 1-second resolution where the format supports it (EMF). */
export function highResolution<V, O extends boolean>(spec: FieldSpec<V, O>): FieldSpec<V, O> {
  return Object.freeze({ ...spec, highResolution: true });
}
