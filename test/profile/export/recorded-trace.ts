/**
 * A trace recorded for the export tests: a small HTTP program under the recorder preload, with a
 * handler that burns CPU in a named function, a slow downstream it calls, forced GCs, and requests
 * reported on the service's request channels (so the trace has wide-event requests). CPU samples at
 * a high rate so that even a busy machine gives enough of them.
 */
import assert from 'node:assert/strict';
import { runToEnd, tempDir } from '../trace-files.js';

export const PLANTED_FUNCTION = 'burnPlantedFunction';

export const PROGRAM = `
import http from 'node:http';
import diagnosticsChannel from 'node:diagnostics_channel';
const opened = diagnosticsChannel.channel('service:request:opened');
const closed = diagnosticsChannel.channel('service:request:closed');
export function ${PLANTED_FUNCTION}(ms) { const end = performance.now() + ms; let x = 0; do { for (let i = 0; i < 20000; i++) x += Math.sqrt(x + i); } while (performance.now() < end); return x; }
const downstream = http.createServer((req, res) => setTimeout(() => res.end('late'), 120));
const server = http.createServer(async (req, res) => {
  const requestId = req.headers['x-request-id'];
  const startMs = performance.now();
  const operation = req.url === '/burn' ? 'Burn' : req.url === '/proxy' ? 'Proxy' : 'Fast';
  opened.publish({ requestId, operation, method: req.method, path: req.url, startMs });
  let status = 200;
  if (req.url === '/burn') ${PLANTED_FUNCTION}(80);
  if (req.url === '/proxy') status = (await fetch(process.env.DOWNSTREAM + '/slow')).status;
  res.end('ok');
  const endMs = performance.now();
  closed.publish({ requestId, operation, statusCode: status, durationMs: endMs - startMs, errorKind: undefined, endMs });
});
downstream.listen(0, '127.0.0.1', () => {
  process.env.DOWNSTREAM = 'http://127.0.0.1:' + downstream.address().port;
  server.listen(0, '127.0.0.1', async () => {
    const url = 'http://127.0.0.1:' + server.address().port;
    const get = (path, id) => fetch(url + path, { headers: { 'x-request-id': id } }).then((r) => r.text());
    await get('/fast', 'warm-up');
    for (let round = 0; round < 6; round++) {
      await Promise.all([get('/burn', 'burn-' + round), get('/proxy', 'proxy-' + round), get('/fast', 'fast-' + round)]);
      globalThis.gc();
      await new Promise((r) => setTimeout(r, 30));
    }
    server.close();
    downstream.close();
  });
});
`;

/** The 1-based line of the planted function's declaration in the program file. */
export const PLANTED_LINE = PROGRAM.split('\n').findIndex((line) => line.includes(`function ${PLANTED_FUNCTION}(`)) + 1;

/** Records the program into `dir` (a new one by default); returns the trace directory. */
export async function recordTrace(env: Record<string, string> = {}, dir = tempDir('dial9-export')): Promise<string> {
  const run = await runToEnd(
    PROGRAM,
    {
      DIAL9_ENABLED: 'true',
      DIAL9_TRACE_DIR: dir,
      DIAL9_CPU_PROFILE_ENABLED: 'true',
      DIAL9_CPU_SAMPLE_HZ: '499',
      ...env,
    },
    { nodeArgs: ['--expose-gc'], timeoutMs: 60_000 },
  );
  assert.equal(run.code, 0, run.stderr);
  return dir;
}
