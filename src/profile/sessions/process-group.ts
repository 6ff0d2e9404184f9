/**
 * A tool and everything it starts run in their own process group (spawned detached), so the
 * session can signal all of them at once, find the ones still alive, and leave none behind.
 * Signalling 0x alone hangs it (its child never hears); the group is the unit to stop.
 */
import { type ChildProcess, execFile, execFileSync, type SpawnOptions, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ProcessGroup {
  readonly child: ChildProcess;
  /** The leader's pid, which is also the group id. */
  readonly pid: number;
  /** Resolves when the leader has exited and its stdio is closed. */
  readonly exited: Promise<ExitStatus>;
}

const SETTLE_POLL_MS = 50;

/** Starts `command args` as the leader of a new process group. */
export function spawnGroup(
  command: string,
  args: readonly string[],
  options: Omit<SpawnOptions, 'detached'>,
): ProcessGroup {
  const child = spawn(command, args, { ...options, detached: true });
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  if (child.pid === undefined) {
    // spawn failed (e.g. ENOENT); 'error' resolves `exited`.
    return { child, pid: -1, exited };
  }
  return { child, pid: child.pid, exited };
}

/** Sends `signal` to every process of the group; false when none is left. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (pgid <= 0) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Sends `signal` to one process; false when it is gone. */
export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

const PS_ARGS = ['-A', '-o', 'pid=,pgid=,stat='];

/** Pids of the live processes of group `pgid` (zombies excluded), from `ps`. */
export function groupMembers(pgid: number): number[] {
  if (pgid <= 0) return [];
  try {
    return membersOf(pgid, execFileSync('ps', PS_ARGS, { encoding: 'utf8' }));
  } catch {
    return [];
  }
}

/** The same without blocking: for polling while the load generator shares this event loop. */
export function groupMembersAsync(pgid: number): Promise<number[]> {
  return new Promise((resolve) => {
    if (pgid <= 0) return resolve([]);
    execFile('ps', PS_ARGS, { encoding: 'utf8' }, (err, out) => resolve(err === null ? membersOf(pgid, out) : []));
  });
}

function membersOf(pgid: number, out: string): number[] {
  const members: number[] = [];
  for (const line of out.split('\n')) {
    const [pid, group, stat] = line.trim().split(/\s+/);
    if (Number(group) === pgid && stat !== undefined && !stat.startsWith('Z')) members.push(Number(pid));
  }
  return members;
}

/** SIGKILLs the whole group and waits (up to `timeoutMs`) until no member is left. */
export async function killGroup(pgid: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Once without asking `ps`, which may be missing (a minimal container).
  signalGroup(pgid, 'SIGKILL');
  while (groupMembers(pgid).length > 0 && Date.now() < deadline) {
    signalGroup(pgid, 'SIGKILL');
    await sleep(SETTLE_POLL_MS);
  }
}
