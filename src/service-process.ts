/**
 * Starts `service run` as a child process and reads its URL from the startup line, for whatever
 * drives a real service from outside: the end-to-end tests, the benchmarks, profiling sessions.
 * It listens on a free port (`--port 0`) unless the arguments say otherwise.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's root, whether this module runs built (dist/src/) or from the sources (src/, via tsx). */
function packageRoot(): string {
  const srcDir = dirname(fileURLToPath(import.meta.url));
  const parent = dirname(srcDir);
  return basename(parent) === 'dist' ? dirname(parent) : parent;
}

export const PACKAGE_ROOT = packageRoot();
/** The built CLI; bin/dev.js runs the sources instead. */
export const SERVICE_BIN = join(PACKAGE_ROOT, 'bin', 'run.js');

export interface ServiceProcessOptions {
  /** Arguments after `run --port 0`; a later `--port` or `--bind-addr` port wins. */
  readonly args?: readonly string[];
  /** The child's whole environment; default this process's. */
  readonly env?: NodeJS.ProcessEnv;
  /** The entry point: the built CLI (default) or bin/dev.js. */
  readonly bin?: string;
  /** Keep stdout in memory for `stdout()` (default); `false` discards it, for long runs that print records. */
  readonly keepStdout?: boolean;
  /** How long the startup line may take; default 30 s (a cold start on a busy machine). */
  readonly startTimeoutMs?: number;
  /** Node's own options, before the entry point (V8 flags NODE_OPTIONS refuses). */
  readonly nodeArgs?: readonly string[];
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** `http://host:port`, from the startup line. */
  readonly url: string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Everything written to stdout so far ('' with `keepStdout: false`). */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Sends `signal` (default SIGTERM), SIGKILL after `timeoutMs`, and resolves with the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

const DEFAULT_START_TIMEOUT_MS = 30_000;
const DEFAULT_STOP_TIMEOUT_MS = 15_000;
const STARTUP_MESSAGE = 'listening on ';

/**
 * The service's URL from its stderr so far: the `address` of the startup line, which is on stderr
 * whether logs go there or to a file (then it is echoed). Undefined until that line is complete.
 */
export function listeningUrl(stderr: string): string | undefined {
  for (const line of stderr.slice(0, stderr.lastIndexOf('\n') + 1).split('\n')) {
    if (!line.includes(STARTUP_MESSAGE)) continue;
    try {
      const entry = JSON.parse(line) as { msg?: unknown; address?: unknown };
      if (typeof entry.msg === 'string' && entry.msg.startsWith(STARTUP_MESSAGE) && typeof entry.address === 'string')
        return entry.address;
    } catch {
      // Not a JSON line (a stray warning): keep looking.
    }
  }
  return undefined;
}

/** Starts `service run --port 0 ...args` and resolves once it listens; rejects (and kills it) if it does not. */
export function startServiceProcess(options: ServiceProcessOptions = {}): Promise<ServiceProcess> {
  const entry = [options.bin ?? SERVICE_BIN, 'run', '--port', '0', ...(options.args ?? [])];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...entry], {
    cwd: PACKAGE_ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', options.keepStdout === false ? 'ignore' : 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = DEFAULT_STOP_TIMEOUT_MS) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };

  return new Promise((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`service did not print its startup line within ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    let url: string | undefined;
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (url !== undefined) return;
      url = listeningUrl(stderr);
      if (url === undefined) return;
      clearTimeout(timer);
      resolve({ child, url, exited, stdout: () => stdout, stderr: () => stderr, stop });
    });
    void exited.then((code) => {
      if (url !== undefined) return;
      clearTimeout(timer);
      reject(new Error(`service exited with ${code} before listening:\n${stderr}`));
    });
  });
}
