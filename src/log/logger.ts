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

export class Loggers {
  readonly filter: LogFilter;
  #root: Logger;
  #byTarget = new Map<string, Logger>();

  constructor(filter: LogFilter, sink: LineSink, serviceName: string) {
    this.filter = filter;
    // The root runs at the most verbose level any target needs; children narrow it.
    const levels = [filter.defaultLevel, ...filter.directives.map((d) => d.level)];
    const lowest = levels.reduce((a, b) => (ORDER.indexOf(a) <= ORDER.indexOf(b) ? a : b));
    this.#root = pino(
      {
        level: PINO_LEVEL[lowest],
        base: { pid: process.pid, hostname: hostname(), service: serviceName },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      { write: (line: string) => sink.write(line) },
    );
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
