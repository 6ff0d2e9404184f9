/**
 * What a profiling session is given: the tool and the capture settings. The shapes belong to the
 * sessions; src/config/profile.ts validates the CLI options into them (config imports the domain,
 * never the reverse).
 */
import type { LoadConfig } from '../../load/load-test.js';

export const PROFILE_TOOLS = Object.freeze([
  'recorder',
  'cpu',
  'heap',
  '0x',
  'clinic-doctor',
  'clinic-flame',
  'clinic-bubbleprof',
  'clinic-heap',
] as const);
export type ProfileTool = (typeof PROFILE_TOOLS)[number];

export interface CaptureConfig {
  /** Absolute; created when the first capture is written. */
  readonly captureDir: string;
  readonly stopTimeoutMs: number;
  readonly toolTimeoutMs: number;
  /** Absolute: where 0x and clinic are installed on first use. */
  readonly toolsDir: string;
  /** Another install of a tool's CLI (PROFILE_0X_BIN, PROFILE_CLINIC_BIN): a JavaScript file run with node. */
  readonly toolBins: Readonly<Partial<Record<'0x' | 'clinic', string>>>;
  /**
   * Environment variables the profiled service must not inherit (RUN_PROFILE): under the tool it
   * would otherwise start a profiling session of its own.
   */
  readonly serviceUnsetEnv: readonly string[];
}

export interface RecordConfig extends CaptureConfig {
  readonly tool: ProfileTool;
  /** The program to profile instead of the service (the words after `--`), or undefined. */
  readonly command: readonly string[] | undefined;
  readonly url: URL | undefined;
  readonly startTimeoutMs: number;
  readonly withDownstream: boolean;
  /** The validated load settings aimed at `origin` (known only once the program listens). */
  loadFor(origin: string): LoadConfig;
}
