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
