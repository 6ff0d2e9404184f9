/**
 * What does the flight recorder cost? `service run` (GET /items/:key, metric records to files) with
 * the recorder off and with each variant on, driven by wrk. The method is built to resolve a few
 * percent on a 2-core machine:
 *
 * - wrk is pinned to CPU 0 and every server to CPU 1 (`taskset`): the server's threads (the
 *   recorder's writer included) share one core, so all the recorder costs comes out of throughput,
 *   and the load generator never competes with the server for it.
 * - Every variant runs in its own server, started and warmed together with the others'; while one
 *   is measured the others are stopped (SIGSTOP; `--idle park` moves them to the client's CPU
 *   instead), so an idle recorder's timers do not steal from its neighbour. A woken server gets
 *   `--settle` seconds of unmeasured load before its window: what came due while it was stopped
 *   runs then, not in the window (see `measure`). Each server is warmed for `--warmup` seconds
 *   before it is first stopped, long enough for V8's start-up memory reducer (see `warmupS`). By default every
 *   round starts new servers (`--fresh-every 1`): two identical servers kept for a whole run
 *   differed by 4-6% all along (a process's JIT and memory layout settle once), which no number of
 *   rounds averages out; fresh ones sample that spread instead. The servers of a generation start
 *   (and warm) one after the other, in an order that rotates every generation: started in a fixed
 *   order, later servers ran faster (see `startGeneration`). Give `--rounds` as a multiple of
 *   `--fresh-every` times the number of variants and each variant starts in each place equally often.
 * - Many short rounds; in each, every variant runs once, in an order that rotates and reverses
 *   every other round (ABBA for two variants), so drift hits all alike.
 * - Each variant is compared with `off` of the same round: the report gives the median of those
 *   per-round ratios with their interquartile range and a bootstrap 95% interval of the median.
 *   Server CPU per request (all threads, /proc/PID/stat) is paired the same way.
 * - `off-again` is a second, identical recorder-off server: its ratio to `off` (the A/A line) is
 *   the method's own noise. A difference inside the A/A spread is not a measured cost.
 *
 * Variants: off, off-again, dial9.env (dial9.env's settings), cpu-99hz (dial9.env + CPU sampling at
 * 99 Hz), task-dump (dial9.env + the task dump), no-resources (dial9.env without the 100 ms resource
 * sample), and any `name:VAR=value;VAR=value` (`--extra`, dial9.env's settings plus those variables;
 * `BENCH_ROOT=<dir>` runs that checkout's build instead, e.g. `git worktree add /tmp/old HEAD~1`).
 *
 *   apt-get install wrk    # the load generator (Debian's package); taskset is in util-linux
 *   npm run build && node dist/bench/recorder-overhead.js [--rounds 20] [--duration 2] [--connections 50]
 *     [--variants off-again,dial9.env,cpu-99hz] [--extra 'name:DIAL9_X=1'] [--warmup 10] [--settle 1] [--fresh-every 1] [--idle stop|park] [--no-pin] [--files-on-disk]
 *     [--rounds-file rounds.ndjson]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { decodeSegment } from '../src/profile/format/index.js';
import { listeningUrl } from '../src/service-process.js';
import { dial9Env } from './lib/dial9-env.js';
import { threadCpuSeconds } from './lib/process.js';
import { bootstrapMedianCi, quantile } from './lib/spread.js';
import { fixed, median } from './lib/stats.js';
import { hasTaskset, hasWrk, runWrk, type WrkResult } from './lib/wrk.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    duration: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
    /** Seconds of load each server gets once, before the first round. */
    warmup: { type: 'string', default: '10' },
    /** Seconds of unmeasured load a woken server gets before each measured window. */
    settle: { type: 'string', default: '1' },
    /** Comma-separated, besides `off` (always measured). */
    variants: { type: 'string', default: 'off-again,dial9.env,cpu-99hz' },
    /** More variants, `name:VAR=value;VAR=value`, comma-separated: dial9.env plus those variables. */
    extra: { type: 'string', default: '' },
    /** Leave the CPU placement to the scheduler (no taskset). */
    'no-pin': { type: 'boolean', default: false },
    /** Telemetry and traces in the system's temp directory instead of /dev/shm. */
    'files-on-disk': { type: 'boolean', default: false },
    'client-cpu': { type: 'string', default: '0' },
    'server-cpu': { type: 'string', default: '1' },
    /** Start new servers every this many rounds (0: one set for the whole run). */
    'fresh-every': { type: 'string', default: '1' },
    /**
     * What an idle server does while another is measured: `stop` (SIGSTOP) or `park` (moved to the
     * client's CPU, where its timers run beside wrk instead of beside the measured server).
     */
    idle: { type: 'string', default: 'stop' },
    /**
     * NDJSON of rounds: earlier runs' rounds with every variant of this run are read and pooled with
     * this run's, and this run's rounds are appended (a few runs pooled resolve what one cannot).
     */
    'rounds-file': { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const durationS = Number(values.duration);
const connections = Number(values.connections);
/**
 * Long enough for every V8 isolate's start-up memory reducer: ~8 s after an isolate starts it runs
 * two full (Mark-Compact "reduce") collections. In a server stopped before then they came due while
 * it slept and ran on its core in its measured window: 6 collections, ~150 ms of a 2 s window, for
 * the three worker isolates of a recorder-off server with one idle worker added (`--trace-gc`).
 * With a 3 s warmup each extra isolate (the recorder's writer, or a worker that does nothing at all)
 * looked like a 2-3% cost that a running service pays once, at start-up.
 */
const warmupS = Number(values.warmup);
const settleS = Number(values.settle);
// wrk takes whole seconds only (`-d0.5s` is a usage error).
for (const [name, least] of [
  ['duration', 1],
  ['warmup', 0],
  ['settle', 0],
] as const) {
  const seconds = Number(values[name]);
  if (!Number.isInteger(seconds) || seconds < least)
    throw new Error(`--${name} ${values[name]}: whole seconds, at least ${least} (wrk's -d)`);
}
const freshEvery = Number(values['fresh-every']);
const idle = values.idle;
if (idle !== 'stop' && idle !== 'park') throw new Error(`--idle ${idle}: use stop or park`);
if (!hasWrk()) throw new Error('this benchmark drives wrk: apt-get install wrk');
const pin = !values['no-pin'];
if (pin && !hasTaskset()) throw new Error('taskset not found (util-linux); install it or pass --no-pin');
const clientCpus = pin ? values['client-cpu'] : undefined;
const serverCpus = pin ? values['server-cpu'] : undefined;
if (idle === 'park' && !pin) throw new Error('--idle park moves servers between pinned CPUs: drop --no-pin');

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Variant {
  readonly name: string;
  /** Variables on top of the bench's environment; undefined: the recorder off. */
  readonly env: Record<string, string> | undefined;
}

const BUILT_IN: Record<string, Record<string, string> | undefined> = {
  off: undefined,
  'off-again': undefined,
  'dial9.env': {},
  'cpu-99hz': { DIAL9_CPU_PROFILE_ENABLED: 'true', DIAL9_CPU_SAMPLE_HZ: '99' },
  'task-dump': { DIAL9_TASK_DUMP_ENABLED: 'true' },
  'no-resources': { DIAL9_PROCESS_RESOURCE_USAGE_ENABLED: 'false' },
};

function variants(): Variant[] {
  const names = ['off', ...(values.variants ?? '').split(',').filter((n) => n !== '' && n !== 'off')];
  const list: Variant[] = names.map((name) => {
    if (!(name in BUILT_IN)) throw new Error(`unknown variant ${name}; known: ${Object.keys(BUILT_IN).join(', ')}`);
    const env = BUILT_IN[name];
    return { name, env: env === undefined ? undefined : { ...dial9Env(ROOT), ...env } };
  });
  for (const spec of (values.extra ?? '').split(',').filter((s) => s !== '')) {
    const [name, vars = ''] = spec.split(':');
    if (name === undefined || name === '' || list.some((v) => v.name === name))
      throw new Error(`--extra ${spec}: give each variant a new name, as name:VAR=value;VAR=value`);
    const env: Record<string, string> = {};
    for (const pair of vars.split(';').filter((p) => p !== '')) {
      const eq = pair.indexOf('=');
      if (eq < 1) throw new Error(`--extra ${spec}: ${pair} is not VAR=value`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    list.push({ name, env: { ...dial9Env(ROOT), ...env } });
  }
  return list;
}

interface Server {
  readonly variant: Variant;
  readonly child: ChildProcess;
  readonly url: string;
  readonly dir: string;
}

/**
 * Telemetry and traces go to memory (/dev/shm) when the machine has it: on disk, the kernel's
 * writeback throttling slowed whichever servers had written most (the recorder-off ones, being the
 * fastest) half-way through a 20-round run, a cost of the disk and not of the recorder.
 */
const FILES_ROOT = values['files-on-disk'] !== true && existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

async function startServer(variant: Variant): Promise<Server> {
  const dir = mkdtempSync(join(FILES_ROOT, `bench-recorder-${variant.name}-`));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Off means off, even after `source dial9.env` in the bench's shell.
    ...(variant.env === undefined ? { DIAL9_ENABLED: 'false' } : { ...variant.env, DIAL9_TRACE_DIR: join(dir, 't') }),
  };
  // BENCH_ROOT (an --extra variable, not passed on): another checkout's build, such as the previous
  // commit's in a git worktree, measured against this one in the same rounds.
  const root = env.BENCH_ROOT ?? ROOT;
  delete env.BENCH_ROOT;
  const node = [process.execPath, join(root, 'bin/run.js'), 'run', '--port', '0', '--telemetry-dir', dir];
  const [command, ...args] = serverCpus === undefined ? node : ['taskset', '-c', serverCpus, ...node];
  const child = spawn(command as string, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    return await listening(variant, child, dir);
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function listening(variant: Variant, child: ChildProcess, dir: string): Promise<Server> {
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      if (err.length < 1e6) err += chunk;
      const address = listeningUrl(err);
      if (address !== undefined) resolve(address);
    });
    child.once('exit', (code) =>
      reject(new Error(`${variant.name}: service exited with ${code} before listening:\n${err}`)),
    );
  });
  const put = await fetch(`${url}/items/bench`, { method: 'PUT', body: 'x'.repeat(64) });
  if (put.status !== 204) throw new Error(`${variant.name}: PUT answered ${put.status}`);
  return { variant, child, url: `${url}/items/bench`, dir };
}

async function stopServer(server: Server): Promise<void> {
  server.child.kill('SIGCONT');
  await new Promise<void>((resolve) => {
    if (server.child.exitCode !== null) return resolve();
    const timer = setTimeout(() => server.child.kill('SIGKILL'), 15_000);
    server.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    server.child.kill('SIGTERM');
  });
}

/** Events and bytes of every sealed segment under `dir`. */
function traceSize(dir: string): { events: number; gzBytes: number; rawBytes: number } {
  const size = { events: 0, gzBytes: 0, rawBytes: 0 };
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.bin.gz')) {
        const gz = readFileSync(path);
        const raw = gunzipSync(gz);
        size.gzBytes += gz.length;
        size.rawBytes += raw.length;
        size.events += decodeSegment(new Uint8Array(raw)).blocks.reduce((n, b) => n + b.events, 0);
      }
    }
  };
  walk(dir);
  return size;
}

interface Sample extends WrkResult {
  readonly cpuUsPerRequest: number;
  /** The main thread's share (JavaScript, the recorder's hot path); the rest is the other threads (writers, GC helpers). */
  readonly mainUsPerRequest: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every thread of `server` onto `cpus` (`taskset -a`: the writer and V8's threads too). */
function moveTo(server: Server, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(server.child.pid)], { stdio: 'ignore' });
}

/** Puts an unmeasured server out of the way (see `--idle`). */
function sleep(server: Server): void {
  if (idle === 'stop') server.child.kill('SIGSTOP');
  else moveTo(server, clientCpus as string);
}

function wake(server: Server): void {
  if (idle === 'stop') server.child.kill('SIGCONT');
  else moveTo(server, serverCpus as string);
}

/**
 * Wakes `server` (the others sleep), loads it for `settle` seconds unmeasured, then for `seconds`
 * measured, and puts it back to sleep. The settle load is where the server catches up on what came
 * due while it was stopped (its timers, V8's delayed GC tasks): a running service has no such
 * backlog, and timers that wait on the wall clock fire in one burst after a stop. Throughput and CPU
 * are both counted over the measured window only.
 */
async function measure(server: Server, seconds: number, settle = settleS): Promise<Sample> {
  const pid = server.child.pid;
  wake(server);
  await pause(100);
  if (settle > 0) await runWrk(server.url, connections, settle, { cpus: clientCpus });
  const cpuBefore = threadCpuSeconds(pid);
  const result = await runWrk(server.url, connections, seconds, { cpus: clientCpus });
  sleep(server);
  await pause(10);
  const cpuAfter = threadCpuSeconds(pid);
  if (result.non2xx > 0) throw new Error(`${server.variant.name}: ${result.non2xx} non-2xx answers`);
  if (result.socketErrors > 0) process.stderr.write(`${server.variant.name}: ${result.socketErrors} socket errors\n`);
  const main = cpuBefore === undefined || cpuAfter === undefined ? Number.NaN : cpuAfter.main - cpuBefore.main;
  const others = cpuBefore === undefined || cpuAfter === undefined ? Number.NaN : cpuAfter.others - cpuBefore.others;
  return {
    ...result,
    cpuUsPerRequest: ((main + others) * 1e6) / result.requests,
    mainUsPerRequest: (main * 1e6) / result.requests,
  };
}

/** Round `round`'s order: rotated by one each round, reversed every other round (ABBA for two). */
function order<T>(list: readonly T[], round: number): T[] {
  const turn = Math.floor(round / 2) % list.length;
  const rotated = [...list.slice(turn), ...list.slice(0, turn)];
  return round % 2 === 0 ? rotated : rotated.reverse();
}

const VARIANTS = variants();
let servers: Server[] = [];
const samples = new Map<string, Sample[]>(VARIANTS.map((v) => [v.name, []]));
/** Trace sizes of every server retired so far, by variant. */
const sizes = new Map<string, ReturnType<typeof traceSize>>();
let loadSeconds = 0;

let generation = 0;

/**
 * Starts one server per variant and warms each (the others sleeping). The order rotates from one
 * generation to the next: five identical recorder-off servers started one after the other ran
 * faster the later they started (1, 1.046, 1.034, 1.065 and 1.106 times the first, 16 rounds), so a
 * fixed order favoured whichever variant came last. Rotated, each variant starts in each place.
 */
async function startGeneration(): Promise<void> {
  const turn = generation++ % VARIANTS.length;
  for (const variant of [...VARIANTS.slice(turn), ...VARIANTS.slice(0, turn)]) {
    const server = await startServer(variant);
    servers.push(server);
    if (warmupS > 0) await measure(server, warmupS, 0);
    else sleep(server);
  }
  // Each server had this much load (once per generation, not once per server started).
  loadSeconds += warmupS;
}

/** Stops every server, adds up its trace's size (when `keep`), and removes its files. */
async function retireGeneration(keep: boolean): Promise<void> {
  const retiring = servers;
  servers = [];
  for (const server of retiring) await stopServer(server);
  try {
    for (const server of retiring) {
      if (!keep || server.variant.env === undefined) continue;
      const size = traceSize(server.dir);
      const total = sizes.get(server.variant.name) ?? { events: 0, gzBytes: 0, rawBytes: 0 };
      sizes.set(server.variant.name, {
        events: total.events + size.events,
        gzBytes: total.gzBytes + size.gzBytes,
        rawBytes: total.rawBytes + size.rawBytes,
      });
    }
  } finally {
    for (const server of retiring) rmSync(server.dir, { recursive: true, force: true });
  }
}

/** One round as `--rounds-file` keeps it: every variant's sample. */
interface RoundLine {
  readonly at: string;
  readonly samples: Record<string, Sample>;
}
const roundsFile = values['rounds-file'];
let pooledRounds = 0;
if (roundsFile !== undefined && existsSync(roundsFile)) {
  for (const text of readFileSync(roundsFile, 'utf8').split('\n')) {
    if (text.trim() === '') continue;
    const line = JSON.parse(text) as RoundLine;
    // Only rounds that ran every variant of this run pair up with it.
    if (!VARIANTS.every((v) => line.samples[v.name] !== undefined)) continue;
    for (const v of VARIANTS) samples.get(v.name)?.push(line.samples[v.name] as Sample);
    pooledRounds++;
  }
}

let finished = false;
try {
  for (let round = 0; round < rounds; round++) {
    if (servers.length === 0) await startGeneration();
    const line: string[] = [];
    const kept: Record<string, Sample> = {};
    for (const server of order(servers, round)) {
      const sample = await measure(server, durationS);
      samples.get(server.variant.name)?.push(sample);
      kept[server.variant.name] = sample;
      line.push(`${server.variant.name} ${fixed(sample.rps, 0)}/s ${fixed(sample.cpuUsPerRequest, 1)}µs`);
    }
    if (roundsFile !== undefined)
      appendFileSync(
        roundsFile,
        `${JSON.stringify({ at: new Date().toISOString(), samples: kept } satisfies RoundLine)}\n`,
      );
    loadSeconds += settleS + durationS;
    process.stderr.write(`round ${round + 1}/${rounds}: ${line.join('  ')}\n`);
    if (freshEvery > 0 && (round + 1) % freshEvery === 0 && round + 1 < rounds) await retireGeneration(true);
  }
  finished = true;
} finally {
  // A failed run leaves nothing behind either.
  await retireGeneration(finished);
}

const of = (name: string) => samples.get(name) ?? [];
/** Per-round a/b of `key`, for the rounds both ran. */
const pairs = (a: string, b: string, key: 'rps' | 'cpuUsPerRequest') =>
  of(a).map((s, i) => s[key] / (of(b)[i]?.[key] ?? Number.NaN));
/** Per-round a-b of CPU µs per request: all threads, the main thread, the other threads. */
const cpuDiffs = (a: string, b: string, part: 'all' | 'main' | 'others' = 'all') => {
  const pick = (s: Sample | undefined) =>
    s === undefined
      ? Number.NaN
      : part === 'all'
        ? s.cpuUsPerRequest
        : part === 'main'
          ? s.mainUsPerRequest
          : s.cpuUsPerRequest - s.mainUsPerRequest;
  return of(a).map((s, i) => pick(s) - pick(of(b)[i]));
};
const med = (name: string, key: keyof Sample) => median(of(name).map((s) => s[key]));

/** "+5.1 (3.2 + 1.9)": the median extra CPU µs per request, then on the main thread and on the others. */
function diffs(a: string, b: string): string {
  const all = median(cpuDiffs(a, b));
  return `${all >= 0 ? '+' : ''}${fixed(all, 1)} (${fixed(median(cpuDiffs(a, b, 'main')), 1)} + ${fixed(median(cpuDiffs(a, b, 'others')), 1)})`;
}

/** "0.97 [0.95–0.99] (0.94–1.00)": the median, its IQR, the bootstrap 95% interval of the median. */
function spread(values: readonly number[], digits = 3): string {
  const [low, high] = bootstrapMedianCi(values);
  return `${fixed(median(values), digits)} [${fixed(quantile(values, 0.25), digits)}–${fixed(quantile(values, 0.75), digits)}] (${fixed(low, digits)}–${fixed(high, digits)})`;
}

const placement = pin ? `wrk on CPU ${clientCpus}, server on CPU ${serverCpus}` : 'unpinned';
console.log(
  `\nservice run, GET /items/:key, wrk -t1 -c${connections}, ${placement}, files in ${FILES_ROOT}; ${rounds} rounds × ${durationS} s, every variant each round (rotating, alternating order)${freshEvery > 0 ? `, new servers every ${freshEvery} round(s), started in an order that rotates each time` : ''}${pooledRounds > 0 ? `; pooled with ${pooledRounds} earlier rounds from ${roundsFile} (ratios and CPU over all ${pooledRounds + rounds}; events and bytes this run's)` : ''}; node ${process.version}`,
);
console.log(
  'Ratios: median of per-round ratios to `off` [interquartile range] (bootstrap 95% interval of the median).\n',
);
console.log(
  '| variant | req/s | throughput vs off | server CPU µs/req | CPU/req vs off | +µs/req vs off (main + other threads) | p99 ms | events/s | B/event gz |',
);
console.log('|---|---:|---|---:|---|---:|---:|---:|---:|');
for (const { name } of VARIANTS) {
  const size = sizes.get(name);
  const isOff = name === 'off';
  console.log(
    [
      '',
      name,
      fixed(med(name, 'rps'), 0),
      isOff ? '1' : spread(pairs(name, 'off', 'rps')),
      fixed(med(name, 'cpuUsPerRequest'), 1),
      isOff ? '1' : spread(pairs(name, 'off', 'cpuUsPerRequest')),
      isOff ? '0' : diffs(name, 'off'),
      fixed(med(name, 'p99Ms'), 2),
      size === undefined ? '–' : fixed(size.events / loadSeconds, 0),
      size === undefined ? '–' : fixed(size.gzBytes / Math.max(1, size.events)),
      '',
    ]
      .join(' | ')
      .trim(),
  );
}
if (samples.has('off-again')) {
  const aa = pairs('off-again', 'off', 'rps');
  const [low, high] = bootstrapMedianCi(aa);
  console.log(
    `\nA/A (off-again vs off, the method's noise): throughput ${spread(aa)}; CPU/req ${spread(pairs('off-again', 'off', 'cpuUsPerRequest'))}. ` +
      `${high - low <= 0.03 ? 'Its 95% interval is within 3%: a 3% cost is resolvable.' : 'Its 95% interval is wider than 3%: this run cannot resolve a 3% cost.'}`,
  );
}
const base = VARIANTS.find((v) => v.name === 'dial9.env');
const others = VARIANTS.filter((v) => v.env !== undefined && v.name !== 'dial9.env');
if (base !== undefined && others.length > 0) {
  console.log('\nAgainst `dial9.env` (what each variant adds, or saves when below 1):\n');
  console.log(
    '| variant | throughput vs dial9.env | CPU/req vs dial9.env | +µs/req vs dial9.env (main + other threads) |',
  );
  console.log('|---|---|---|---:|');
  for (const { name } of others)
    console.log(
      `| ${name} | ${spread(pairs(name, base.name, 'rps'))} | ${spread(pairs(name, base.name, 'cpuUsPerRequest'))} | ${diffs(name, base.name)} |`,
    );
}
