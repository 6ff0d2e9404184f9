import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { levelFor, parseLogFilter } from '../../src/log/filter.js';
import { Loggers } from '../../src/log/logger.js';
import { MemorySink } from '../../src/record/index.js';

describe('log filter', () => {
  test('a default level and per-target levels; the longest target wins', () => {
    const filter = parseLogFilter('warn, service=debug ,service:http=error,undici=off');
    assert.equal(filter.defaultLevel, 'warn');
    assert.equal(levelFor(filter, 'service'), 'debug');
    assert.equal(levelFor(filter, 'service:store'), 'debug');
    assert.equal(levelFor(filter, 'service:http'), 'error');
    assert.equal(levelFor(filter, 'service:http:body'), 'error');
    assert.equal(levelFor(filter, 'services'), 'warn', 'a prefix must end at a target boundary');
    assert.equal(levelFor(filter, 'undici'), 'off');
    assert.equal(levelFor(filter, 'fastify'), 'warn');
  });

  test('bad filters are refused with the reason', () => {
    assert.throws(() => parseLogFilter('info,service=loud'), {
      message: 'unknown level "loud"; expected one of trace, debug, info, warn, error, fatal, off',
    });
    assert.throws(() => parseLogFilter('verbose'), /unknown level "verbose"/);
    assert.throws(() => parseLogFilter(' , '), /expected directives/);
    assert.throws(() => parseLogFilter('bad target=info'), /bad target "bad target"/);
  });

  test('loggers honour the filter per target and write pino JSON lines', () => {
    const sink = new MemorySink();
    const loggers = new Loggers(parseLogFilter('info,service=debug,undici=error'), sink, 'svc');
    loggers.for('service').debug('service debug');
    loggers.for('service:http').debug({ requestId: 'r1' }, 'http debug');
    loggers.for('undici').warn('undici warn is filtered');
    loggers.for('undici').error('undici error passes');
    loggers.for('fastify').debug('fastify debug is filtered');
    loggers.for('fastify').info('fastify info passes');
    const lines = sink.records<{
      level: string;
      target: string;
      msg: string;
      service: string;
      time: string;
      requestId?: string;
    }>();
    assert.deepEqual(
      lines.map((l) => [l.level, l.target, l.msg]),
      [
        ['debug', 'service', 'service debug'],
        ['debug', 'service:http', 'http debug'],
        ['error', 'undici', 'undici error passes'],
        ['info', 'fastify', 'fastify info passes'],
      ],
    );
    assert.equal(lines[1]?.requestId, 'r1');
    assert.equal(lines[0]?.service, 'svc');
    assert.ok(!Number.isNaN(Date.parse(lines[0]?.time ?? '')));
  });
});
