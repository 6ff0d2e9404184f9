/**
 * `--with-downstream`: a plain second instance of the service (not profiled) that the profiled one
 * forwards its items to, so the capture covers the outgoing-request path too.
 */
import { join } from 'node:path';
import { ProfileError } from '../../errors.js';
import { OutputTap } from './output-tap.js';
import { killGroup, type ProcessGroup, signalGroup, spawnGroup } from './process-group.js';
import { projectRoot } from './program.js';

export interface Downstream {
  readonly url: string;
  stop(timeoutMs: number): Promise<void>;
}

export async function startDownstream(timeoutMs: number): Promise<Downstream> {
  const group: ProcessGroup = spawnGroup(
    process.execPath,
    [join(projectRoot(), 'bin', 'run.js'), 'run', '--port', '0', '--log-filter', 'info,fastify=warn,undici=warn'],
    // Its request records are not part of the capture: stdout is dropped at the source.
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SERVICE_NAME: 'downstream' } },
  );
  const tap = new OutputTap(undefined);
  // Its logs are not either; only the listening line matters.
  tap.attach(group.child.stderr, undefined);
  const url = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    tap.onUrl((found) => {
      clearTimeout(timer);
      resolve(found);
    });
    void group.exited.then(() => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  const stop = async (stopTimeoutMs: number) => {
    signalGroup(group.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(group.pid, 'SIGKILL'), stopTimeoutMs);
    await group.exited;
    clearTimeout(timer);
    await killGroup(group.pid);
  };
  if (url === undefined) {
    await killGroup(group.pid);
    await group.exited;
    throw new ProfileError(
      'SVC_ERR_PROFILE_PROGRAM',
      `the downstream instance of --with-downstream did not start: ${tap.lastLine() || 'no output'}`,
    );
  }
  return { url, stop };
}
