/**
 * Runs the real CLI (`bin/run.js`) as a child process, the way a user would, and reads its output.
 * Starting `service run` is src/service-process.ts's job (benchmarks and profiling use it too);
 * this adds the suite's clean environment and a registry: every instance started must be stopped,
 * and `stopAll()` in an `after` hook makes sure.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  PACKAGE_ROOT,
  SERVICE_BIN,
  type ServiceProcess as ServiceChild,
  startServiceProcess,
} from '../../src/service-process.js';

export const ROOT = PACKAGE_ROOT;
export const BIN = SERVICE_BIN;

export interface ServiceProcess extends ServiceChild {
  /** Stops reading the child's stdout: once the pipe fills, its writes stall, as with a stuck consumer. */
  pauseStdout(): void;
  resumeStdout(): void;
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
 * Starts `service run --port 0 ...args` and waits for its startup line.
 * `bin` picks the entry point: the built CLI (default) or bin/dev.js, which runs the sources.
 */
export async function startService(
  args: readonly string[] = [],
  env: Record<string, string> = {},
  bin: string = BIN,
  nodeArgs: readonly string[] = [],
): Promise<ServiceProcess> {
  const service = await startServiceProcess({ args, env: cleanEnv(env), bin, nodeArgs });
  running.add(service.child);
  void service.exited.then(() => running.delete(service.child));
  return {
    ...service,
    pauseStdout: () => service.child.stdout?.pause(),
    resumeStdout: () => service.child.stdout?.resume(),
  };
}

/** Kills anything a failed test left running. */
export async function stopAll(): Promise<void> {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

export const DEV_BIN = fileURLToPath(new URL('../../../bin/dev.js', import.meta.url));
