/** Driving wrk (Debian's package) from a benchmark, and reading its report. */
import { execFile, execFileSync } from 'node:child_process';

/** True when the `wrk` binary is on the PATH. */
export function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // wrk --version exits 1 after printing its version; only a missing binary throws ENOENT.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

export interface WrkResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Non-2xx/3xx responses plus socket errors. */
  readonly errors: number;
  readonly non2xx: number;
  /** Connect, read and write errors and timeouts (a starved server on a busy machine times out). */
  readonly socketErrors: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60000 };

function latencyMs(out: string, percentile: string): number {
  const match = new RegExp(`^\\s*${percentile}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
  return match === null ? Number.NaN : Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? Number.NaN);
}

/** True when `taskset` (util-linux) can pin a process to CPUs here. */
export function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface WrkOptions {
  /** Pin wrk to these CPUs (`taskset -c`), e.g. '0', so it never runs on the server's core. */
  readonly cpus?: string;
}

/** `wrk -t1 -c<connections> -d<seconds>s --latency url` (under `taskset -c cpus` when asked), parsed. */
export function runWrk(
  url: string,
  connections: number,
  seconds: number,
  options: WrkOptions = {},
): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const wrkArgs = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url];
    const [command, args] =
      options.cpus === undefined ? ['wrk', wrkArgs] : ['taskset', ['-c', options.cpus, 'wrk', ...wrkArgs]];
    execFile(command, args, (err, out) => {
      if (err !== null) return reject(err);
      const total = /(\d+) requests in/.exec(out);
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
      if (total === null || rps === null) return reject(new Error(`cannot read wrk's output:\n${out}`));
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const socketErrors = socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
      resolve({
        requests: Number(total[1]),
        rps: Number(rps[1]),
        p50Ms: latencyMs(out, '50'),
        p99Ms: latencyMs(out, '99'),
        errors: non2xx + socketErrors,
        non2xx,
        socketErrors,
      });
    });
  });
}
