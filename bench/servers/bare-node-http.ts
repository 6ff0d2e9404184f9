/**
 * The bare baseline a user could pick instead of the service: `node:http` with the same
 * GET/PUT /items/:key over a Map, no telemetry at all. Prints its URL on stdout.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const PREFIX = '/items/';
const items = new Map<string, string>();

function keyOf(url: string): string | undefined {
  if (!url.startsWith(PREFIX)) return undefined;
  const query = url.indexOf('?');
  const key = url.slice(PREFIX.length, query === -1 ? undefined : query);
  return key.length === 0 || key.includes('/') ? undefined : decodeURIComponent(key);
}

function reply(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const key = keyOf(req.url ?? '');
  if (key === undefined) {
    reply(res, 404, '{"error":"Not Found"}', 'application/json');
  } else if (req.method === 'GET') {
    const value = items.get(key);
    if (value === undefined) reply(res, 404, '{"error":"Not Found"}', 'application/json');
    else reply(res, 200, value);
  } else if (req.method === 'PUT') {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      items.set(key, Buffer.concat(chunks).toString('utf8'));
      res.writeHead(204).end();
    });
  } else {
    reply(res, 405, '{"error":"Method Not Allowed"}', 'application/json');
  }
}

const server = createServer(handle);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
