/**
 * `service run --profile TOOL`: the service runs again as a child, under the tool, with the same
 * settings; this process forwards Ctrl-C and SIGTERM (the child drains as usual), waits for the
 * tool to write its output, and keeps the capture.
 */

import type { CaptureConfig, ProfileTool } from '../../config/profile.js';
import type { RawRunOptions, RunConfig } from '../../config/run.js';
import { RUN_OPTIONS } from '../../config/run.js';
import { serviceProgram } from './program.js';
import { ProfileSession } from './session.js';

/** The child's flags: the same values, with directories already made absolute by the parent's config. */
export function serviceArgs(raw: RawRunOptions, config: RunConfig): string[] {
  const args: string[] = [];
  for (const [name, text] of Object.entries(raw) as Array<[keyof typeof RUN_OPTIONS, string | undefined]>) {
    if (text === undefined) continue;
    let value = text;
    if (name === 'telemetryDir' && config.telemetryDir !== undefined) value = config.telemetryDir;
    if (name === 'metricsArchiveDir' && config.metricsArchiveDir !== undefined) value = config.metricsArchiveDir;
    args.push(`--${RUN_OPTIONS[name].flag}=${value}`);
  }
  return args;
}

/** Runs the service under `profile.tool` until it stops; resolves with the exit code for the CLI. */
export async function runProfiled(
  profile: CaptureConfig & { readonly tool: ProfileTool },
  runArgs: readonly string[],
  say: (line: string) => void,
): Promise<number> {
  const session = await ProfileSession.start({
    tool: profile.tool,
    capture: profile,
    program: serviceProgram(runArgs),
    output: 'terminal',
    say,
  });
  say(`profiling with ${profile.tool} into ${session.dir}; stop with Ctrl-C`);
  // The child is in its own process group, so the terminal's Ctrl-C reaches only us: pass it on.
  const forward = (signal: NodeJS.Signals) => session.stop(signal === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    const { dir, manifest } = await session.finish();
    say(`capture: ${dir}`);
    say(manifest.open);
    return manifest.exit.code ?? 1;
  } finally {
    process.removeListener('SIGINT', forward);
    process.removeListener('SIGTERM', forward);
  }
}
