/**
 * The HTTP application: fastify, with /health at the root and every other route (and the 404
 * handler) inside one encapsulated context that carries the recorder. Built here, listened
 * on in src/service.ts, so tests can build it around their own store and sinks.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Loggers } from '../log/logger.js';
import { type Recorder, recordRequests } from '../middleware.js';
import type { RecordSink } from '../record/index.js';
import type { ItemStore } from '../store/store.js';
import { bufferBodyParser } from './body.js';
import { errorHandler } from './error-handler.js';
import { requestIdFrom } from './request-id.js';
import { echoRoute } from './routes/echo.js';
import { healthRoute } from './routes/health.js';
import { itemRoutes } from './routes/items.js';

export interface AppOptions {
  readonly store: ItemStore;
  readonly metrics: RecordSink;
  readonly loggers: Loggers;
  readonly bodyLimitBytes: number;
  readonly bodyTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

export interface App {
  readonly server: FastifyInstance;
  /** Ready once `server.ready()` (or `listen`) has resolved. */
  readonly recorder: Recorder;
}

export function buildApp(options: AppOptions): App {
  const server = Fastify({
    loggerInstance: options.loggers.for('fastify') as FastifyBaseLogger,
    // The wide event replaces per-request log lines; fastify's would cost throughput for nothing.
    logController: new LogController({ disableRequestLogging: true }),
    // One logger per request is a cost too; our own lines carry the request id explicitly.
    childLoggerFactory: (logger) => logger,
    genReqId: requestIdFrom,
    bodyLimit: options.bodyLimitBytes,
    // Requests that arrive while draining are served (and recorded), not refused unrecorded.
    return503OnClosing: false,
    routerOptions: { maxParamLength: 1024 },
  });

  healthRoute(server);

  let recorder: Recorder | undefined;
  server.register(async (api) => {
    recorder = recordRequests(api, { sink: options.metrics, requestTimeoutMs: options.requestTimeoutMs });
    api.removeAllContentTypeParsers();
    api.addContentTypeParser(
      '*',
      bufferBodyParser({ limitBytes: options.bodyLimitBytes, timeoutMs: options.bodyTimeoutMs }),
    );
    api.setErrorHandler(errorHandler(options.loggers.for('service:http')));
    api.setNotFoundHandler((request, reply) => {
      reply.code(404).send({
        statusCode: 404,
        code: 'SVC_ERR_NOT_FOUND',
        error: 'Not Found',
        message: `no route for ${request.method} ${request.telemetry.record.values.Path}`,
      });
    });
    itemRoutes(api, options.store);
    echoRoute(api);
  });

  return {
    server,
    get recorder(): Recorder {
      if (recorder === undefined) throw new Error('the app is not ready yet: await server.ready() first');
      return recorder;
    },
  };
}
