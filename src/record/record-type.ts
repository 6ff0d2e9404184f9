/**
 * A record type: a name, its fields (with kinds and units) and its slots, all known up front.
 * The layout is computed once here so formatters can pre-build their output templates
 * instead of discovering keys on every record.
 */
import type { FieldSpec } from './fields.js';

// biome-ignore lint/suspicious/noExplicitAny: a shape holds fields of every value type
export type Shape = Readonly<Record<string, FieldSpec<any, boolean>>>;

type RequiredKeys<S extends Shape> = { [K in keyof S]: S[K] extends FieldSpec<unknown, false> ? K : never }[keyof S];
type OptionalKeys<S extends Shape> = Exclude<keyof S, RequiredKeys<S>>;
type ValueOf<F> = F extends FieldSpec<infer V, boolean> ? V : never;

/** The mutable values of one record: required fields always hold a value, optional ones may be absent. */
export type Values<S extends Shape> = { -readonly [K in RequiredKeys<S>]: ValueOf<S[K]> } & {
  -readonly [K in OptionalKeys<S>]?: ValueOf<S[K]>;
};

export interface FieldLayout {
  readonly name: string;
  readonly spec: FieldSpec;
}

export interface RecordType<S extends Shape = Shape, Slots extends SlotShape = SlotShape> {
  readonly name: string;
  readonly fields: S;
  readonly slots: Slots;
  /** Every field this type can write: its own first, then each slot's, in declaration order. */
  readonly layout: readonly FieldLayout[];
  /**
   * A few records must not be lost to a full queue (the shutdown and exit records, one each per
   * process): sinks accept these beyond their bound.
   */
  readonly critical: boolean;
  /** High-volume records a sampler may thin out (request records); the rest are always kept. */
  readonly sampled: boolean;
  /**
   * Dimension sets this type declares for formats that have dimensions (EMF); crossed with the
   * formatter's own sets. Empty means none of its own.
   */
  readonly dimensions: readonly (readonly string[])[];
  /** Fresh values: required fields at their zero value (0, false, ''), optional ones absent. */
  create(): Values<S>;
}

// biome-ignore lint/suspicious/noExplicitAny: slots may hold any record type
export type SlotShape = Readonly<Record<string, RecordType<any, any>>>;
// biome-ignore lint/suspicious/noExplicitAny: used where the concrete type does not matter
export type AnyRecordType = RecordType<any, any>;
export type ShapeOf<T> = T extends RecordType<infer S, SlotShape> ? S : never;

export interface RecordOptions<Slots extends SlotShape> {
  readonly slots?: Slots;
  readonly critical?: boolean;
  readonly sampled?: boolean;
  readonly dimensions?: readonly (readonly string[])[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function zero(spec: FieldSpec): unknown {
  if (spec.kind === 'metric') return 0;
  if (spec.kind === 'flag') return false;
  return '';
}

/**
 * Declares a record type. Adding a field is one line in `fields`.
 * @example
 * const Job = defineRecord('Job', { Queue: field.property(), Duration: field.duration() });
 */
export function defineRecord<S extends Shape, Slots extends SlotShape = Record<never, never>>(
  name: string,
  fields: S,
  options: RecordOptions<Slots> = {},
): RecordType<S, Slots> {
  const slots = (options.slots ?? {}) as Slots;
  const layout: FieldLayout[] = [];
  const seen = new Set<string>();
  const add = (fieldName: string, spec: FieldSpec, owner: string): void => {
    if (!NAME.test(fieldName)) throw new TypeError(`${owner}: field name ${JSON.stringify(fieldName)} is not valid`);
    if (seen.has(fieldName)) throw new TypeError(`${name}: field ${fieldName} is declared twice (in ${owner})`);
    seen.add(fieldName);
    layout.push(Object.freeze({ name: fieldName, spec }));
  };
  for (const [fieldName, spec] of Object.entries(fields)) add(fieldName, spec, name);
  for (const slot of Object.values(slots)) {
    for (const entry of slot.layout) add(entry.name, entry.spec, slot.name);
  }

  const defaults: Record<string, unknown> = {};
  for (const [fieldName, spec] of Object.entries(fields)) {
    if (!spec.optional) defaults[fieldName] = zero(spec);
  }
  Object.freeze(defaults);

  return Object.freeze({
    name,
    fields,
    slots,
    layout: Object.freeze(layout),
    critical: options.critical ?? false,
    sampled: options.sampled ?? false,
    dimensions: Object.freeze((options.dimensions ?? []).map((set) => Object.freeze([...set]))),
    create: () => ({ ...defaults }) as Values<S>,
  });
}
