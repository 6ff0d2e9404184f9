/**
 * metrique's JSON line shape:
 * {"timestamp":1705312800000,"metrics":{"Duration":{"value":42.5,"unit":"Milliseconds"}},"properties":{"Operation":"GetItem"}}
 * Units are omitted when absent, `metrics`/`properties` when empty; several observations
 * become {"values":[...]}. A sampled record standing for `weight` records carries
 * {"values":[...],"counts":[weight,...]}, so sums over the stream stay unbiased.
 * Each record type is compiled once into key templates.
 */
import type { Formatter } from '../emitter.js';
import type { AnyRecordType } from '../record-type.js';
import { jsonNumber } from './number.js';

interface CompiledField {
  readonly name: string;
  /** `"Name":` */
  readonly key: string;
  /** `,"unit":"Milliseconds"}` or `}` */
  readonly close: string;
  readonly flag: boolean;
}

interface CompiledLayout {
  readonly metrics: readonly CompiledField[];
  readonly properties: readonly CompiledField[];
  /** The common case compiled: weight 1, scalar metrics. Undefined back means: take the general path. */
  readonly fast: FastFormat;
}

/** The whole line, or undefined when a value needs the general path (a list, a wrong type). */
type FastFormat = (values: Readonly<Record<string, unknown>>, timestampMs: number) => string | undefined;

/**
 * Compiles the common case of a record type into one function: a named property read per field
 * (a loop over field names makes every read a megamorphic keyed load, the largest single cost of a
 * line in a profile of the service), constant keys, no per-field helper calls. Field names are
 * checked identifiers and every literal goes in through JSON.stringify, so the source is safe.
 */
function compileFast(
  metrics: readonly CompiledField[],
  properties: readonly CompiledField[],
  globals: string,
): FastFormat {
  const lit = (text: string): string => JSON.stringify(text);
  let body = "let m = '';\nlet p = '';\nlet x;\n";
  for (const f of metrics) {
    const open = `${f.key}{"value":`;
    body += `x = v[${lit(f.name)}];
if (x !== undefined) {
  if (typeof x === 'number') m += (m === '' ? ${lit(open)} : ${lit(`,${open}`)}) + num(x) + ${lit(f.close)};
  else if (typeof x === 'boolean') m += (m === '' ? ${lit(open)} : ${lit(`,${open}`)}) + (x ? '1' : '0') + ${lit(f.close)};
  else return undefined;
}
`;
  }
  for (const f of properties) {
    body += `x = v[${lit(f.name)}];
if (x !== undefined) p += (p === '' ? ${lit(f.key)} : ${lit(`,${f.key}`)}) + q(typeof x === 'string' ? x : String(x));
`;
  }
  if (globals !== '') body += `p = p === '' ? ${lit(globals.slice(1))} : p + ${lit(globals)};\n`;
  body += `let line = '{"timestamp":' + Math.trunc(ts);
if (m !== '') line += ',"metrics":{' + m + '}';
if (p !== '') line += ',"properties":{' + p + '}';
return line + '}\\n';`;
  // The one place code is generated: from checked field names, with every literal through JSON.stringify.
  const make = new Function('num', 'q', `return function format(v, ts) {\n${body}\n};`) as (
    num: (value: number) => string,
    q: (text: string) => string,
  ) => FastFormat;
  return make(jsonNumber, quote);
}

export interface JsonFormatterOptions {
  /** Properties added to every record (metrique's global fields), e.g. { service_name: 'api' }. */
  readonly globals?: Readonly<Record<string, string>>;
}

function metricValue(field: CompiledField, value: unknown, weight: number): string {
  if (!Array.isArray(value) && weight === 1) return `{"value":${scalar(field, value)}${field.close}`;
  const items: readonly unknown[] = Array.isArray(value) ? value : [value];
  let list = '';
  for (const item of items) list += (list === '' ? '' : ',') + scalar(field, item);
  if (weight === 1) return `{"values":[${list}]${field.close}`;
  const counts = new Array<number>(items.length).fill(weight).join(',');
  return `{"values":[${list}],"counts":[${counts}]${field.close}`;
}

function scalar(field: CompiledField, value: unknown): string {
  if (typeof value === 'number') return jsonNumber(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  throw new TypeError(`${field.name}: expected a ${field.flag ? 'boolean' : 'number'}, got ${typeof value}`);
}

/**
 * A JSON string literal. Most property values (ids, operations, paths, statuses) need no escaping,
 * and a scan is cheaper than JSON.stringify for them; anything else takes JSON.stringify's path.
 */
export function quote(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // Control characters, '"', '\\' and surrogates (a lone one must be escaped).
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(text);
  }
  return `"${text}"`;
}

export class JsonFormatter implements Formatter {
  #layouts = new WeakMap<AnyRecordType, CompiledLayout>();
  #globals: string;
  #globalNames: ReadonlySet<string>;

  constructor(options: JsonFormatterOptions = {}) {
    this.#globalNames = new Set(Object.keys(options.globals ?? {}));
    let globals = '';
    for (const [name, value] of Object.entries(options.globals ?? {})) {
      globals += `,${JSON.stringify(name)}:${JSON.stringify(value)}`;
    }
    this.#globals = globals;
  }

  format(type: AnyRecordType, values: Readonly<Record<string, unknown>>, timestampMs: number, weight = 1): string {
    const layout = this.#layouts.get(type) ?? this.#compile(type);
    const fast = weight === 1 ? layout.fast(values, timestampMs) : undefined;
    if (fast !== undefined) return fast;
    let metrics = '';
    for (const field of layout.metrics) {
      const value = values[field.name];
      if (value === undefined) continue;
      metrics += (metrics === '' ? field.key : `,${field.key}`) + metricValue(field, value, weight);
    }
    let properties = '';
    for (const field of layout.properties) {
      const value = values[field.name];
      if (value === undefined) continue;
      const text = typeof value === 'string' ? value : String(value);
      properties += (properties === '' ? field.key : `,${field.key}`) + quote(text);
    }
    if (this.#globals !== '') properties = properties === '' ? this.#globals.slice(1) : properties + this.#globals;

    let line = `{"timestamp":${Math.trunc(timestampMs)}`;
    if (metrics !== '') line += `,"metrics":{${metrics}}`;
    if (properties !== '') line += `,"properties":{${properties}}`;
    return `${line}}\n`;
  }

  #compile(type: AnyRecordType): CompiledLayout {
    for (const { name } of type.layout) {
      if (this.#globalNames.has(name))
        throw new TypeError(`${type.name}: field ${name} clashes with a global property`);
    }
    const metrics: CompiledField[] = [];
    const properties: CompiledField[] = [];
    for (const { name, spec } of type.layout) {
      const compiled: CompiledField = {
        name,
        key: `${JSON.stringify(name)}:`,
        close: spec.unit === undefined || spec.unit === 'None' ? '}' : `,"unit":${JSON.stringify(spec.unit)}}`,
        flag: spec.kind === 'flag',
      };
      (spec.kind === 'property' ? properties : metrics).push(compiled);
    }
    const layout = { metrics, properties, fast: compileFast(metrics, properties, this.#globals) };
    this.#layouts.set(type, layout);
    return layout;
  }
}
