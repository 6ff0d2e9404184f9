/** A stand-in for the CloudWatch agent: collects newline-delimited lines over TCP or UDP. */
import { createSocket } from 'node:dgram';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';

export interface LineListener {
  readonly port: number;
  readonly lines: string[];
  close(): Promise<void>;
}

export async function tcpListener(port = 0): Promise<LineListener> {
  const lines: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let pending = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      lines.push(...parts.filter((l) => l !== ''));
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    lines,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export async function udpListener(): Promise<LineListener> {
  const lines: string[] = [];
  const socket = createSocket('udp4');
  socket.on('message', (message) =>
    lines.push(
      ...message
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== ''),
    ),
  );
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    lines,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
