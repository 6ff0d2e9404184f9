/**
 * `--with-downstream`: a plain second instance of the service (not profiled) that the profiled one
 * forwards its items to, so the capture covers the outgoing-request path too. Started like every
 * other child service (src/service-process.ts); no tool runs under it, so no process group is needed.
 */
import { ProfileError } from '../../errors.js';
import { startServiceProcess } from '../../service-process.js';

export interface Downstream {
  readonly url: string;
  stop(timeoutMs: number): Promise<void>;
}

export async function startDownstream(timeoutMs: number): Promise<Downstream> {
  try {
    const service = await startServiceProcess({
      args: ['--log-filter', 'info,fastify=warn,undici=warn'],
      env: { ...process.env, SERVICE_NAME: 'downstream' },
      // Its request records are not part of the capture.
      keepStdout: false,
      startTimeoutMs: timeoutMs,
    });
    return {
      url: service.url,
      stop: async (stopTimeoutMs) => {
        await service.stop('SIGTERM', stopTimeoutMs);
      },
    };
  } catch (err) {
    const lastLine = ((err as Error).message.trim().split('\n').pop() ?? '').trim();
    throw new ProfileError(
      'SVC_ERR_PROFILE_PROGRAM',
      `the downstream instance of --with-downstream did not start: ${lastLine || 'no output'}`,
    );
  }
}
