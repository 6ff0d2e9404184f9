/**
 * A profiled program that dies of a signal it was not sent: a crash (of Node, V8 or a native addon),
 * not a tool that failed. The tool then writes nothing, and its own complaint ("No files matching
 * the pattern found") points the user the wrong way; the session names the signal instead.
 */
import { ProfileError } from '../../errors.js';
import type { ExitStatus } from './process-group.js';

/** Signals a process gets from its own faults (or abort()), never from the session's stop. */
const CRASH_SIGNALS: ReadonlySet<string> = new Set(['SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGABRT', 'SIGTRAP']);

/**
 * What a wrapping tool prints when its program dies of a signal: clinic says "process exited by
 * signal SIGSEGV" (every clinic tool, through its collect step).
 */
const TOOL_SAYS_SIGNAL = /\bprocess exited by signal (SIG[A-Z0-9]+)\b/;

/** The crash signal a tool's output line reports, if any. */
export function crashSignalInLine(line: string): string | undefined {
  const signal = TOOL_SAYS_SIGNAL.exec(line)?.[1];
  return signal !== undefined && CRASH_SIGNALS.has(signal) ? signal : undefined;
}

/** The crash signal of a process's own exit (the program itself, when no tool wraps it). */
export function crashSignalOfExit(status: ExitStatus): string | undefined {
  return status.signal !== null && CRASH_SIGNALS.has(status.signal) ? status.signal : undefined;
}

/**
 * The one line for a capture lost to a crash: what died, of which signal, what the tool could not
 * do because of it, and what to do.
 */
export function programCrashed(tool: string, signal: string, lost: string): ProfileError {
  return new ProfileError(
    'SVC_ERR_PROFILE_PROGRAM_CRASHED',
    `the program crashed (${signal}) under ${tool}: ${lost}; removed the capture; a crash is Node's or a native addon's, not the tool's: run it again, or try another --tool (docs/profiling-sessions.md, "A program that crashes")`,
  );
}
