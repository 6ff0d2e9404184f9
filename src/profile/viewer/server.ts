/**
 * The viewer's local HTTP server: the web app, speedscope, a JSON catalog, the raw files of the
 * directories it was given, and wide-event look-ups. Read-only (GET and HEAD), loopback unless asked,
 * and every file path goes through safe-path.ts: what is not under a given directory is a 404.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, extname, join } from 'node:path';
import type { ServeConfig } from '../../config/serve.js';
import { TraceAnalyses } from './analysis.js';
import { speedscopeDir, WEB_DIR } from './assets.js';
import { readCatalog, SEGMENT_FILE } from './catalog.js';
import { fileUnder, resolveUnder, safeSegments } from './safe-path.js';
import { segmentHeader } from './segment-headers.js';
import { findWideEvent } from './wide-events.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.cpuprofile': 'application/json; charset=utf-8',
  '.heapprofile': 'application/json; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
};

export interface ViewerServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** The directories (and the one metrics file) the server may read from, by their first URL segment. */
interface Roots {
  readonly captures: string;
  readonly traces: string;
  /** `--metrics FILE`, or telemetry/metrics.log beside the trace directory: served as /files/metrics/<name>. */
  readonly metricsFile: string | undefined;
}

function traceMetricsFile(config: ServeConfig): string | undefined {
  if (config.metricsFile !== undefined) return config.metricsFile;
  const beside = join(dirname(config.traceDir), 'telemetry', 'metrics.log');
  return existsSync(beside) ? beside : undefined;
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, value: unknown): void {
  send(res, 200, JSON.stringify(value), 'application/json; charset=utf-8');
}

function notFound(res: ServerResponse): void {
  send(res, 404, 'not found\n');
}

function sendFile(res: ServerResponse, path: string | undefined, cache = false): void {
  const stat = path === undefined ? undefined : statSync(path, { throwIfNoEntry: false });
  if (path === undefined || stat === undefined || !stat.isFile()) {
    notFound(res);
    return;
  }
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
    'content-length': stat.size,
    'cache-control': cache ? 'max-age=3600' : 'no-store',
    'x-content-type-options': 'nosniff',
  });
  if (res.req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(path);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/** A file under /files/: captures/..., traces/..., or metrics/<name of the metrics file or a rotation>. */
function resolveFile(roots: Roots, segments: readonly string[]): string | undefined {
  const [root, ...rest] = segments;
  if (root === 'captures') return fileUnder(roots.captures, rest);
  if (root === 'traces') return fileUnder(roots.traces, rest);
  if (root === 'metrics' && roots.metricsFile !== undefined && rest.length === 1) {
    const name = rest[0] ?? '';
    const own = basename(roots.metricsFile);
    if (name !== own && !name.startsWith(`${own}.`)) return undefined;
    return fileUnder(dirname(roots.metricsFile), [name]);
  }
  return undefined;
}

/** A trace's process directory from its id (`traces/<dir>` or `captures/<capture>/trace/<dir>`). */
function traceDirectory(roots: Roots, id: string): string | undefined {
  const segments = safeSegments(id);
  if (segments === undefined) return undefined;
  const [root, ...rest] = segments;
  if (rest.length === 0) return undefined;
  const dir =
    root === 'traces'
      ? resolveUnder(roots.traces, rest)
      : root === 'captures'
        ? resolveUnder(roots.captures, rest)
        : undefined;
  return dir !== undefined && statSync(dir, { throwIfNoEntry: false })?.isDirectory() === true ? dir : undefined;
}

/** Host names a loopback-bound viewer answers to: a page on another site cannot rebind its name to us. */
function hostAllowed(req: IncomingMessage, config: ServeConfig): boolean {
  if (!config.loopback) return true;
  const host = (req.headers.host ?? '')
    .replace(/:\d+$/, '')
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
  return host === 'localhost' || host === '::1' || host.startsWith('127.') || host === config.host;
}

export async function startViewer(config: ServeConfig): Promise<ViewerServer> {
  const metricsFile = traceMetricsFile(config);
  const roots: Roots = { captures: config.captureDir, traces: config.traceDir, metricsFile };
  const speedscope = speedscopeDir();
  const analyses = new TraceAnalyses();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('read-only: GET and HEAD only\n');
      return;
    }
    if (!hostAllowed(req, config)) return send(res, 403, 'this viewer answers to localhost only\n');
    const raw = req.url ?? '/';
    const queryAt = raw.indexOf('?');
    const rawPath = queryAt === -1 ? raw : raw.slice(0, queryAt);
    const query = new URLSearchParams(queryAt === -1 ? '' : raw.slice(queryAt + 1));
    if (!rawPath.startsWith('/')) return notFound(res);
    const segments = safeSegments(rawPath.slice(1).replace(/\/$/, ''));
    if (segments === undefined) return notFound(res);
    const [top, ...rest] = segments;

    if (top === undefined) return sendFile(res, join(WEB_DIR, 'index.html'));
    if (top === 'app') return sendFile(res, fileUnder(WEB_DIR, rest), true);
    if (top === 'speedscope') {
      if (speedscope === undefined) return notFound(res);
      return sendFile(res, fileUnder(speedscope, rest.length === 0 ? ['index.html'] : rest), true);
    }
    if (top === 'files') return sendFile(res, resolveFile(roots, rest));
    if (top === 'api') {
      const name = rest.join('/');
      if (name === 'catalog') {
        const metricsUrl =
          metricsFile === undefined ? undefined : `metrics/${encodeURIComponent(basename(metricsFile))}`;
        return sendJson(res, readCatalog(config.captureDir, config.traceDir, metricsUrl));
      }
      if (name === 'wide-event') {
        const requestId = query.get('requestId') ?? '';
        const fileSegments = safeSegments(query.get('metrics') ?? '');
        const file = fileSegments === undefined ? undefined : resolveFile(roots, fileSegments);
        if (file === undefined || requestId === '') return notFound(res);
        const nearMs = Number(query.get('wallMs') ?? Number.NaN);
        const found = await findWideEvent(file, requestId, Number.isFinite(nearMs) ? nearMs : undefined);
        return sendJson(res, { requestId, wideEvent: found ?? null });
      }
      if (name === 'headers') {
        // The header of each named segment of a trace (the page sends the names it got from the catalog).
        const dir = traceDirectory(roots, query.get('trace') ?? '');
        if (dir === undefined) return notFound(res);
        const names = (query.get('segments') ?? '').split(',');
        const headers = await Promise.all(
          names.map((segment) => {
            const path = SEGMENT_FILE.test(segment) ? fileUnder(dir, [segment]) : undefined;
            return path === undefined ? undefined : segmentHeader(path);
          }),
        );
        if (headers.some((h) => h === undefined)) return notFound(res);
        return sendJson(res, { headers });
      }
      if (name === 'analysis' || name === 'explain') {
        const dir = traceDirectory(roots, query.get('trace') ?? '');
        if (dir === undefined) return notFound(res);
        if (name === 'analysis') return sendJson(res, analyses.state(dir));
        const requestId = query.get('requestId') ?? '';
        if (requestId === '') return notFound(res);
        return sendJson(res, { requestId, request: await analyses.explain(dir, requestId) });
      }
    }
    return notFound(res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, `${(err as Error).message}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    server,
    close: async () => {
      await analyses.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
