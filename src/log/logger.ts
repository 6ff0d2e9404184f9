/**
 * pino loggers per target. Each target gets a child logger at the level the filter gives it,
 * so this service can be verbose while its dependencies stay quiet.
 */
import { hostname } from 'node:os';
import { type Logger, pino } from 'pino';
import type { LineSink } from '../record/sink.js';
import { type LogFilter, type LogLevel, levelFor } from './filter.js';

export type { Logger } from 'pino';

const PINO_LEVEL: Record<LogLevel, string> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  error: 'error',
  fatal: 'fatal',
  off: 'silent',
};
const ORDER: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'off'];

/** Every logger's options but its level: one place, so every line has the same fields in the same order. */
function pinoOptions(serviceName: string) {
  return {
    base: { pid: process.pid, hostname: hostname(), service: serviceName },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
}

export class Loggers {
  readonly filter: LogFilter;
  #root: Logger;
  #byTarget = new Map<string, Logger>();
  #serviceName: string;

  constructor(filter: LogFilter, sink: LineSink, serviceName: string) {
    this.filter = filter;
    this.#serviceName = serviceName;
    // The root runs at the most verbose level any target needs; children narrow it.
    const levels = [filter.defaultLevel, ...filter.directives.map((d) => d.level)];
    const lowest = levels.reduce((a, b) => (ORDER.indexOf(a) <= ORDER.indexOf(b) ? a : b));
    this.#root = pino(
      { ...pinoOptions(serviceName), level: PINO_LEVEL[lowest] },
      { write: (line: string) => sink.write(line) },
    );
  }

  /**
   * The line `for(target)[level](fields, msg)` writes (newline included), whatever the filter says,
   * without writing it: a copy shown elsewhere (the startup line on stderr) keeps the log's shape.
   */
  line(target: string, level: Exclude<LogLevel, 'off'>, fields: object, msg: string): string {
    let line = '';
    const capture = pino({ ...pinoOptions(this.#serviceName), level: 'trace' }, { write: (l: string) => (line = l) });
    capture.child({ target })[level](fields, msg);
    return line;
  }

  /** The logger for `target` (e.g. `service:http`, `fastify`, `undici`), cached. */
  for(target: string): Logger {
    let logger = this.#byTarget.get(target);
    if (logger === undefined) {
      logger = this.#root.child({ target }, { level: PINO_LEVEL[levelFor(this.filter, target)] });
      this.#byTarget.set(target, logger);
    }
    return logger;
  }
}
