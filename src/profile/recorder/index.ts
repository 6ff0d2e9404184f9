/**
 * The flight recorder: `startRecorderFromEnv()` reads DIAL9_*, warns about bad values and starts
 * recording when DIAL9_ENABLED is true. The API for application code is re-exported here.
 */

import { accessSync, constants } from 'node:fs';
import { makeDir } from '../../make-dir.js';
import { setActiveRecorder } from './api.js';
import { defaultTraceDir, recorderConfigFromEnv } from './config.js';
import { Recorder, type RecorderLog, type RecorderOptions } from './recorder.js';

export type { SealedSegmentInfo } from './api.js';
export { activeRecorder, mark, onSegmentSealed, span, task } from './api.js';
export { describeRecording, type RecorderConfig, recorderConfigFromEnv } from './config.js';
export { Recorder, type RecorderLog, type RecorderStats, type SealedHook } from './recorder.js';

export interface StartFromEnvOptions extends Omit<RecorderOptions, 'config'> {
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Why `dir` cannot hold traces (created if missing), or undefined when it can. */
function unusableDir(dir: string): string | undefined {
  try {
    makeDir(dir);
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Starts the recorder when DIAL9_ENABLED is true; bad values warn through `log`. Never throws. */
export function startRecorderFromEnv(options: StartFromEnvOptions = {}): Recorder | undefined {
  const parsed = recorderConfigFromEnv(options.env);
  const warnings = [...parsed.warnings];
  let { config } = parsed;
  if (config.enabled) {
    const why = unusableDir(config.traceDir);
    if (why !== undefined) {
      // Like any bad value: one warning, then the default, instead of an error every 10 s and no trace.
      const value = (options.env ?? process.env).DIAL9_TRACE_DIR ?? config.traceDir;
      warnings.push(
        `DIAL9_TRACE_DIR=${JSON.stringify(value)} is not valid (allowed: a directory this process can create and write; ${why}); treated as unset`,
      );
      config = Object.freeze({ ...config, traceDir: defaultTraceDir() });
    }
  }
  const log: RecorderLog | undefined = options.log;
  for (const warning of warnings) {
    if (log !== undefined) log('warn', {}, warning);
    else
      process.stderr.write(
        `${JSON.stringify({ time: new Date().toISOString(), level: 'warn', target: 'service:recorder', pid: process.pid, msg: warning })}\n`,
      );
  }
  if (!config.enabled) return undefined;
  try {
    const recorder = Recorder.start({ ...options, config });
    setActiveRecorder(recorder);
    return recorder;
  } catch (err) {
    const message = `flight recorder not started: ${(err as Error).message}`;
    if (log !== undefined) log('error', {}, message);
    else process.stderr.write(`${JSON.stringify({ level: 'error', target: 'service:recorder', msg: message })}\n`);
    return undefined;
  }
}
