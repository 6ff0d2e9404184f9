/**
 * CloudWatch Embedded Metric Format: one JSON line per record that CloudWatch turns into metrics.
 *
 * {"_aws":{"CloudWatchMetrics":[{"Namespace":"Ns","Dimensions":[["Operation"]],"Metrics":[{"Name":"Duration","Unit":"Milliseconds"}]}],"Timestamp":1752774958378},"Duration":0.42,"Operation":"GetItem"}
 *
 * Key order: `_aws` (`CloudWatchMetrics`, `LogGroupName`?, `Timestamp`), metric values, properties.
 * CloudWatch's limits are enforced, not assumed: a record with more than 100 metrics (or a metric
 * with more than 100 distinct values) is split into several events that repeat the properties, and
 * no event exceeds 1 MB. With `validation: 'strict'` a record that CloudWatch would reject or
 * misread is refused (the emitter drops and counts it): the checks run on every record, not only in
 * development builds.
 */
import type { Formatter } from '../emitter.js';
import type { AnyRecordType } from '../record-type.js';
import { emfNumber } from './number.js';

export type EmfValidation = 'strict' | 'off';

export interface EmfOptions {
  readonly namespace: string;
  /** The formatter's dimension sets, crossed with each record type's own; none means `[[]]`. */
  readonly dimensions?: readonly (readonly string[])[];
  readonly logGroupName?: string | undefined;
  readonly validation?: EmfValidation;
  /** Properties added to every record, e.g. { service_name: 'api' }; usable as dimensions. */
  readonly globals?: Readonly<Record<string, string>>;
  /** Largest event written, in bytes. Default 1,000,000 (CloudWatch's limit is 1 MB). */
  readonly maxEventBytes?: number;
}

/** CloudWatch's limits for one EMF event. */
export const EMF_LIMITS = Object.freeze({
  metricsPerDirective: 100,
  valuesPerMetric: 100,
  dimensionKeysPerSet: 30,
  nameChars: 255,
  dimensionValueChars: 1024,
  eventBytes: 1_000_000,
});

/** A record that cannot be written as EMF; the message names the record type and the problem. */
export class EmfValidationError extends Error {
  constructor(type: AnyRecordType, problem: string) {
    super(`${type.name}: ${problem}`);
    this.name = 'EmfValidationError';
  }
}

interface CompiledMetric {
  readonly name: string;
  /** `"Duration":` */
  readonly key: string;
  /** `{"Name":"Duration","Unit":"Milliseconds"}` */
  readonly definition: string;
  readonly flag: boolean;
}

interface CompiledProperty {
  readonly name: string;
  readonly key: string;
}

interface CompiledType {
  readonly metrics: readonly CompiledMetric[];
  readonly properties: readonly CompiledProperty[];
  /** Every key used by a dimension set, checked on each record. */
  readonly dimensionKeys: readonly string[];
  /** `{"_aws":{"CloudWatchMetrics":[{"Namespace":"Ns","Dimensions":[...],"Metrics":[` */
  readonly head: string;
  /** `]}],"LogGroupName":"g","Timestamp":` */
  readonly middle: string;
  /** A problem that makes every record of this type invalid (found once, reported per record). */
  readonly problem: string | undefined;
  /** The metric definitions part, by which metrics are present (bit i = metric i), for small types. */
  readonly definitionsByMask: Map<number, string>;
}

/** One metric's value text, or one slice of it when it has too many distinct values. */
interface MetricEntry {
  readonly metric: CompiledMetric;
  readonly value: string;
}

const MASKABLE_METRICS = 31;
/** CloudWatch dimension values: ASCII, no control characters. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

function crossDimensions(global: readonly (readonly string[])[], own: readonly (readonly string[])[]): string[][] {
  const left = global.length === 0 ? [[]] : global;
  const right = own.length === 0 ? [[]] : own;
  const seen = new Set<string>();
  const sets: string[][] = [];
  for (const a of left) {
    for (const b of right) {
      const set = [...new Set([...a, ...b])];
      const id = set.join('\u0000');
      if (!seen.has(id)) {
        seen.add(id);
        sets.push(set);
      }
    }
  }
  return sets;
}

function isValidName(name: string): boolean {
  return name.length > 0 && name.length <= EMF_LIMITS.nameChars && name !== '_aws';
}

/** Groups a list of numbers into CloudWatch's {"Values":[...],"Counts":[...]} form, NaN skipped. */
function distribution(items: readonly number[], weight: number): Array<[number, number]> {
  const counts = new Map<number, number>();
  for (const v of items) {
    if (Number.isNaN(v)) continue;
    const key = Object.is(v, -0) ? 0 : v;
    counts.set(key, (counts.get(key) ?? 0) + weight);
  }
  return [...counts];
}

export class EmfFormatter implements Formatter {
  #options: EmfOptions;
  #strict: boolean;
  #globalsText: string;
  #globalNames: ReadonlySet<string>;
  #maxEventBytes: number;
  #compiled = new WeakMap<AnyRecordType, CompiledType>();

  constructor(options: EmfOptions) {
    this.#options = options;
    this.#strict = (options.validation ?? 'strict') === 'strict';
    this.#maxEventBytes = options.maxEventBytes ?? EMF_LIMITS.eventBytes;
    const globals = options.globals ?? {};
    this.#globalNames = new Set(Object.keys(globals));
    let text = '';
    for (const [name, value] of Object.entries(globals)) text += `,${JSON.stringify(name)}:${JSON.stringify(value)}`;
    this.#globalsText = text;
  }

  format(type: AnyRecordType, values: Readonly<Record<string, unknown>>, timestampMs: number, weight = 1): string {
    const compiled = this.#compiled.get(type) ?? this.#compile(type);
    this.#validate(type, compiled, values);

    let properties = '';
    for (const property of compiled.properties) {
      const value = values[property.name];
      if (value === undefined) continue;
      properties += `,${property.key}${JSON.stringify(typeof value === 'string' ? value : String(value))}`;
    }
    properties += this.#globalsText;

    const entries: MetricEntry[] = [];
    let mask = 0;
    let sliced = false;
    for (let i = 0; i < compiled.metrics.length; i++) {
      const metric = compiled.metrics[i] as CompiledMetric;
      const value = values[metric.name];
      if (value === undefined) continue;
      const before = entries.length;
      if (this.#addEntries(type, metric, value, weight, entries) > 1) sliced = true;
      if (entries.length > before && i < MASKABLE_METRICS) mask |= 1 << i;
    }

    const timestamp = Math.trunc(timestampMs);
    const simple =
      !sliced && entries.length <= EMF_LIMITS.metricsPerDirective && compiled.metrics.length <= MASKABLE_METRICS;
    if (simple) {
      let definitions = compiled.definitionsByMask.get(mask);
      if (definitions === undefined) {
        definitions = entries.map((e) => e.metric.definition).join(',');
        compiled.definitionsByMask.set(mask, definitions);
      }
      const line = this.#event(compiled, definitions, timestamp, entries, properties);
      if (line.length * 3 <= this.#maxEventBytes || Buffer.byteLength(line) <= this.#maxEventBytes) return line;
    }
    return this.#split(type, compiled, timestamp, entries, properties);
  }

  #event(
    compiled: CompiledType,
    definitions: string,
    timestamp: number,
    entries: readonly MetricEntry[],
    properties: string,
  ): string {
    let line = `${compiled.head}${definitions}${compiled.middle}${timestamp}}`;
    for (const entry of entries) line += `,${entry.metric.key}${entry.value}`;
    return `${line}${properties}}\n`;
  }

  /** Packs entries into as few events as the limits allow; each event repeats the properties. */
  #split(
    type: AnyRecordType,
    compiled: CompiledType,
    timestamp: number,
    entries: readonly MetricEntry[],
    properties: string,
  ): string {
    const fixedBytes = Buffer.byteLength(`${compiled.head}${compiled.middle}${timestamp}}${properties}}\n`);
    if (fixedBytes > this.#maxEventBytes) {
      throw new EmfValidationError(type, `properties alone exceed ${this.#maxEventBytes} bytes`);
    }
    const events: MetricEntry[][] = [];
    let current: MetricEntry[] = [];
    let names = new Set<string>();
    let bytes = fixedBytes;
    for (const entry of entries) {
      const entryBytes =
        Buffer.byteLength(entry.metric.definition) +
        Buffer.byteLength(entry.metric.key) +
        Buffer.byteLength(entry.value) +
        2;
      if (fixedBytes + entryBytes > this.#maxEventBytes) {
        throw new EmfValidationError(type, `metric ${entry.metric.name} alone exceeds ${this.#maxEventBytes} bytes`);
      }
      const full =
        current.length >= EMF_LIMITS.metricsPerDirective ||
        names.has(entry.metric.name) ||
        bytes + entryBytes > this.#maxEventBytes;
      if (full && current.length > 0) {
        events.push(current);
        current = [];
        names = new Set();
        bytes = fixedBytes;
      }
      current.push(entry);
      names.add(entry.metric.name);
      bytes += entryBytes;
    }
    if (current.length > 0 || events.length === 0) events.push(current);
    let out = '';
    for (const event of events) {
      out += this.#event(compiled, event.map((e) => e.metric.definition).join(','), timestamp, event, properties);
    }
    return out;
  }

  /** Appends the value text(s) of one metric; returns how many entries it took. */
  #addEntries(
    type: AnyRecordType,
    metric: CompiledMetric,
    value: unknown,
    weight: number,
    entries: MetricEntry[],
  ): number {
    if (typeof value === 'boolean') {
      entries.push({
        metric,
        value: weight === 1 ? (value ? '1' : '0') : `{"Values":[${value ? 1 : 0}],"Counts":[${emfNumber(weight)}]}`,
      });
      return 1;
    }
    if (typeof value === 'number') {
      if (Number.isNaN(value)) return 0;
      entries.push({
        metric,
        value: weight === 1 ? emfNumber(value) : `{"Values":[${emfNumber(value)}],"Counts":[${emfNumber(weight)}]}`,
      });
      return 1;
    }
    if (Array.isArray(value)) {
      for (const item of value) {
        if (typeof item !== 'number') {
          throw new EmfValidationError(type, `${metric.name}: expected numbers, got a ${typeof item} in the list`);
        }
      }
      const groups = distribution(value as number[], weight);
      let taken = 0;
      for (let start = 0; start < groups.length; start += EMF_LIMITS.valuesPerMetric) {
        const slice = groups.slice(start, start + EMF_LIMITS.valuesPerMetric);
        const valuesText = slice.map(([v]) => emfNumber(v)).join(',');
        const countsText = slice.map(([, c]) => emfNumber(c)).join(',');
        entries.push({ metric, value: `{"Values":[${valuesText}],"Counts":[${countsText}]}` });
        taken++;
      }
      return taken;
    }
    throw new EmfValidationError(
      type,
      `${metric.name}: expected a ${metric.flag ? 'boolean' : 'number'}, got ${typeof value}`,
    );
  }

  validate(type: AnyRecordType, values: Readonly<Record<string, unknown>>): void {
    this.#validate(type, this.#compiled.get(type) ?? this.#compile(type), values);
  }

  #validate(type: AnyRecordType, compiled: CompiledType, values: Readonly<Record<string, unknown>>): void {
    if (!this.#strict) return;
    if (compiled.problem !== undefined) throw new EmfValidationError(type, compiled.problem);
    this.#checkDimensions(type, compiled, values);
  }

  #checkDimensions(type: AnyRecordType, compiled: CompiledType, values: Readonly<Record<string, unknown>>): void {
    for (const key of compiled.dimensionKeys) {
      if (this.#globalNames.has(key)) continue;
      const value = values[key];
      if (typeof value !== 'string') {
        throw new EmfValidationError(
          type,
          `dimension ${key} is ${value === undefined ? 'missing' : `not a string (${typeof value})`}`,
        );
      }
      if (value.trim() === '' || value.length > EMF_LIMITS.dimensionValueChars || !PRINTABLE_ASCII.test(value)) {
        throw new EmfValidationError(
          type,
          `dimension ${key} must be 1 to ${EMF_LIMITS.dimensionValueChars} printable ASCII characters, not blank`,
        );
      }
    }
  }

  #compile(type: AnyRecordType): CompiledType {
    const metrics: CompiledMetric[] = [];
    const properties: CompiledProperty[] = [];
    const problems: string[] = [];
    const fieldKinds = new Map<string, 'metric' | 'property'>();
    for (const { name, spec } of type.layout) {
      if (!isValidName(name)) problems.push(`field name ${JSON.stringify(name)} is not allowed in EMF`);
      if (this.#globalNames.has(name)) problems.push(`field ${name} clashes with a global property`);
      const key = `${JSON.stringify(name)}:`;
      if (spec.kind === 'property') {
        properties.push({ name, key });
        fieldKinds.set(name, 'property');
        continue;
      }
      fieldKinds.set(name, 'metric');
      let definition = `{"Name":${JSON.stringify(name)}`;
      if (spec.unit !== undefined && spec.unit !== 'None') definition += `,"Unit":${JSON.stringify(spec.unit)}`;
      if (spec.highResolution) definition += ',"StorageResolution":1';
      metrics.push({ name, key, definition: `${definition}}`, flag: spec.kind === 'flag' });
    }

    // The formatter's sets apply to a type only if it has every key they name (or a global does).
    const applies = (set: readonly string[]) => set.every((k) => fieldKinds.has(k) || this.#globalNames.has(k));
    const sets = crossDimensions((this.#options.dimensions ?? []).filter(applies), type.dimensions);
    const dimensionKeys = [...new Set(sets.flat())];
    for (const set of sets) {
      if (set.length > EMF_LIMITS.dimensionKeysPerSet) {
        problems.push(`a dimension set has ${set.length} keys (at most ${EMF_LIMITS.dimensionKeysPerSet})`);
      }
    }
    for (const key of dimensionKeys) {
      if (!isValidName(key)) problems.push(`dimension name ${JSON.stringify(key)} is not allowed`);
      else if (fieldKinds.get(key) === 'metric') problems.push(`metric ${key} is used as a dimension`);
      else if (!fieldKinds.has(key) && !this.#globalNames.has(key)) problems.push(`dimension ${key} is not a field`);
    }

    const directive = `{"Namespace":${JSON.stringify(this.#options.namespace)},"Dimensions":${JSON.stringify(sets)},"Metrics":[`;
    const logGroup =
      this.#options.logGroupName === undefined ? '' : `,"LogGroupName":${JSON.stringify(this.#options.logGroupName)}`;
    const compiled: CompiledType = {
      metrics,
      properties,
      dimensionKeys,
      head: `{"_aws":{"CloudWatchMetrics":[${directive}`,
      middle: `]}]${logGroup},"Timestamp":`,
      problem: problems[0],
      definitionsByMask: new Map(),
    };
    this.#compiled.set(type, compiled);
    return compiled;
  }
}
