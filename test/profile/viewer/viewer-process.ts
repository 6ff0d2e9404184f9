/** `service profile serve` as a user starts it: the real CLI, its URL from its first line, always stopped. */
import { type ChildProcess, spawn } from 'node:child_process';
import { BIN, ROOT } from '../../helpers/service-process.js';
import { waitFor } from '../../helpers/wait.js';

export interface ViewerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  stop(): Promise<number | null>;
}

const running = new Set<ChildProcess>();

export async function startViewer(args: readonly string[], env: Record<string, string> = {}): Promise<ViewerProcess> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!/^(DIAL9_TRACE_DIR|CAPTURE_DIR|VIEWER_.*|NODE_OPTIONS|NODE_TEST_CONTEXT)$/.test(key)) clean[key] = value;
  const child = spawn(process.execPath, [BIN, 'profile', 'serve', ...args], {
    cwd: ROOT,
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const url = await waitFor(
    `the viewer's URL line (stderr: ${stderr})`,
    () => {
      if (child.exitCode !== null) throw new Error(`profile serve exited ${child.exitCode}: ${stderr}`);
      return /^viewer: (http:\/\/\S+)/m.exec(stdout)?.[1];
    },
    30_000,
  );
  return {
    url,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export function killViewers(): void {
  for (const child of running) child.kill('SIGKILL');
}
