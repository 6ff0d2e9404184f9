/** manifest.json: what a capture holds and how it was made, for people and for `service profile serve`. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Summary } from '../../load/summary.js';
import type { ProfileTool } from './capture-config.js';
import type { CaptureFile } from './tools.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_VERSION = 1;

export interface Manifest {
  readonly manifestVersion: number;
  readonly tool: { readonly name: ProfileTool; readonly version: string; readonly summary: string };
  /** The program profiled, as it would be typed. */
  readonly command: readonly string[];
  /** What the session actually started: the tool with the program inside. */
  readonly toolCommand: readonly string[];
  readonly node: string;
  readonly platform: string;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly durationMs: number;
  /** How the program and the tool ended. */
  readonly exit: {
    readonly code: number | null;
    readonly signal: string | null;
    /** True when the program had to be killed after --stop-timeout. */
    readonly programKilled: boolean;
  };
  /** Set by `service profile record`. */
  readonly load?: Summary | undefined;
  /** The downstream instance of --with-downstream. */
  readonly downstream?: string | undefined;
  /** How to open the capture (one line). */
  readonly open: string;
  /** Every file of the capture but this manifest, relative to its directory. */
  readonly files: readonly CaptureFile[];
}

export function writeManifest(captureDir: string, manifest: Manifest): void {
  writeFileSync(join(captureDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}
