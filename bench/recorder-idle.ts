/**
 * What the flight recorder costs a process that does nothing: main-thread CPU and loop wake-ups a
 * second, with the recorder off and on (dial9.env's settings), for a plain Node program under the
 * preload (`node --import …/register.js`, an interval that never fires) and for `service run`. An
 * always-on recorder runs in every idle container of a fleet: wake-ups keep a CPU out of its idle
 * states, and each costs tens of µs of kernel and loop work on this VM.
 *
 * Each process is pinned to one CPU (`taskset`), left to settle, then measured from /proc over
 * `--secs`: CPU of the main thread and of the whole process, and the main thread's voluntary
 * context switches (one per wait in epoll that ended). Variants rotate each round; medians.
 *
 *   npm run build && node dist/bench/recorder-idle.js [--rounds 3] [--secs 10] [--settle 3] [--cpu 1]
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dial9Env } from './lib/dial9-env.js';
import { threadCpuSeconds } from './lib/process.js';
import { fixed, median } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    secs: { type: 'string', default: '10' },
    settle: { type: 'string', default: '3' },
    cpu: { type: 'string', default: '1' },
  },
});
const rounds = Number(values.rounds);
const secs = Number(values.secs);
const settleS = Number(values.settle);

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/run.js');
const REGISTER = join(ROOT, 'dist/src/profile/recorder/register.js');
/** An idle program: one interval that never fires keeps the loop alive. */
const IDLE_PROGRAM = 'setInterval(() => {}, 1e9)';

interface Variant {
  readonly name: string;
  readonly args: (dir: string) => string[];
  readonly recorder: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'program, recorder off', args: () => ['-e', IDLE_PROGRAM], recorder: false },
  { name: 'program, dial9.env', args: () => ['--import', REGISTER, '-e', IDLE_PROGRAM], recorder: true },
  {
    name: 'service run, recorder off',
    args: (dir) => [BIN, 'run', '--port', '0', '--telemetry-dir', dir],
    recorder: false,
  },
  {
    name: 'service run, dial9.env',
    args: (dir) => [BIN, 'run', '--port', '0', '--telemetry-dir', dir],
    recorder: true,
  },
];

interface Reading {
  readonly mainMsPerS: number;
  readonly processMsPerS: number;
  readonly wakeUpsPerS: number;
}

function voluntarySwitches(pid: number): number {
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
  return Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN);
}

async function measure(variant: Variant): Promise<Reading> {
  const dir = mkdtempSync(join(tmpdir(), 'recorder-idle-'));
  const env = variant.recorder
    ? { ...process.env, ...dial9Env(ROOT), DIAL9_TRACE_DIR: join(dir, 'traces') }
    : { ...process.env, DIAL9_ENABLED: 'false' };
  const child: ChildProcess = spawn('taskset', ['-c', values.cpu ?? '1', process.execPath, ...variant.args(dir)], {
    env,
    stdio: 'ignore',
  });
  try {
    await sleep(settleS * 1000);
    const pid = child.pid;
    if (pid === undefined || child.exitCode !== null) throw new Error(`${variant.name}: the process did not start`);
    const before = threadCpuSeconds(pid);
    const switchesBefore = voluntarySwitches(pid);
    await sleep(secs * 1000);
    const after = threadCpuSeconds(pid);
    const switchesAfter = voluntarySwitches(pid);
    if (before === undefined || after === undefined) throw new Error('cannot read /proc');
    return {
      mainMsPerS: ((after.main - before.main) * 1000) / secs,
      processMsPerS: ((after.main + after.others - before.main - before.others) * 1000) / secs,
      wakeUpsPerS: (switchesAfter - switchesBefore) / secs,
    };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

if (spawnSync('taskset', ['-V']).error !== undefined) throw new Error('taskset not found (util-linux)');
const readings = new Map<string, Reading[]>(VARIANTS.map((v) => [v.name, []]));
for (let round = 0; round < rounds; round++) {
  const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length] as Variant);
  const line: string[] = [];
  for (const variant of order) {
    const reading = await measure(variant);
    readings.get(variant.name)?.push(reading);
    line.push(`${variant.name} ${fixed(reading.mainMsPerS, 1)} ms/s ${fixed(reading.wakeUpsPerS, 0)}/s`);
  }
  console.log(`round ${round + 1}/${rounds}: ${line.join('  ')}`);
}

console.log(
  `\nIdle for ${secs} s after ${settleS} s, pinned to CPU ${values.cpu}, ${rounds} rounds (medians); node ${process.version}\n`,
);
console.log('| variant | main thread CPU ms/s | whole process CPU ms/s | main-thread wake-ups/s |');
console.log('|---|---:|---:|---:|');
for (const variant of VARIANTS) {
  const r = readings.get(variant.name) ?? [];
  console.log(
    `| ${variant.name} | ${fixed(median(r.map((x) => x.mainMsPerS)), 1)} | ${fixed(median(r.map((x) => x.processMsPerS)), 1)} | ${fixed(median(r.map((x) => x.wakeUpsPerS)), 0)} |`,
  );
}
