/**
 * Property-based: whatever record a user defines and whatever values it gets, a record that
 * formats produces valid JSON lines, and EMF that the specification-based validator accepts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { quote } from '../../src/record/format/json.js';
import {
  type AnyRecordType,
  defineRecord,
  EmfFormatter,
  type FieldSpec,
  field,
  highResolution,
  JsonFormatter,
  optional,
  type Unit,
} from '../../src/record/index.js';
import { emfProblems } from '../helpers/emf-validator.js';

const UNITS: (Unit | undefined)[] = [undefined, 'Milliseconds', 'Bytes', 'Count', 'Percent', 'Count/Second', 'None'];

const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,15}$/).filter((n) => n !== 'service_name');
const kind = fc.constantFrom('metric', 'flag', 'property') as fc.Arbitrary<'metric' | 'flag' | 'property'>;
const fieldArb: fc.Arbitrary<FieldCase> = fc.record({
  kind,
  unit: fc.constantFrom(...UNITS),
  optional: fc.boolean(),
  highRes: fc.boolean(),
});

const number = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-300, -1e300, 5e-324, 1e21, 0, -0),
);

interface FieldCase {
  readonly kind: 'metric' | 'flag' | 'property';
  readonly unit: Unit | undefined;
  readonly optional: boolean;
  readonly highRes: boolean;
}

function build(fields: Record<string, FieldCase>): AnyRecordType {
  const shape: Record<string, FieldSpec> = {};
  for (const [key, spec] of Object.entries(fields)) {
    let f: FieldSpec<unknown, false> =
      spec.kind === 'property' ? field.property() : spec.kind === 'flag' ? field.flag() : field.metric(spec.unit);
    if (spec.highRes && spec.kind !== 'property') f = highResolution(f);
    shape[key] = spec.optional ? optional(f) : f;
  }
  return defineRecord('Fuzz', shape);
}

const recordCase = fc.dictionary(name, fieldArb, { minKeys: 1, maxKeys: 140 }).chain((fields) => {
  const values: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [key, spec] of Object.entries(fields)) {
    const value: fc.Arbitrary<unknown> =
      spec.kind === 'property'
        ? fc.string({ unit: 'binary', maxLength: 40 })
        : spec.kind === 'flag'
          ? fc.boolean()
          : fc.oneof(number, fc.array(number, { maxLength: 260 }));
    values[key] = spec.optional ? fc.option(value, { nil: undefined }) : value;
  }
  return fc.tuple(fc.constant(fields), fc.record(values), fc.integer({ min: 1, max: 20 }));
});

describe('formatters under random records', () => {
  test('JSON: a property value is quoted exactly as JSON.stringify quotes it', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => {
        assert.equal(quote(text), JSON.stringify(text));
      }),
      { numRuns: 2000 },
    );
  });

  test('JSON: every entry is newline-terminated JSON lines', () => {
    const formatter = new JsonFormatter({ globals: { service_name: 'fuzz' } });
    fc.assert(
      fc.property(recordCase, ([fields, values, weight]) => {
        const entry = formatter.format(build(fields), values, 1752774958378, weight);
        assert.ok(entry.endsWith('\n'));
        const lines = entry.split('\n').slice(0, -1);
        assert.equal(lines.length, 1);
        const parsed = JSON.parse(lines[0] ?? '');
        assert.equal(parsed.timestamp, 1752774958378);
      }),
      { numRuns: 300 },
    );
  });

  test('JSON: each field says exactly what the record holds (an oracle built with JSON.stringify)', () => {
    const formatter = new JsonFormatter({ globals: { service_name: 'fuzz' } });
    const num = (n: number) =>
      Number.isNaN(n) ? null : Number.isFinite(n) ? n : n > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE;
    fc.assert(
      fc.property(recordCase, ([fields, values]) => {
        const metrics: Record<string, unknown> = {};
        const properties: Record<string, unknown> = {};
        for (const [key, spec] of Object.entries(fields)) {
          const value = values[key];
          if (value === undefined) continue;
          if (spec.kind === 'property') {
            properties[key] = value;
            continue;
          }
          const unit =
            spec.kind === 'flag' || spec.unit === undefined || spec.unit === 'None' ? {} : { unit: spec.unit };
          if (Array.isArray(value)) metrics[key] = { values: value.map(num), ...unit };
          else metrics[key] = { value: typeof value === 'boolean' ? Number(value) : num(value as number), ...unit };
        }
        properties.service_name = 'fuzz';
        const expected: Record<string, unknown> = { timestamp: 1752774958378 };
        if (Object.keys(metrics).length > 0) expected.metrics = metrics;
        expected.properties = properties;
        const line = formatter.format(build(fields), values, 1752774958378);
        assert.deepEqual(JSON.parse(line), JSON.parse(JSON.stringify(expected)));
      }),
      { numRuns: 300 },
    );
  });

  test('EMF: whatever formats is valid EMF, within every limit; what does not is refused with a reason', () => {
    const outcomes = { formatted: 0, refused: 0 };
    fc.assert(
      fc.property(
        recordCase,
        fc.constantFrom('strict', 'off') as fc.Arbitrary<'strict' | 'off'>,
        ([fields, values, weight], validation) => {
          const type = build(fields);
          const properties = Object.keys(fields).filter((k) => fields[k]?.kind === 'property');
          const dimensions = properties.length > 0 ? [[properties[0] as string], ['service_name']] : [['service_name']];
          const formatter = new EmfFormatter({
            namespace: 'Fuzz',
            dimensions,
            globals: { service_name: 'fuzz' },
            validation,
          });
          let entry: string;
          try {
            entry = formatter.format(type, values, 1752774958378, weight);
          } catch (err) {
            assert.match((err as Error).message, /^Fuzz: /);
            assert.equal(validation, 'strict', 'only strict validation refuses records');
            outcomes.refused++;
            return;
          }
          outcomes.formatted++;
          const lines = entry.split('\n');
          assert.equal(lines.pop(), '', 'newline-terminated');
          for (const line of lines) {
            const problems = emfProblems(line).filter(
              // With validation off, a missing or blank dimension value is written as given.
              (p) => validation === 'strict' || !/^dimension /.test(p),
            );
            assert.deepEqual(problems, []);
          }
        },
      ),
      { numRuns: 300 },
    );
    // The property must mostly exercise formatting, not refusals.
    assert.ok(outcomes.formatted > outcomes.refused, JSON.stringify(outcomes));
  });
});
