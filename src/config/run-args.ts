/** `service run`'s options written back as flags: the argv of the service started again under a profiler. */
import type { RawRunOptions, RunConfig } from './run.js';
import { RUN_OPTIONS } from './run.js';

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
