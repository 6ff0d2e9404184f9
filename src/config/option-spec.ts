/**
 * One option of a command: its flag, environment variable, default and help. Each command's options
 * are one table of these (RUN_OPTIONS in options.ts, LOAD_OPTIONS in load.ts); the parsers in
 * parsers.ts take the spec, so their errors name the flag and variable of whichever table it is from.
 */
import { InvalidOptionError, ServiceError } from '../errors.js';

/** One command-line option: its flag, environment variable, default and help. */
export interface OptionSpec {
  readonly flag: string;
  readonly env: string;
  readonly default: string | undefined;
  readonly summary: string;
  readonly helpValue: string;
  /** A one-letter alias, e.g. `c` for `-c`. */
  readonly char?: string | undefined;
}

export function option(
  flag: string,
  env: string,
  def: string | undefined,
  helpValue: string,
  summary: string,
  char?: string,
): OptionSpec {
  return Object.freeze({ flag, env, default: def, summary, helpValue, char });
}

/** What oclif hands over for a table: each value already merged from flag and environment, or undefined. */
export type RawOptions<K extends string> = { readonly [P in K]?: string | undefined };

/** The text of an option: what the user gave (flag or environment), else the table's default. */
export function optionText<K extends string>(
  table: Readonly<Record<K, OptionSpec>>,
  raw: RawOptions<K>,
): (name: K) => string | undefined {
  return (name) => raw[name] ?? table[name].default;
}

export function invalidOption(spec: OptionSpec, value: string, expected: string): InvalidOptionError {
  return new InvalidOptionError(spec.flag, spec.env, value, expected);
}

/** A flag with no environment variable (e.g. a repeatable one). */
export function invalidFlag(flag: string, value: string, expected: string): InvalidOptionError {
  return new InvalidOptionError(flag, undefined, value, expected);
}

/** A positional argument, e.g. the URL of `service load`. Exit code 2, like a bad flag. */
export function invalidArgument(name: string, value: string, expected: string): ServiceError {
  return new ServiceError('SVC_ERR_INVALID_OPTION', `invalid ${name} ${JSON.stringify(value)}: ${expected}`, {
    exitCode: 2,
  });
}
