/**
 * The other bare baseline: a fastify app with the same GET/PUT /items/:key over a Map and no
 * hooks, logger off. With `pino-http` as its argument it also writes a pino-http access-log line
 * per request into `<dir>/access.log` (what users would otherwise bolt on). Prints its URL.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Fastify from 'fastify';
import { pino } from 'pino';
import { pinoHttp } from 'pino-http';

const [variant, dir] = process.argv.slice(2);
const items = new Map<string, string>();
const app = Fastify({ logger: false, routerOptions: { maxParamLength: 1024 } });
app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

if (variant === 'pino-http') {
  if (dir === undefined) throw new Error('usage: bare-fastify pino-http <dir>');
  const accessLog = pinoHttp({ logger: pino(pino.destination({ dest: join(dir, 'access.log'), sync: false })) });
  app.addHook('onRequest', (request, reply, done) => {
    accessLog(request.raw, reply.raw);
    done();
  });
}

app.get<{ Params: { key: string } }>('/items/:key', async (request, reply) => {
  const value = items.get(request.params.key);
  if (value === undefined) return reply.code(404).send({ error: 'Not Found' });
  reply.type('text/plain; charset=utf-8');
  return value;
});
app.put<{ Params: { key: string }; Body: string }>('/items/:key', async (request, reply) => {
  items.set(request.params.key, request.body ?? '');
  reply.code(204);
  return '';
});

await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}\n`);
process.once('SIGTERM', async () => {
  await app.close();
  process.exit(0);
});
