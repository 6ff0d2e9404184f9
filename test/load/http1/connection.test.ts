/** The builtin client's connection against raw TCP servers that answer exactly as a test says. */
import assert from 'node:assert/strict';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { type ConnectionError, Http1Connection, type ResponseHandler } from '../../../src/load/http1/connection.js';
import { RequestEncoder } from '../../../src/load/http1/request-encoder.js';
import type { LoadRequest } from '../../../src/load/workload.js';

const GET: LoadRequest = { method: 'GET', path: '/a?b=1', headers: undefined, body: undefined };
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

interface Outcome {
  status?: number;
  error?: string;
  connects: number;
}

/** A handler that resolves with what happened to one request. */
function track(): { handler: ResponseHandler; done: Promise<Outcome> } {
  const outcome: Outcome = { connects: 0 };
  let resolve: (o: Outcome) => void = () => {};
  const done = new Promise<Outcome>((r) => {
    resolve = r;
  });
  return {
    done,
    handler: {
      onConnect: () => void outcome.connects++,
      onHeaders: (status) => {
        outcome.status = status;
        return true;
      },
      onComplete: () => resolve(outcome),
      onError: (err) => {
        outcome.error = (err as ConnectionError).code ?? err.message;
        resolve(outcome);
      },
    },
  };
}

describe('builtin HTTP/1.1 connection', () => {
  const servers: Server[] = [];
  const connections: Http1Connection[] = [];
  after(async () => {
    await Promise.all(connections.map((c) => c.destroy()));
    for (const s of servers) s.close();
  });

  /** A TCP server; `onRequest` gets each request's raw head and body and the socket to answer on. */
  async function serve(onRequest: (raw: string, socket: Socket, index: number, connection: number) => void) {
    let index = 0;
    const sockets: Socket[] = [];
    const server = createServer((socket) => {
      const connection = sockets.length;
      sockets.push(socket);
      let buffered = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        buffered += chunk;
        for (;;) {
          const headEnd = buffered.indexOf('\r\n\r\n');
          if (headEnd === -1) return;
          const length = Number(/content-length: (\d+)/i.exec(buffered.slice(0, headEnd))?.[1] ?? 0);
          if (buffered.length < headEnd + 4 + length) return;
          const raw = buffered.slice(0, headEnd + 4 + length);
          buffered = buffered.slice(raw.length);
          onRequest(raw, socket, index++, connection);
        }
      });
      socket.on('error', () => {});
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    return { port, accepted: () => sockets.length };
  }

  function open(port: number, pipelining = 1, connectTimeoutMs = 2000): Http1Connection {
    const connection = new Http1Connection({
      host: '127.0.0.1',
      port,
      encoder: new RequestEncoder(`127.0.0.1:${port}`),
      pipelining,
      connectTimeoutMs,
    });
    connections.push(connection);
    return connection;
  }

  test('writes the request as given, with Host and framing headers of its own', async () => {
    const seen: string[] = [];
    const { port } = await serve((raw, socket) => {
      seen.push(raw);
      socket.write(OK);
    });
    const c = open(port);
    const put: LoadRequest = {
      method: 'PUT',
      path: '/items/k',
      headers: { 'content-type': 'text/plain', 'content-length': '999' },
      body: Buffer.from('value'),
    };
    const post: LoadRequest = { method: 'POST', path: '/echo', headers: undefined, body: undefined };
    for (const request of [GET, put, post]) {
      const t = track();
      c.dispatch(request, t.handler);
      assert.deepEqual(await t.done, { connects: 1, status: 200 });
    }
    assert.deepEqual(seen, [
      `GET /a?b=1 HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n\r\n`,
      `PUT /items/k HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nvalue`,
      `POST /echo HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-length: 0\r\n\r\n`,
    ]);
  });

  test('pipelining: up to N requests on the wire, answers matched in order', async () => {
    let maxUnanswered = 0;
    let unanswered: Socket[] = [];
    const { port, accepted } = await serve((_raw, socket, index) => {
      unanswered.push(socket);
      maxUnanswered = Math.max(maxUnanswered, unanswered.length);
      // Answer in batches of four, with a status that says which request it was.
      if (unanswered.length === 4 || index === 11) {
        const batch = unanswered;
        unanswered = [];
        const first = index - batch.length + 1;
        batch.forEach((s, i) => void s.write(`HTTP/1.1 ${201 + first + i} X\r\nContent-Length: 0\r\n\r\n`));
      }
    });
    const c = open(port, 4);
    const outcomes = Array.from({ length: 12 }, () => track());
    for (const t of outcomes) c.dispatch(GET, t.handler);
    const results = await Promise.all(outcomes.map((t) => t.done));
    assert.deepEqual(
      results.map((r) => r.status),
      Array.from({ length: 12 }, (_, i) => 201 + i),
    );
    assert.equal(maxUnanswered, 4);
    assert.equal(accepted(), 1);
  });

  test('Connection: close and bodies that run to the close: a new connection for the next request', async () => {
    const { port, accepted } = await serve((_raw, socket, index) => {
      if (index % 2 === 0) socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok');
      else socket.end('HTTP/1.1 202 Accepted\r\n\r\nthe body ends when the connection does');
    });
    const c = open(port);
    for (let i = 0; i < 6; i++) {
      const t = track();
      c.dispatch(GET, t.handler);
      assert.deepEqual(await t.done, { connects: 1, status: i % 2 === 0 ? 200 : 202 });
    }
    assert.equal(accepted(), 6);
  });

  test('failures: refused, closed before answering, a bad response; requests pipelined behind are re-sent', async () => {
    const refused = await serve(() => {});
    servers.pop()?.close();
    await new Promise((r) => setTimeout(r, 50));
    const a = track();
    const b = track();
    const dead = open(refused.port, 2);
    dead.dispatch(GET, a.handler);
    dead.dispatch(GET, b.handler);
    assert.equal((await a.done).error, 'ECONNREFUSED');
    assert.equal((await b.done).error, 'ECONNREFUSED');

    // The first request's connection is closed unanswered; the two behind it go again and succeed.
    const { port } = await serve((_raw, socket, _index, connection) => {
      if (connection === 0) socket.destroy();
      else socket.write(OK);
    });
    const c = open(port, 3);
    const ts = [track(), track(), track()];
    for (const t of ts) c.dispatch(GET, t.handler);
    const [first, second, third] = await Promise.all(ts.map((t) => t.done));
    assert.ok(['LOAD_SOCKET_CLOSED', 'ECONNRESET'].includes(first?.error ?? ''), first?.error);
    assert.deepEqual(second, { connects: 2, status: 200 });
    assert.deepEqual(third, { connects: 2, status: 200 });

    const garbage = await serve((_raw, socket) => socket.write('SSH-2.0-OpenSSH_9.2\r\n\r\n'));
    const g = track();
    open(garbage.port).dispatch(GET, g.handler);
    assert.equal((await g.done).error, 'LOAD_BAD_RESPONSE');
  });

  test('a response nobody asked for is refused, never credited to the next request', async () => {
    const { port, accepted } = await serve((_raw, socket, index) => {
      // Two responses to the first request: the second must not answer a request sent after it.
      if (index === 0) socket.write(`${OK}HTTP/1.1 503 Extra\r\nContent-Length: 0\r\n\r\n`);
      else socket.write('HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n');
    });
    const c = open(port);
    const first = track();
    const second = track();
    // As the engine does: the next request is dispatched from inside the completion callback.
    c.dispatch(GET, {
      ...first.handler,
      onComplete: () => {
        first.handler.onComplete();
        c.dispatch(GET, second.handler);
      },
    });
    assert.equal((await first.done).status, 200);
    assert.deepEqual(await second.done, { connects: 1, status: 201 });
    assert.equal(accepted(), 2, 'the connection that sent the extra response was dropped');
  });

  test("after the server's FIN the next request goes on a new connection; POST is not re-sent after a break", async () => {
    const fin = await serve((_raw, socket) => socket.end(OK));
    const c = open(fin.port);
    for (let i = 0; i < 3; i++) {
      const t = track();
      c.dispatch(GET, t.handler);
      assert.deepEqual(await t.done, { connects: 1, status: 200 });
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(fin.accepted(), 3);

    // The connection breaks with a GET, a POST and a PUT behind the head: GET and PUT go again.
    const broken = await serve((_raw, socket, _index, connection) => {
      if (connection === 0) socket.destroy();
      else socket.write(OK);
    });
    const p = open(broken.port, 4);
    const post: LoadRequest = { method: 'POST', path: '/echo', headers: undefined, body: Buffer.from('{}') };
    const put: LoadRequest = { method: 'PUT', path: '/items/a', headers: undefined, body: Buffer.from('v') };
    const ts = [track(), track(), track(), track()];
    [GET, GET, post, put].forEach(
      (request, i) => void p.dispatch(request, (ts[i] as ReturnType<typeof track>).handler),
    );
    const [head, get, posted, putted] = await Promise.all(ts.map((t) => t.done));
    const broke = ['LOAD_SOCKET_CLOSED', 'ECONNRESET'];
    assert.ok(broke.includes(head?.error ?? ''), head?.error);
    assert.deepEqual(get, { connects: 2, status: 200 });
    assert.ok(broke.includes(posted?.error ?? '') && posted?.connects === 1, JSON.stringify(posted));
    assert.deepEqual(putted, { connects: 2, status: 200 });
  });

  test('a handler that gives up from onHeaders takes the connection with it; the next request gets a fresh one', async () => {
    const { port, accepted } = await serve((_raw, socket) =>
      socket.write('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n'),
    );
    const c = open(port);
    const t = track();
    let abort: ((err?: Error) => void) | undefined;
    c.dispatch(GET, {
      ...t.handler,
      onConnect: (a) => {
        abort = a;
      },
      onHeaders: () => {
        abort?.(Object.assign(new Error('gave up'), { code: 'GAVE_UP' }));
        return true;
      },
    });
    assert.equal((await t.done).error, 'GAVE_UP');
    const next = track();
    c.dispatch(GET, next.handler);
    assert.equal((await next.done).status, 204);
    assert.equal(accepted(), 2);
  });

  test('abort (the engine timing a request out) fails it and starts a new connection', async () => {
    const { port, accepted } = await serve((_raw, socket, index) => {
      if (index > 0) socket.write(OK);
    });
    const c = open(port);
    let abort: ((err?: Error) => void) | undefined;
    const t = track();
    const captureAbort = (a: (err?: Error) => void) => {
      abort = a;
    };
    c.dispatch(GET, { ...t.handler, onConnect: captureAbort });
    await new Promise((r) => setTimeout(r, 50));
    abort?.(Object.assign(new Error('timed out'), { code: 'LOAD_TIMEOUT' }));
    assert.equal((await t.done).error, 'LOAD_TIMEOUT');
    const next = track();
    c.dispatch(GET, next.handler);
    assert.equal((await next.done).status, 200);
    assert.equal(accepted(), 2);
  });
});
