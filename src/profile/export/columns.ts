/** Reading decoded event columns by field name (the exporters' shorthand). */
import type { DecodedSegment, EventColumns } from '../format/index.js';

/** Field `name` of event `i`. */
export const field = (columns: EventColumns, name: string, i: number): number =>
  (columns.fields[name] as Float64Array)[i] as number;

/** A string field of event `i`, resolved ('' for none). */
export const text = (segment: DecodedSegment, columns: EventColumns, name: string, i: number): string =>
  segment.strings[field(columns, name, i)] ?? '';
