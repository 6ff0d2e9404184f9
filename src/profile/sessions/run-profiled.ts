import { dirname } from 'node:path';
/**
 * `service run --profile TOOL`: the service runs again as a child, under the tool, with the same
 * settings; this process forwards Ctrl-C and SIGTERM (the child drains as usual), waits for the
 * tool to write its output, and keeps the capture.
 */

import type { CaptureConfig, ProfileTool } from './capture-config.js';
import { serviceProgram } from './program.js';
import { ProfileSession } from './session.js';

/**
 * Runs the service under `profile.tool` until it stops; resolves with the exit code for the CLI.
 * `runArgs` are the service's own flags (config/run-args.ts writes them from the parsed options).
 */
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
    say(`or in the browser: service profile serve --capture-dir ${dirname(dir)}`);
    return manifest.exit.code ?? 1;
  } finally {
    process.removeListener('SIGINT', forward);
    process.removeListener('SIGTERM', forward);
  }
}
