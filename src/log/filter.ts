/**
 * Per-target log levels, in the spirit of Rust's `EnvFilter` directives:
 * `info,service=debug,undici=error` sets a default level, then a level per target.
 * A directive for `service` also covers `service:http`, `service:store`, and so on;
 * the longest matching target wins.
 */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'off'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogDirective {
  readonly target: string;
  readonly level: LogLevel;
}

export interface LogFilter {
  /** The text it was parsed from, kept for the startup log line. */
  readonly source: string;
  readonly defaultLevel: LogLevel;
  /** Longest target first, so the first match is the most specific. */
  readonly directives: readonly LogDirective[];
}

const TARGET_PATTERN = /^[A-Za-z0-9_.@/-]+(?::[A-Za-z0-9_.@/-]+)*$/;

function isLevel(text: string): text is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(text);
}

/** Parses a filter; throws a plain Error whose message says what is wrong (the caller names the flag). */
export function parseLogFilter(source: string): LogFilter {
  let defaultLevel: LogLevel = 'info';
  const directives: LogDirective[] = [];
  const parts = source
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length === 0) throw new Error(`expected directives such as "info,service=debug"`);

  for (const part of parts) {
    const eq = part.indexOf('=');
    const target = eq === -1 ? undefined : part.slice(0, eq).trim();
    const level = (eq === -1 ? part : part.slice(eq + 1)).trim().toLowerCase();
    if (!isLevel(level)) {
      throw new Error(`unknown level ${JSON.stringify(level)}; expected one of ${LOG_LEVELS.join(', ')}`);
    }
    if (target === undefined) {
      defaultLevel = level;
    } else if (!TARGET_PATTERN.test(target)) {
      throw new Error(`bad target ${JSON.stringify(target)}; expected a name such as service or service:http`);
    } else {
      directives.push({ target, level });
    }
  }
  directives.sort((a, b) => b.target.length - a.target.length);
  return Object.freeze({ source, defaultLevel, directives: Object.freeze(directives) });
}

/** The level that applies to `target` under `filter`. */
export function levelFor(filter: LogFilter, target: string): LogLevel {
  for (const directive of filter.directives) {
    if (target === directive.target || target.startsWith(`${directive.target}:`)) return directive.level;
  }
  return filter.defaultLevel;
}
