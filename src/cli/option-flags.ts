import { Flags, type Interfaces } from '@oclif/core';
import type { OptionSpec } from '../config/option-spec.js';

type StringFlag = Interfaces.OptionFlag<string | undefined>;

/**
 * oclif flags for a table of options: each a string flag with its environment variable,
 * so validation (and its error messages) stays in one place, src/config/.
 */
export function optionFlags(options: Readonly<Record<string, OptionSpec>>): Record<string, StringFlag> {
  const flags: Record<string, StringFlag> = {};
  for (const spec of Object.values(options)) {
    const def = spec.default === undefined ? '' : ` [default: ${spec.default}]`;
    flags[spec.flag] = Flags.string({
      summary: `${spec.summary}${def}`,
      env: spec.env,
      helpValue: spec.helpValue,
      ...(spec.char === undefined ? {} : { char: spec.char as Interfaces.AlphabetLowercase }),
    });
  }
  return flags;
}

/** Maps parsed flags (keyed by flag name) back to option names. */
export function optionValues<K extends string>(
  options: Readonly<Record<K, OptionSpec>>,
  parsed: Readonly<Record<string, unknown>>,
): { [P in K]?: string } {
  const values: { [P in K]?: string } = {};
  for (const name of Object.keys(options) as K[]) {
    const value = parsed[options[name].flag];
    if (typeof value === 'string') values[name] = value;
  }
  return values;
}
