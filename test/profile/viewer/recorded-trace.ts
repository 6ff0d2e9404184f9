/**
 * A trace recorded by the test, the real way: `service run` with the flight recorder on (CPU samples
 * at 1 kHz), its telemetry beside the trace directory, and one planted incident: a request to
 * /items/planted runs `plantedStall`, 400 ms of CPU on the main thread (a preload subscribed to the
 * service's request channel), so the stall, its stack, its request and its wide event are known.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startService } from '../../helpers/service-process.js';
import { tempDir } from '../trace-files.js';

export const PLANTED_FUNCTION = 'plantedStall';
export const PLANTED_REQUEST_ID = 'planted-request-1';
/**
 * Long enough to be most of its stall's samples on a crowded machine: at 150 ms a CI run stretched
 * the stall to 275 ms of the request's own CPU work, and the rest of that window's samples made the
 * plant's subscriber, not this function, the stall's commonest site.
 */
export const PLANTED_STALL_MS = 400;

const PRELOAD = `
import { subscribe } from 'node:diagnostics_channel';
import { setFlagsFromString } from 'node:v8';
// ${PLANTED_FUNCTION} must stay a frame of its own in the CPU samples: once TurboFan had inlined it
// into the subscriber, the samples named only the subscriber (a CI run failed so), and the tests
// look for this name.
setFlagsFromString('--no-turbo-inlining');
function ${PLANTED_FUNCTION}(ms) {
  const end = performance.now() + ms;
  let x = 0;
  // The clock is read now and then, so the samples land in this function, not in now(). Small
  // integers only: a double here was a new heap number per turn until TurboFan compiled the loop,
  // and on a crowded CI run (the compile late) the garbage collector and the subscriber outranked
  // this function in the range's samples.
  for (let i = 0; ; i++) {
    x = (x * 31 + i) & 0xffff;
    if (i % 100000 === 0 && performance.now() >= end) return x;
  }
}
subscribe('service:request:opened', (message) => {
  if (message.path === '/items/planted') ${PLANTED_FUNCTION}(${PLANTED_STALL_MS});
});
`;

export interface RecordedTrace {
  /** Holds traces/ (the trace directory) and telemetry/ (metrics.log) side by side. */
  readonly root: string;
  readonly traceDir: string;
  readonly metricsLog: string;
  /** Request ids of the ordinary requests, in order. */
  readonly requestIds: readonly string[];
}

export async function recordServiceTrace(): Promise<RecordedTrace> {
  const root = tempDir('viewer-trace');
  const preload = join(root, 'plant.mjs');
  writeFileSync(preload, PRELOAD);
  const traceDir = join(root, 'traces');
  const service = await startService(['--telemetry-dir', join(root, 'telemetry')], {
    DIAL9_ENABLED: 'true',
    DIAL9_TRACE_DIR: traceDir,
    DIAL9_CPU_PROFILE_ENABLED: 'true',
    DIAL9_CPU_SAMPLE_HZ: '1000',
    NODE_OPTIONS: `--import ${preload}`,
  });
  const requestIds: string[] = [];
  let sent: unknown;
  try {
    for (let i = 0; i < 20; i++) {
      const id = `viewer-req-${i}`;
      requestIds.push(id);
      const res = await fetch(`${service.url}/items/k${i % 4}`, {
        method: i % 4 === 0 ? 'PUT' : 'GET',
        body: i % 4 === 0 ? `value-${i}` : undefined,
        headers: { 'x-request-id': id },
      });
      await res.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    const planted = await fetch(`${service.url}/items/planted`, { headers: { 'x-request-id': PLANTED_REQUEST_ID } });
    await planted.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 100));
  } catch (err) {
    sent = err;
  }
  // Stopped in every case; SIGTERM seals the segment.
  const code = await service.stop('SIGTERM');
  if (sent !== undefined) throw sent;
  if (code !== 0) throw new Error(`the recorded service exited ${code}: ${service.stderr()}`);
  return { root, traceDir, metricsLog: join(root, 'telemetry', 'metrics.log'), requestIds };
}
