/**
 * Every error this project raises on purpose, with a stable code users can match on.
 * The table in docs/errors.md lists them; keep the two in step.
 */

export type ErrorCode =
  | 'SVC_ERR_INVALID_OPTION'
  | 'SVC_ERR_LISTEN'
  | 'SVC_ERR_LOAD_NO_RESPONSE'
  | 'SVC_ERR_MALFORMED_JSON'
  | 'SVC_ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'SVC_ERR_INVALID_ECHO_BODY'
  | 'SVC_ERR_BODY_TOO_LARGE'
  | 'SVC_ERR_BODY_TIMEOUT'
  | 'SVC_ERR_REQUEST_TIMEOUT'
  | 'SVC_ERR_NOT_FOUND'
  | 'SVC_ERR_ITEM_NOT_FOUND'
  | 'SVC_ERR_INVALID_KEY'
  | 'SVC_ERR_STORE_FULL'
  | 'SVC_ERR_RATE_LIMITED'
  | 'SVC_ERR_DOWNSTREAM'
  | 'SVC_ERR_DOWNSTREAM_TIMEOUT'
  | 'SVC_ERR_INTERNAL'
  | 'SVC_ERR_MISSING_HOST'
  | 'SVC_ERR_EXPECTATION_FAILED'
  | 'SVC_ERR_PROFILE_TOOL_FAILED'
  | 'SVC_ERR_PROFILE_TOOL_HUNG'
  | 'SVC_ERR_PROFILE_TOOL_INSTALL'
  | 'SVC_ERR_PROFILE_UNSUPPORTED'
  | 'SVC_ERR_PROFILE_PROGRAM'
  | 'SVC_ERR_PROFILE_PROGRAM_CRASHED'
  | 'SVC_ERR_ANALYZE_PATH'
  | 'SVC_ERR_ANALYZE_TRACE'
  | 'SVC_ERR_ANALYZE_METRICS'
  | 'SVC_ERR_ANALYZE_REQUEST'
  | 'SVC_ERR_TRACE_NOT_FOUND'
  | 'SVC_ERR_TRACE_UNREADABLE'
  | 'SVC_ERR_EXPORT_OUTPUT'
  | 'SVC_ERR_EXPORT_NO_CPU_SAMPLES'
  | 'SVC_ERR_EXPORT_MANY_PROCESSES'
  | 'SVC_ERR_GUIDES_CHANGED';

/** Base class: a message for humans, a code for programs, an exit code for the CLI edge. */
export class ServiceError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ServiceError';
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A flag or environment value that cannot be used. Exit code 2, like any usage error. */
export class InvalidOptionError extends ServiceError {
  constructor(flag: string, env: string | undefined, value: string, expected: string) {
    const source = env === undefined ? `--${flag}` : `--${flag} (${env})`;
    super('SVC_ERR_INVALID_OPTION', `invalid value ${JSON.stringify(value)} for ${source}: ${expected}`, {
      exitCode: 2,
    });
    this.name = 'InvalidOptionError';
  }
}

/** An error that maps to one HTTP response; the wide event records its status. */
export class HttpError extends ServiceError {
  readonly statusCode: number;

  constructor(statusCode: number, code: ErrorCode, message: string, cause?: unknown) {
    // A client's mistake (4xx) is an answer, not a fault: its stack says nothing, and capturing it
    // was 11% of the service's CPU on a stream of 404s (--cpu-prof under wrk). 5xx keep theirs.
    const stackTraceLimit = Error.stackTraceLimit;
    if (statusCode < 500) Error.stackTraceLimit = 0;
    try {
      super(code, message, { cause });
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.name = 'HttpError';
    this.statusCode = statusCode;
  }
}

/**
 * A profiling session that could not produce its capture: the tool failed, hung, could not be
 * installed, or the program under it never came up. The message is one line: what happened, what to try.
 */
export class ProfileError extends ServiceError {
  constructor(code: ErrorCode, message: string, cause?: unknown) {
    super(code, message, { exitCode: 1, cause });
    this.name = 'ProfileError';
  }
}

/**
 * `service profile analyze` could not read what it was given: no trace at the path, a file that is
 * not a trace, an unreadable metrics file, or a `--request` the trace does not hold. One line, exit 1.
 */
export class AnalyzeError extends ServiceError {
  constructor(code: ErrorCode, message: string, cause?: unknown) {
    super(code, message, { exitCode: 1, cause });
    this.name = 'AnalyzeError';
  }
}

/**
 * Reading or converting a trace went wrong: nothing at the path, a file that is not a trace, a
 * conversion the trace cannot give. One line saying what to do instead; exit code 1.
 */
export class TraceError extends ServiceError {
  constructor(code: ErrorCode, message: string, cause?: unknown) {
    super(code, message, { exitCode: 1, cause });
    this.name = 'TraceError';
  }
}
