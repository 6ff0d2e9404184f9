/**
 * Where a trace's bytes go: every segment of a trace directory (sealed `.bin.gz` and `.bin.active`)
 * is walked byte by byte and each byte is charged to what it encodes (an event's type, its time
 * delta, one field of one event type, a string or stack definition). Raw bytes per kind, and gzip
 * of each kind's bytes on their own (a column-wise estimate of what the kind costs compressed;
 * the whole files' gzip is given beside it).
 *
 *   npm run build && node dist/bench/trace-size.js <trace dir> [<trace dir> ...]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ByteReader } from '../src/profile/format/bytes.js';
import {
  BLOCK_HEADER_BYTES,
  DEF_NUMBERED,
  DEF_STACK,
  DEF_STRING,
  type EventSpec,
  readHeader,
} from '../src/profile/format/index.js';

const columns = new Map<string, number[]>();
let events = 0;
let rawTotal = 0;
let gzTotal = 0;

function charge(kind: string, bytes: Uint8Array, from: number, to: number): void {
  let column = columns.get(kind);
  if (column === undefined) {
    column = [];
    columns.set(kind, column);
  }
  for (let i = from; i < to; i++) column.push(bytes[i] as number);
}

function walk(bytes: Uint8Array): void {
  const read = readHeader(bytes);
  if (read === undefined) return;
  charge('header', bytes, 0, read.bytes);
  const specs = new Map<number, EventSpec>(read.header.events.map((spec) => [spec.id, spec]));
  let offset = read.bytes;
  while (bytes.length - offset >= BLOCK_HEADER_BYTES) {
    const r = new ByteReader(bytes, offset + 4);
    const defsBytes = r.u32();
    const eventsBytes = r.u32();
    const count = r.u32();
    const end = offset + BLOCK_HEADER_BYTES + defsBytes + eventsBytes;
    if (end > bytes.length) break;
    charge('block header', bytes, offset, offset + BLOCK_HEADER_BYTES);
    const defs = new ByteReader(bytes, offset + BLOCK_HEADER_BYTES, offset + BLOCK_HEADER_BYTES + defsBytes);
    while (defs.offset < defs.end) {
      const start = defs.offset;
      const kind = defs.u8();
      if (kind === DEF_STRING) {
        const text = defs.string();
        charge(/\d$/.test(text) ? 'def string (ends in a number)' : 'def string', bytes, start, defs.offset);
      } else if (kind === DEF_NUMBERED) {
        defs.varint();
        defs.svarint();
        charge('def numbered string', bytes, start, defs.offset);
      } else if (kind === DEF_STACK) {
        for (let i = 0; i < 5; i++) defs.varint();
        charge('def stack', bytes, start, defs.offset);
      } else throw new Error(`unknown definition ${kind}`);
    }
    const ev = new ByteReader(bytes, defs.end, end);
    for (let n = 0; n < count; n++) {
      let start = ev.offset;
      const type = ev.varint();
      const spec = specs.get(type);
      const name = spec?.name ?? String(type);
      charge('event type', bytes, start, ev.offset);
      start = ev.offset;
      ev.svarint();
      charge('event time', bytes, start, ev.offset);
      for (const field of spec?.fields ?? []) {
        start = ev.offset;
        ev.varint();
        charge(`${name}.${field.name}`, bytes, start, ev.offset);
      }
      events++;
    }
    offset = end;
  }
}

for (const dir of process.argv.slice(2)) {
  const visit = (path: string): void => {
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path)) visit(join(path, name));
      return;
    }
    if (path.endsWith('.bin.gz')) {
      const gz = readFileSync(path);
      gzTotal += gz.length;
      const raw = new Uint8Array(gunzipSync(gz));
      rawTotal += raw.length;
      walk(raw);
    } else if (path.endsWith('.bin.active') || path.endsWith('.bin')) {
      const raw = new Uint8Array(readFileSync(path));
      rawTotal += raw.length;
      gzTotal += gzipSync(raw).length;
      walk(raw);
    }
  };
  visit(dir);
}

const rows = [...columns.entries()]
  .map(([kind, bytes]) => ({ kind, raw: bytes.length, gz: gzipSync(Uint8Array.from(bytes)).length }))
  .sort((a, b) => b.gz - a.gz);
const perEvent = (n: number): string => (n / Math.max(1, events)).toFixed(3);
process.stdout.write(
  `${events} events, ${rawTotal} B raw (${perEvent(rawTotal)} B/event), ${gzTotal} B gzipped (${perEvent(gzTotal)} B/event)\n\n`,
);
process.stdout.write('| bytes of | raw B/event | gz B/event (alone) |\n|---|---:|---:|\n');
for (const row of rows) process.stdout.write(`| ${row.kind} | ${perEvent(row.raw)} | ${perEvent(row.gz)} |\n`);
