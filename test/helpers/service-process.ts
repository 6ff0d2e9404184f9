/**
 * Runs the real CLI (`bin/run.js run`) as a child process, the way a user would, and reads its
 * output. Every instance started must be stopped; `stopAll()` in an `after` hook makes sure.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseLines } from './ndjson.js';
import { waitFor } from './wait.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../../../bin/run.js', import.meta.url));

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly url: string;
  stdout(): string;
  stderr(): string;
  /** Stops reading the child's stdout: once the pipe fills, its writes stall, as with a stuck consumer. */
  pauseStdout(): void;
  resumeStdout(): void;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI to completion (for commands that should exit on their own). */
export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 20000,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`service ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The environment minus this suite's own settings, so only what a test passes applies. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (
      !/^(BIND_ADDR|PORT|LOG_FILTER|SERVICE_NAME|TELEMETRY_DIR|TELEMETRY_BUFFER_BYTES|DOWNSTREAM_URL|METRICS_FORMAT|.*_TIMEOUT_MS|BODY_LIMIT_BYTES|RUNTIME_METRICS_INTERVAL_MS|NODE_OPTIONS|NODE_TEST_CONTEXT)$/.test(
        key,
      )
    ) {
      env[key] = value;
    }
  }
  return { ...env, ...extra };
}

/**
 * Starts `service run --port 0 ...args` and waits for its "listening" line on stderr.
 * `bin` picks the entry point: the built CLI (default) or bin/dev.js, which runs the sources.
 */
export async function startService(
  args: readonly string[] = [],
  env: Record<string, string> = {},
  bin: string = BIN,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [bin, 'run', '--port', '0', ...args], {
    cwd: ROOT,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      running.delete(child);
      resolve(code);
    });
  });
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));

  const url = await waitFor(
    'the listening line',
    () => {
      if (exitedEarly) throw new Error(`service exited before listening:\n${stderr}`);
      const lines = parseLines<{ msg?: string; address?: string }>(stderr.slice(0, stderr.lastIndexOf('\n') + 1));
      return lines.find((line) => line.msg?.startsWith('listening on'))?.address;
    },
    30000,
  );

  return {
    child,
    url,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    pauseStdout: () => child.stdout?.pause(),
    resumeStdout: () => child.stdout?.resume(),
    async stop(signal = 'SIGTERM', timeoutMs = 15000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Kills anything a failed test left running. */
export async function stopAll(): Promise<void> {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

export const DEV_BIN = fileURLToPath(new URL('../../../bin/dev.js', import.meta.url));
