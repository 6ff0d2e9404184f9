/** The smallest useful HTTP server: what the load generators race against. Prints its URL. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const body = Buffer.from('hello world');
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
