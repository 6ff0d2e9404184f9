import type { FastifyInstance } from 'fastify';

/** GET /health — outside the telemetry layer: probes emit no records. */
export function healthRoute(app: FastifyInstance): void {
  app.get('/health', (_request, reply) => {
    reply.type('text/plain; charset=utf-8').send('ok');
  });
}
