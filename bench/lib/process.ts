/** Helpers for benchmarks that run a server in a child process. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startServiceProcess as startService } from '../../src/service-process.js';

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts `node script ...args` and waits for the URL it prints on its first stdout line. */
export async function startServer(script: string, args: readonly string[]): Promise<ServerProcess> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) resolve(line.trim());
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before printing its URL`)));
  });
  return serverProcess(child, url);
}

const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far, from /proc; undefined off Linux. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Starts `service run` on a free port with telemetry going to `dir` (src/service-process.ts reads its URL). */
export async function startServiceProcess(bin: string, dir: string): Promise<ServerProcess> {
  const service = await startService({ bin, args: ['--telemetry-dir', dir], keepStdout: false });
  return {
    child: service.child,
    url: service.url,
    stop: async () => {
      await service.stop('SIGTERM');
    },
  };
}

/** A started server, stopped with SIGTERM. */
function serverProcess(child: ChildProcess, url: string): ServerProcess {
  return {
    child,
    url,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** CPU seconds of a process's main thread (its thread id is its pid) and of all its other threads together. */
export function threadCpuSeconds(pid: number | undefined): { main: number; others: number } | undefined {
  if (pid === undefined) return undefined;
  const total = cpuSeconds(pid);
  let main: number | undefined;
  try {
    main = taskCpuSeconds(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
  return total === undefined ? undefined : { main, others: total - main };
}

function taskCpuSeconds(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}
