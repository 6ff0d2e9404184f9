/**
 * What each profiling tool needs: how to start the program under it, how to stop it, which files
 * prove it worked, and how to open them. The session (session.ts) does the rest the same way for all.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ProfileError } from '../../errors.js';
import type { ProfileTool } from './capture-config.js';
import { type NodeProgram, programWords, projectRoot } from './program.js';
import type { ToolPackageName } from './tool-install.js';
import { selectMainThreadLog } from './v8-logs.js';

export interface CaptureFile {
  /** Relative to the capture directory, with / separators. */
  readonly path: string;
  readonly bytes: number;
}

export interface ToolLaunch {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
}

export interface LaunchContext {
  readonly program: NodeProgram;
  readonly captureDir: string;
  /** The user's working directory (the program's, unless the tool must be isolated). */
  readonly cwd: string;
  /** The installed 0x or clinic CLI script, for tools that need one. */
  readonly bin: string | undefined;
}

export interface ToolSpec {
  readonly name: ProfileTool;
  readonly summary: string;
  readonly package: ToolPackageName | undefined;
  /**
   * Who hears the stop signal. `group`: every process of the tool's group (0x must be stopped this
   * way; for V8's own profilers the program is the group). `leader`: the tool alone, which relays it
   * to its child (clinic; signalling both would make the program see two signals and cut its drain).
   */
  readonly stopTarget: 'group' | 'leader';
  /** The program runs as the tool's child rather than being the tool itself. */
  readonly wraps: boolean;
  launch(ctx: LaunchContext): ToolLaunch;
  /** A second step, run once the first ended (0x renders its flamegraph here); same time bound. */
  afterRun?(ctx: LaunchContext): ToolLaunch | undefined;
  /** Checks the outputs of a finished run: undefined when they are there and sound, else what is wrong. */
  verify(captureDir: string, files: readonly CaptureFile[]): string | undefined;
  /** One line: how to open the capture. */
  openHint(captureDir: string, files: readonly CaptureFile[]): string;
  /** One clause: what to try when this tool fails. */
  readonly tryInstead: string;
  version(bin: string | undefined, installedVersion: string | undefined): string;
}

/** Where the recorder writes inside a capture. */
export const TRACE_SUBDIR = 'trace';
/** A sealed segment of the recorder: trace/<process dir>/trace.<n>[.pinned].bin[.gz] (never `.active`). */
const SEALED_SEGMENT = new RegExp(`^${TRACE_SUBDIR}/[^/]+/trace\\.\\d+(\\.pinned)?\\.bin(\\.gz)?$`);
/** Where 0x writes inside a capture. */
export const FLAMEGRAPH_SUBDIR = '0x';

/** A compiled preload of this folder, also when the CLI runs from its TypeScript sources (bin/dev.js). */
function sessionPreload(file: string): string {
  const beside = new URL(`./${file}`, import.meta.url);
  if (existsSync(beside)) return beside.href;
  return pathToFileURL(join(projectRoot(), 'dist', 'src', 'profile', 'sessions', file)).href;
}

/**
 * The recorder's compiled preload: beside this module in the build, else dist/'s when the CLI runs
 * from its sources (bin/dev.js: Node cannot --import the .ts). Missing: one clear line, not a
 * capture that silently records nothing.
 */
function recorderPreload(): string {
  const beside = new URL('../recorder/register.js', import.meta.url);
  if (existsSync(beside)) return beside.href;
  const built = join(projectRoot(), 'dist', 'src', 'profile', 'recorder', 'register.js');
  if (existsSync(built)) return pathToFileURL(built).href;
  throw new ProfileError(
    'SVC_ERR_PROFILE_UNSUPPORTED',
    `the flight recorder's preload is not built (${built}): run npm run build first`,
  );
}

function exitOnSignalPreload(): string {
  return sessionPreload('exit-on-signal.js');
}

function nodeVersionLabel(): string {
  return `node ${process.version} (V8 ${process.versions.v8})`;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** V8 names its profiles `CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`: the main thread's is thread 0. */
function firstWith(files: readonly CaptureFile[], suffix: string): CaptureFile | undefined {
  const all = files.filter((f) => f.path.endsWith(suffix));
  return all.find((f) => f.path.endsWith(`.0.${f.path.split('.').at(-2) ?? ''}${suffix}`)) ?? all[0];
}

/** --cpu-prof / --heap-prof: V8 writes the profile when the program exits normally. */
function v8Profiler(kind: 'cpu' | 'heap'): ToolSpec {
  const suffix = kind === 'cpu' ? '.cpuprofile' : '.heapprofile';
  return {
    name: kind,
    summary: kind === 'cpu' ? "V8's CPU profile (--cpu-prof)" : "V8's sampling heap profile (--heap-prof)",
    package: undefined,
    stopTarget: 'group',
    wraps: false,
    launch: ({ program, captureDir, cwd }) => {
      const [command = program.node, ...args] = programWords(program, [
        `--${kind}-prof`,
        `--${kind}-prof-dir=${captureDir}`,
        '--import',
        exitOnSignalPreload(),
      ]);
      return { command, args, cwd, env: {} };
    },
    verify: (captureDir, files) => {
      const file = firstWith(files, suffix);
      if (file === undefined) return `no ${suffix} was written (V8 writes it only when the program exits normally)`;
      const profile = readJson(join(captureDir, file.path)) as
        | { nodes?: unknown[]; samples?: unknown[]; head?: { children?: unknown } }
        | undefined;
      if (kind === 'cpu') {
        if (!Array.isArray(profile?.nodes) || !Array.isArray(profile.samples) || profile.samples.length === 0) {
          return `${file.path} holds no samples`;
        }
      } else if (profile?.head === undefined || !Array.isArray(profile.head.children)) {
        return `${file.path} is not a sampling heap profile`;
      }
      return undefined;
    },
    openHint: (captureDir, files) => {
      const file = join(captureDir, firstWith(files, suffix)?.path ?? '');
      return kind === 'cpu'
        ? `open ${file} in Chrome DevTools (Performance panel, "Load profile") or https://www.speedscope.app`
        : `open ${file} in Chrome DevTools (Memory panel, "Load profile")`;
    },
    tryInstead: `check that the program exits on SIGINT, or raise --stop-timeout`,
    version: () => nodeVersionLabel(),
  };
}

/** The flight recorder (issue 9): enabled through DIAL9_* at full fidelity, writing into the capture. */
const recorder: ToolSpec = {
  name: 'recorder',
  summary: 'the flight recorder at full fidelity (DIAL9_*)',
  package: undefined,
  stopTarget: 'group',
  wraps: false,
  // The service starts the recorder itself when DIAL9_ENABLED is true; any other program gets the
  // recorder's preload, which also seals the trace on SIGINT/SIGTERM (no exit-on-signal needed).
  launch: ({ program, captureDir, cwd }) => {
    const preload = program.isService ? [] : ['--import', recorderPreload()];
    const [command = program.node, ...args] = programWords(program, preload);
    return { command, args, cwd, env: recorderEnv(join(captureDir, TRACE_SUBDIR)) };
  },
  // A sealed segment, not just any file: the program may write into DIAL9_TRACE_DIR itself, and a
  // segment left `.active` means the recorder never sealed it (the program did not exit cleanly).
  verify: (_captureDir, files) =>
    files.some((f) => SEALED_SEGMENT.test(f.path))
      ? undefined
      : `the flight recorder sealed no segment in ${TRACE_SUBDIR}/ (is it part of this build? it starts when DIAL9_ENABLED=true)`,
  // The service's wide events (its telemetry/ in the capture) join the findings' requests.
  openHint: (captureDir, files) => {
    const telemetry = files.some((f) => /^telemetry\/metrics\.log/.test(f.path));
    const metrics = telemetry ? ` --metrics ${join(captureDir, 'telemetry')}` : '';
    return `read it with: service profile analyze ${join(captureDir, TRACE_SUBDIR)}${metrics} (one request: --request ID)`;
  },
  tryInstead: 'run the program by hand with DIAL9_ENABLED=true and read its warnings',
  version: () => `service ${serviceVersion()} (${nodeVersionLabel()})`,
};

/** Full fidelity: everything the recorder can sample, on for the whole capture. */
export function recorderEnv(traceDir: string): Record<string, string> {
  return {
    DIAL9_ENABLED: 'true',
    DIAL9_TRACE_DIR: traceDir,
    DIAL9_CPU_PROFILE_ENABLED: 'true',
    DIAL9_MEMORY_PROFILE_ENABLED: 'true',
    DIAL9_TASK_DUMP_ENABLED: 'true',
    DIAL9_TASK_TRACKING_ENABLED: 'true',
    DIAL9_PROCESS_RESOURCE_USAGE_ENABLED: 'true',
  };
}

function serviceVersion(): string {
  const manifest = readJson(join(projectRoot(), 'package.json')) as { version?: string } | undefined;
  return manifest?.version ?? 'unknown';
}

const zeroX: ToolSpec = {
  name: '0x',
  summary: "0x's flamegraph (V8's --prof)",
  package: '0x',
  stopTarget: 'group',
  wraps: true,
  // Collect first, render second: 0x renders whichever V8 log it finds first, and with worker
  // threads (the service's writer) that is often a worker's. afterRun picks the main thread's.
  launch: ({ program, captureDir, cwd, bin }) => ({
    command: process.execPath,
    args: [
      bin ?? '0x',
      '--collect-only',
      '--working-dir',
      captureDir,
      '--output-dir',
      join(captureDir, FLAMEGRAPH_SUBDIR),
      '--',
      ...programWords(program, ['--import', exitOnSignalPreload()]),
    ],
    cwd,
    env: {},
  }),
  afterRun: ({ program, captureDir, bin }) => {
    const out = join(captureDir, FLAMEGRAPH_SUBDIR);
    if (!selectMainThreadLog(captureDir, out, program.script)) return undefined;
    return { command: process.execPath, args: [bin ?? '0x', '--visualize-only', out], cwd: captureDir, env: {} };
  },
  verify: (captureDir, files) => {
    const html = files.find((f) => f.path === `${FLAMEGRAPH_SUBDIR}/flamegraph.html`);
    if (html === undefined) return 'no flamegraph.html was written';
    const text = readFileSync(join(captureDir, html.path), 'utf8');
    return /<html/i.test(text) && /<script/i.test(text) ? undefined : `${html.path} is not a flamegraph page`;
  },
  openHint: (captureDir) => `open ${join(captureDir, FLAMEGRAPH_SUBDIR, 'flamegraph.html')} in a browser`,
  tryInstead: 'try --tool cpu (no dependency, opens in Chrome DevTools)',
  version: (_bin, installed) => installed ?? 'unknown',
};

const CLINIC_COMMANDS = {
  'clinic-doctor': 'doctor',
  'clinic-flame': 'flame',
  'clinic-bubbleprof': 'bubbleprof',
  'clinic-heap': 'heapprofiler',
} as const;

/**
 * clinic writes `node_trace.*.log` and `.clinic/` into its working directory and refuses to start
 * beside an old trace log: each run gets the capture directory as its own working directory.
 */
function clinic(name: keyof typeof CLINIC_COMMANDS): ToolSpec {
  const sub = CLINIC_COMMANDS[name];
  // doctor and bubbleprof relay SIGINT to the program; flame (0x inside, whose preload would exit
  // at once) and heap (which ignores it in the parent) rely on the terminal signalling the group.
  const relays = name === 'clinic-doctor' || name === 'clinic-bubbleprof';
  const preloads =
    name === 'clinic-flame'
      ? ['--import', exitOnSignalPreload()]
      : name === 'clinic-heap'
        ? ['--import', sessionPreload('clinic-heap-exit.js')]
        : [];
  return {
    name,
    summary: `clinic ${sub}'s report`,
    package: 'clinic',
    stopTarget: relays ? 'leader' : 'group',
    wraps: true,
    launch: ({ program, captureDir, bin }) => ({
      command: process.execPath,
      args: [bin ?? 'clinic', sub, '--open=false', '--dest', captureDir, '--', ...programWords(program, preloads)],
      cwd: captureDir,
      // No usage-statistics prompt (it would wait on stdin), no update check.
      env: { NO_INSIGHT: '1', NO_UPDATE_NOTIFIER: '1' },
    }),
    verify: (captureDir, files) => {
      const html = files.find((f) => !f.path.includes('/') && f.path.endsWith(`.clinic-${sub}.html`));
      if (html === undefined) return `clinic ${sub} wrote no report`;
      const text = readFileSync(join(captureDir, html.path), 'utf8');
      return /<html/i.test(text) ? undefined : `${html.path} is not a report page`;
    },
    openHint: (captureDir, files) => {
      const html = files.find((f) => !f.path.includes('/') && f.path.endsWith('.html'));
      return `open ${join(captureDir, html?.path ?? '')} in a browser`;
    },
    tryInstead:
      name === 'clinic-flame'
        ? 'try --tool 0x or --tool cpu'
        : `try a shorter --duration, or --tool clinic-flame or cpu`,
    version: (_bin, installed) => installed ?? 'unknown',
  };
}

export const TOOLS: Readonly<Record<ProfileTool, ToolSpec>> = Object.freeze({
  recorder,
  cpu: v8Profiler('cpu'),
  heap: v8Profiler('heap'),
  '0x': zeroX,
  'clinic-doctor': clinic('clinic-doctor'),
  'clinic-flame': clinic('clinic-flame'),
  'clinic-bubbleprof': clinic('clinic-bubbleprof'),
  'clinic-heap': clinic('clinic-heap'),
});

/** Files a tool leaves that are not part of its output and would break its next run. */
export const LEFTOVER_FILE = /^node_trace\.\d+\.log$/;
