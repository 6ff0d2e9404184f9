/**
 * The HTTP application: fastify, with /health at the root and every other route (and the 404
 * handler) inside one encapsulated context that carries the recorder. Built here, listened
 * on in src/service.ts, so tests can build it around their own store and sinks.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Loggers } from '../log/logger.js';
import { Recorder, type RequestTelemetry } from '../middleware.js';
import type { RecordSink } from '../record/index.js';
import type { ItemStore } from '../store/store.js';
import { bufferBodyParser } from './body.js';
import { clientErrorHandler } from './client-errors.js';
import { Connections } from './connections.js';
import { errorHandler } from './error-handler.js';
import { type RateLimit, rateLimitHook } from './rate-limit.js';
import { requestIdFrom } from './request-id.js';
import { echoRoute } from './routes/echo.js';
import { healthRoute } from './routes/health.js';
import { itemRoutes } from './routes/items.js';
import { serverOptions } from './server-options.js';

export interface AppOptions {
  readonly store: ItemStore;
  readonly metrics: RecordSink;
  readonly loggers: Loggers;
  readonly bodyLimitBytes: number;
  readonly bodyTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** Undefined: no limit, and no hook. */
  readonly rateLimit?: RateLimit | undefined;
  /** Time a request head may take (see server-timeouts.ts); 10 s when unset, like the CLI's default. */
  readonly headersTimeoutMs?: number;
}

export interface App {
  readonly server: FastifyInstance;
  readonly recorder: Recorder;
  readonly connections: Connections;
}

const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;

export function buildApp(options: AppOptions): App {
  const recorder = new Recorder({ sink: options.metrics, requestTimeoutMs: options.requestTimeoutMs });
  const handleError = errorHandler(options.loggers.for('service:http'));
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
    ...serverOptions(options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS, options.bodyTimeoutMs),
    // Node's parser errors and timeouts: answered and recorded (see client-errors.ts).
    clientErrorHandler: clientErrorHandler(recorder),
    // A bad URL or an over-long parameter is refused before routing, outside the recorded
    // context: record it here, so every status the service sends has its wide event.
    frameworkErrors: (error, request, reply) => {
      recorder.track(request, reply);
      handleError(error, request, reply);
    },
  });
  server.decorateRequest('telemetry', null as unknown as RequestTelemetry);
  // An Expect other than 100-continue: Node would answer 417 unrecorded; let the route's hook answer.
  server.server.on('checkExpectation', (req, res) => server.server.emit('request', req, res));
  const connections = new Connections(server.server);

  healthRoute(server);

  server.register(async (api) => {
    api.addHook('onRequest', recorder.onRequest);
    if (options.rateLimit !== undefined) api.addHook('onRequest', rateLimitHook(options.rateLimit));
    api.removeAllContentTypeParsers();
    api.addContentTypeParser(
      '*',
      bufferBodyParser({ limitBytes: options.bodyLimitBytes, timeoutMs: options.bodyTimeoutMs }),
    );
    api.setErrorHandler(handleError);
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

  return { server, recorder, connections };
}
