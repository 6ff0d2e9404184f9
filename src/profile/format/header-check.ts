/**
 * Checks a segment header's JSON before anything trusts it. The header says how every event is
 * coded (its schema) and the readers use its other parts as typed (`process.pid`, `segment`,
 * `timeOriginMs`, `recording.summary`): one flipped bit in a field name ("name" -> "nime") or a hand-edited header
 * would otherwise decode events into the wrong columns, or fail far away with a TypeError.
 *
 * Event types this reader knows must be written as it defines them in version 2 and later (since
 * version 2 no known type has changed its fields, and any change but a field appended at the end
 * would bump the version): same name, its fields first, with the same kinds and delta coding, in
 * its order. Version 1 files come from recorders whose known
 * types were still growing fields, so for them only the name and the kinds of the fields both
 * sides have must agree. Unknown ids (a newer recorder's events) only need to be well formed: they
 * are decoded from the header's schema, as designed. Imports nothing from Node.
 */
import { EVENTS, type EventSpec, type TraceHeader } from './schema.js';

export class TraceHeaderError extends Error {
  override readonly name = 'TraceHeaderError';
}

const KINDS = new Set(['u', 'i', 'string', 'stack']);
const KNOWN = new Map<number, EventSpec>(EVENTS.map((spec) => [spec.id, spec]));

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

function fail(what: string): never {
  throw new TraceHeaderError(`its header ${what}`);
}

function object(parent: Json, key: string, path = key): Json {
  const value = parent[key];
  if (!isObject(value)) fail(`has no object ${path}`);
  return value;
}

function number(parent: Json, key: string, path: string): void {
  if (!isNumber(parent[key])) fail(`has no number ${path}`);
}

function string(parent: Json, key: string, path: string): void {
  if (typeof parent[key] !== 'string') fail(`has no string ${path}`);
}

/**
 * `header` as a TraceHeader, or a TraceHeaderError saying the first thing wrong with it.
 * `version` is the one in the file's preamble.
 */
export function checkHeader(header: unknown, version: number): TraceHeader {
  if (!isObject(header)) fail('is not a JSON object');
  if (header.format !== 'dial9-node') fail('does not say format "dial9-node"');
  if (header.version !== undefined && header.version !== version)
    fail(`says version ${String(header.version)} where the file says ${version}`);
  number(header, 'timeOriginMs', 'timeOriginMs');
  const segment = object(header, 'segment');
  number(segment, 'index', 'segment.index');
  number(segment, 'startWallMs', 'segment.startWallMs');
  const process = object(header, 'process');
  number(process, 'pid', 'process.pid');
  for (const key of ['host', 'service', 'node']) string(process, key, `process.${key}`);
  const recording = object(header, 'recording');
  string(recording, 'summary', 'recording.summary');
  object(header, 'config');
  checkEvents(header.events, version);
  return header as unknown as TraceHeader;
}

function checkEvents(events: unknown, version: number): void {
  if (!Array.isArray(events)) fail('has no array events (the schema)');
  const ids = new Set<number>();
  events.forEach((spec: unknown, i) => {
    if (!isObject(spec)) fail(`has events[${i}] that is not an object`);
    const { id, name, fields } = spec;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0)
      fail(`has events[${i}] without a whole number id`);
    if (ids.has(id)) fail(`defines event ${id} twice`);
    ids.add(id);
    if (typeof name !== 'string') fail(`has event ${id} without a string name`);
    if (!Array.isArray(fields)) fail(`has event ${id} (${name}) without an array of fields`);
    const names = new Set<string>();
    fields.forEach((field: unknown, f) => {
      if (
        !isObject(field) ||
        typeof field.name !== 'string' ||
        typeof field.kind !== 'string' ||
        !KINDS.has(field.kind) ||
        (field.delta !== undefined && field.delta !== true)
      )
        fail(`has event ${id} (${name}) with a malformed field ${f}`);
      if (names.has(field.name)) fail(`has event ${id} (${name}) with the field ${field.name} twice`);
      names.add(field.name);
    });
    const known = KNOWN.get(id);
    if (known !== undefined) checkKnown(spec as unknown as EventSpec, known, version);
  });
}

function checkKnown(spec: EventSpec, known: EventSpec, version: number): void {
  const differs = (why: string): never =>
    fail(`defines event ${known.id} (${known.name}) unlike this reader: ${why} (a damaged header?)`);
  if (spec.name !== known.name) differs(`it is named ${JSON.stringify(spec.name)}`);
  if (version < 2) {
    for (const field of spec.fields) {
      const ours = known.fields.find((f) => f.name === field.name);
      if (ours !== undefined && ours.kind !== field.kind)
        differs(`field ${field.name} is of kind ${field.kind}, not ${ours.kind}`);
    }
    return;
  }
  // Fields appended at the end are a newer recorder's (docs/trace-format.md, Compatibility).
  if (spec.fields.length < known.fields.length)
    differs(`${spec.fields.length} fields where it has ${known.fields.length}`);
  known.fields.forEach((ours, f) => {
    const field = spec.fields[f] as (typeof spec.fields)[number];
    if (field.name !== ours.name) differs(`field ${f} is ${JSON.stringify(field.name)}, not ${ours.name}`);
    if (field.kind !== ours.kind) differs(`field ${ours.name} is of kind ${field.kind}, not ${ours.kind}`);
    if ((field.delta === true) !== (ours.delta === true))
      differs(`field ${ours.name} is ${field.delta === true ? '' : 'not '}delta-coded`);
  });
}
