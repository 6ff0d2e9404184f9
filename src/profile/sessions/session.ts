/**
 * One capture: a program running under a tool, in its own process group, with every way it can go
 * wrong bounded. The program is asked to stop with SIGINT (as Ctrl-C would), given --stop-timeout
 * to drain and exit (then killed: clinic bubbleprof's child is known to hang after SIGINT), and the tool
 * gets --tool-timeout to write its output (then the whole group is killed). Success leaves the
 * capture directory with manifest.json; failure leaves one ProfileError and nothing else: no
 * process of the group, no capture directory, no `node_trace.*.log`.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ProfileError } from '../../errors.js';
import type { Summary } from '../../load/summary.js';
import type { CaptureConfig, ProfileTool } from './capture-config.js';
import { createCaptureDir, listFiles, removeCapture } from './capture-dir.js';
import { knownProblem } from './known-problems.js';
import { MANIFEST_FILE, MANIFEST_VERSION, type Manifest, writeManifest } from './manifest.js';
import { OutputTap } from './output-tap.js';
import {
  type ExitStatus,
  groupMembers,
  groupMembersAsync,
  killGroup,
  type ProcessGroup,
  signalGroup,
  signalProcess,
  spawnGroup,
} from './process-group.js';
import { type NodeProgram, programWords } from './program.js';
import { crashSignalInLine, crashSignalOfExit, programCrashed } from './program-crash.js';
import { resolveTool, TOOL_PACKAGES } from './tool-install.js';
import { LEFTOVER_FILE, TOOLS, type ToolSpec } from './tools.js';

export interface SessionOptions {
  readonly tool: ProfileTool;
  /** The program, or how to make it once the capture directory exists (the service writes its telemetry there). */
  readonly program: NodeProgram | ((captureDir: string) => NodeProgram);
  readonly capture: CaptureConfig;
  /** 'terminal': output goes to this process's stdout/stderr; 'file': into the capture's output.log. */
  readonly output: 'terminal' | 'file';
  /** Extra environment for the program. */
  readonly env?: Readonly<Record<string, string>>;
  /** Status lines for the user (stderr). */
  readonly say: (line: string) => void;
}

export interface CaptureResult {
  readonly dir: string;
  readonly manifest: Manifest;
}

/** Output of the tool and the program, inside a capture (file mode). */
export const OUTPUT_LOG = 'output.log';
/** How often a wrapping tool's group is looked at, to see whether its program has exited. */
const PROGRAM_POLL_MS = 500;

export class ProfileSession {
  readonly dir: string;
  readonly startedAt = new Date();
  readonly spec: ToolSpec;
  readonly #options: SessionOptions;
  readonly #program: NodeProgram;
  readonly #bin: string | undefined;
  readonly #group: ProcessGroup;
  readonly #tap: OutputTap;
  readonly #toolCommand: readonly string[];
  readonly #version: string;
  readonly #ended: Promise<ExitStatus>;
  #stopRequested = false;
  #programKilled = false;
  #hung: 'program' | 'tool' | undefined;
  #programGone = false;
  /** A wrapping tool's program has been seen in the group (it may start late, or never). */
  #sawProgram = false;
  /** The signal a wrapping tool said its program died of (clinic: "process exited by signal ..."). */
  #toolSawCrash: string | undefined;
  #timers: NodeJS.Timeout[] = [];

  private constructor(options: SessionOptions, dir: string, bin: string | undefined, version: string) {
    this.#options = options;
    this.spec = TOOLS[options.tool];
    this.dir = dir;
    this.#version = version;
    this.#bin = bin;
    this.#program = typeof options.program === 'function' ? options.program(dir) : options.program;
    const launch = this.spec.launch({ program: this.#program, captureDir: dir, cwd: process.cwd(), bin });
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, ...launch.env };
    // The service under the tool must not profile itself again.
    if (this.#program.isService) for (const name of options.capture.serviceUnsetEnv) delete env[name];
    this.#toolCommand = [launch.command, ...launch.args];
    const toFile = options.output === 'file';
    this.#tap = new OutputTap(toFile ? join(dir, OUTPUT_LOG) : undefined);
    if (this.spec.wraps) this.#tap.onLine((line) => (this.#toolSawCrash ??= crashSignalInLine(line)));
    this.#group = spawnGroup(launch.command, launch.args, {
      cwd: launch.cwd,
      env,
      // The terminal keeps the service's records (stdout) when it is the destination: no copy through us.
      stdio: ['ignore', toFile ? 'pipe' : 'inherit', 'pipe'],
    });
    this.#tap.attach(this.#group.child.stdout, process.stdout);
    this.#tap.attach(this.#group.child.stderr, process.stderr);
    this.#ended = this.#watch();
  }

  /** Resolves the tool (installing it on first use), creates the capture directory, starts the program. */
  static async start(options: SessionOptions): Promise<ProfileSession> {
    const spec = TOOLS[options.tool];
    const problem = knownProblem(options.tool);
    if (problem !== undefined) throw new ProfileError('SVC_ERR_PROFILE_UNSUPPORTED', problem);
    let bin: string | undefined;
    let version = spec.version(undefined, undefined);
    if (spec.package !== undefined) {
      const pkg = TOOL_PACKAGES[spec.package];
      const resolved = await resolveTool(
        pkg,
        options.capture.toolsDir,
        options.capture.toolBins[pkg.name],
        options.say,
      );
      bin = resolved.bin;
      version = spec.version(bin, resolved.version);
    }
    const dir = createCaptureDir(options.capture.captureDir, new Date(), options.tool);
    return new ProfileSession(options, dir, bin, version);
  }

  /** The words the program was started with, as a user would type them. */
  get command(): readonly string[] {
    return programWords(this.#program);
  }

  get pid(): number {
    return this.#group.pid;
  }

  /** The first http:// URL the program prints; rejects when it exits first or after `timeoutMs`. */
  waitForUrl(timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new ProfileError(
              'SVC_ERR_PROFILE_PROGRAM',
              `the program printed no http:// URL within ${timeoutMs / 1000} s under ${this.spec.name}; raise --start-timeout, or give --url`,
            ),
          ),
        timeoutMs,
      );
      this.#tap.onUrl((url) => {
        clearTimeout(timer);
        resolve(url);
      });
      void this.#ended.then((status) => {
        clearTimeout(timer);
        const said = this.#tap.lastLine() || 'no output';
        const crash = this.#crashSignal(status);
        reject(
          crash !== undefined
            ? programCrashed(this.spec.name, crash, 'it died before it listened, so nothing was captured')
            : this.spec.wraps
              ? new ProfileError(
                  'SVC_ERR_PROFILE_TOOL_FAILED',
                  `${this.spec.name} exited (${describeExit(status)}) before the program listened: ${said}; ${this.spec.tryInstead}`,
                )
              : new ProfileError(
                  'SVC_ERR_PROFILE_PROGRAM',
                  `the program exited (${describeExit(status)}) before it listened under ${this.spec.name}: ${said}`,
                ),
        );
      });
    });
  }

  /**
   * Asks the program to stop (SIGINT, like Ctrl-C, unless SIGTERM is passed on). Called again, it
   * repeats the signal: the service then cuts its drain short.
   */
  stop(requested: 'SIGINT' | 'SIGTERM' = 'SIGINT'): void {
    // clinic listens for SIGINT only: SIGTERM would end it before it writes its report.
    const signal = this.spec.package === 'clinic' ? 'SIGINT' : requested;
    if (this.spec.stopTarget === 'group') signalGroup(this.#group.pid, signal);
    else signalProcess(this.#group.pid, signal);
    if (this.#stopRequested) return;
    this.#stopRequested = true;
    this.#timer(this.#options.capture.stopTimeoutMs, () => {
      if (this.#programGone) return;
      this.#programKilled = true;
      if (!this.spec.wraps) {
        this.#hung = 'program';
        signalGroup(this.#group.pid, 'SIGKILL');
        return;
      }
      // The tool is waiting for its child (clinic bubbleprof's never exits after SIGINT): kill the
      // child only, so the tool still writes what it collected.
      for (const pid of groupMembers(this.#group.pid)) if (pid !== this.#group.pid) signalProcess(pid, 'SIGKILL');
      this.#programExited();
    });
  }

  /** Kills everything at once: for a session that cannot go on (e.g. the program never listened). */
  async abort(): Promise<void> {
    await killGroup(this.#group.pid);
    await this.#ended;
    await this.#tap.close();
    this.#clearTimers();
    removeCapture(this.dir, this.#options.capture.captureDir);
  }

  /** Waits for the tool to finish, checks and lists its output, and writes the manifest. */
  async finish(extra: { load?: Summary; downstream?: string } = {}): Promise<CaptureResult> {
    let status = await this.#ended;
    this.#clearTimers();
    if (this.#hung === undefined && status.code === 0) status = await this.#afterRun(status);
    // Whatever the tool left running (a child it forgot) goes with it.
    await killGroup(this.#group.pid);
    await this.#tap.close();
    for (const file of listFiles(this.dir)) {
      if (LEFTOVER_FILE.test(file.path)) rmSync(join(this.dir, file.path), { force: true });
    }
    const files = listFiles(this.dir).filter((f) => f.path !== MANIFEST_FILE);
    const failure = this.#failure(status, files);
    if (failure !== undefined) {
      removeCapture(this.dir, this.#options.capture.captureDir);
      throw failure;
    }
    const crash = this.#crashSignal(status);
    // The tool wrote its output all the same: kept, but it ends where the program died.
    if (crash !== undefined)
      this.#options.say(`the program crashed (${crash}) under ${this.spec.name}; the capture stops there`);
    const endedAt = new Date();
    const manifest: Manifest = {
      manifestVersion: MANIFEST_VERSION,
      tool: { name: this.spec.name, version: this.#version, summary: this.spec.summary },
      command: this.command,
      toolCommand: this.#toolCommand,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      startedAt: this.startedAt.toISOString(),
      endedAt: endedAt.toISOString(),
      durationMs: endedAt.getTime() - this.startedAt.getTime(),
      exit: { code: status.code, signal: status.signal, programKilled: this.#programKilled },
      load: extra.load,
      downstream: extra.downstream,
      open: this.spec.openHint(this.dir, files),
      files,
    };
    writeManifest(this.dir, manifest);
    return { dir: this.dir, manifest };
  }

  /** The tool's second step (0x's rendering), in its own group, bounded like the first. */
  async #afterRun(status: ExitStatus): Promise<ExitStatus> {
    await killGroup(this.#group.pid);
    const launch = this.spec.afterRun?.({
      program: this.#program,
      captureDir: this.dir,
      cwd: process.cwd(),
      bin: this.#bin,
    });
    if (launch === undefined) return status;
    const group = spawnGroup(launch.command, launch.args, {
      cwd: launch.cwd,
      env: { ...process.env, ...launch.env },
      stdio: ['ignore', this.#options.output === 'file' ? 'pipe' : 'inherit', 'pipe'],
    });
    this.#tap.attach(group.child.stdout, process.stdout);
    this.#tap.attach(group.child.stderr, process.stderr);
    const timer = setTimeout(() => {
      this.#hung = 'tool';
      signalGroup(group.pid, 'SIGKILL');
    }, this.#options.capture.toolTimeoutMs);
    const after = await group.exited;
    clearTimeout(timer);
    await killGroup(group.pid);
    return after;
  }

  #failure(status: ExitStatus, files: ReturnType<typeof listFiles>): ProfileError | undefined {
    const name = this.spec.name;
    const timeouts = this.#options.capture;
    if (this.#hung === 'program') {
      return new ProfileError(
        'SVC_ERR_PROFILE_TOOL_HUNG',
        `${name}: the program did not exit within ${timeouts.stopTimeoutMs / 1000} s of the stop signal, so nothing was written; killed it and removed the capture; ${this.spec.tryInstead}`,
      );
    }
    if (this.#hung === 'tool') {
      return new ProfileError(
        'SVC_ERR_PROFILE_TOOL_HUNG',
        `${name} did not finish within ${timeouts.toolTimeoutMs / 1000} s after the program exited; killed it and removed the capture; raise --tool-timeout, or ${this.spec.tryInstead}`,
      );
    }
    const problem = this.spec.verify(this.dir, files);
    if (problem === undefined) return undefined;
    const crash = this.#crashSignal(status);
    if (crash !== undefined) return programCrashed(name, crash, problem);
    const said = this.#tap.lastLine();
    return new ProfileError(
      'SVC_ERR_PROFILE_TOOL_FAILED',
      `${name} failed: ${problem} (${describeExit(status)}${said === '' ? '' : `; last output: ${said}`}); removed the capture; ${this.spec.tryInstead}`,
    );
  }

  /**
   * The signal the program crashed of, if it did: a wrapping tool's word for it, else the program's
   * own exit (it is the group's leader). Never a stop of ours: those are SIGINT, SIGTERM and SIGKILL.
   */
  #crashSignal(status: ExitStatus): string | undefined {
    return this.spec.wraps ? this.#toolSawCrash : crashSignalOfExit(status);
  }

  /** Follows the group: when the program has gone, the tool's time to finish starts. */
  async #watch(): Promise<ExitStatus> {
    const leaderExit = this.#group.exited;
    if (this.spec.wraps) {
      let polling = false;
      const poll = setInterval(async () => {
        if (this.#programGone || polling) return;
        polling = true;
        const others = (await groupMembersAsync(this.#group.pid)).filter((pid) => pid !== this.#group.pid);
        polling = false;
        if (this.#programGone) return;
        if (others.length > 0) this.#sawProgram = true;
        else if (this.#sawProgram || this.#stopRequested) this.#programExited();
      }, PROGRAM_POLL_MS);
      this.#timers.push(poll);
    }
    const status = await leaderExit;
    this.#programGone = true;
    return status;
  }

  #programExited(): void {
    if (this.#programGone) return;
    this.#programGone = true;
    this.#timer(this.#options.capture.toolTimeoutMs, () => {
      this.#hung = 'tool';
      signalGroup(this.#group.pid, 'SIGKILL');
    });
  }

  #timer(ms: number, fn: () => void): void {
    const timer = setTimeout(fn, ms);
    this.#timers.push(timer);
  }

  #clearTimers(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers = [];
  }
}

function describeExit(status: ExitStatus): string {
  if (status.signal !== null) return `killed by ${status.signal}`;
  if (status.code === null) return 'could not be started';
  return `exit code ${status.code}`;
}
