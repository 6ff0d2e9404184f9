/**
 * Options of the profiling sessions: `service run --profile TOOL` and `service profile record`.
 * Like every CLI option they are strict: a bad value stops the command with one line and exit 2.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type CaptureConfig,
  PROFILE_TOOLS,
  type ProfileTool,
  type RecordConfig,
} from '../profile/sessions/capture-config.js';
import { loadLoadConfig, type RawLoadOptions } from './load.js';
import { invalidOption, type OptionSpec, option } from './option-spec.js';

/** Where every capture session writes, and how long its tool may take. */
export const CAPTURE_OPTIONS = Object.freeze({
  captureDir: option(
    'capture-dir',
    'CAPTURE_DIR',
    './captures',
    '<dir>',
    'Where captures go: one directory per capture (time and tool in its name) with manifest.json.',
  ),
  stopTimeout: option(
    'stop-timeout',
    'PROFILE_STOP_TIMEOUT',
    '45s',
    '<time>',
    'How long the profiled program may take to exit once told to stop (it drains first); then it is killed.',
  ),
  toolTimeout: option(
    'tool-timeout',
    'PROFILE_TOOL_TIMEOUT',
    '180s',
    '<time>',
    'How long the tool may take to write its output once the program has exited; then it is killed.',
  ),
  toolsDir: option(
    'tools-dir',
    'PROFILE_TOOLS_DIR',
    undefined,
    '<dir>',
    'Where 0x and clinic are installed on first use [default: ~/.cache/service/profile-tools].',
  ),
});

/** `service run --profile`: the tool plus the capture options. */
export const RUN_PROFILE_OPTIONS = Object.freeze({
  profile: option(
    'profile',
    'RUN_PROFILE',
    undefined,
    '<tool>',
    `Run under a profiler and keep the capture when the service stops: ${PROFILE_TOOLS.join(', ')}.`,
  ),
  ...CAPTURE_OPTIONS,
});

/** `service profile record`'s own options; the load flags come from LOAD_OPTIONS. */
export const RECORD_OPTIONS = Object.freeze({
  tool: option('tool', 'PROFILE_TOOL', 'cpu', '<tool>', `The profiler: ${PROFILE_TOOLS.join(', ')}.`),
  targetPath: option(
    'target-path',
    'PROFILE_TARGET_PATH',
    undefined,
    '<path>',
    "Load this path (with --method, --body) [default: the service's items mix get=9,put=1; / for a command].",
  ),
  url: option(
    'url',
    'PROFILE_URL',
    undefined,
    '<url>',
    'With -- COMMAND: where the program listens [default: the first http:// URL it prints].',
  ),
  startTimeout: option(
    'start-timeout',
    'PROFILE_START_TIMEOUT',
    '60s',
    '<time>',
    'How long the program may take to start listening under the tool.',
  ),
  ...CAPTURE_OPTIONS,
});

export type CaptureOptionName = keyof typeof CAPTURE_OPTIONS;
export type RecordOptionName = keyof typeof RECORD_OPTIONS;
export type RawCaptureOptions = { readonly [K in CaptureOptionName]?: string | undefined };
export type RawRecordOptions = { readonly [K in RecordOptionName]?: string | undefined };

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };
const SERVICE_MIX = 'get=9,put=1';

function duration(spec: OptionSpec, text: string): number {
  const match = DURATION.exec(text.trim());
  const ms = match === null ? Number.NaN : Number(match[1]) * (UNIT_MS[match[2] ?? 's'] ?? 1000);
  if (!(ms >= 1) || ms > 3_600_000) {
    throw invalidOption(spec, text, 'expected a duration such as 30s, 500ms or 2m (from 1ms to 1h)');
  }
  return Math.round(ms);
}

export function parseProfileTool(spec: (typeof RECORD_OPTIONS)['tool'], text: string): ProfileTool {
  const name = text.trim();
  if (!(PROFILE_TOOLS as readonly string[]).includes(name)) {
    throw invalidOption(spec, text, `expected one of ${PROFILE_TOOLS.join(', ')}`);
  }
  return name as ProfileTool;
}

/** The default home of on-demand tools: the user's cache, so every clone shares one install. */
export function defaultToolsDir(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.XDG_CACHE_HOME?.trim() || join(homedir(), '.cache');
  return join(cache, 'service', 'profile-tools');
}

/** Environment variables that point at another install of a tool (and let tests plant broken ones). */
export const TOOL_BIN_ENV = Object.freeze({ '0x': 'PROFILE_0X_BIN', clinic: 'PROFILE_CLINIC_BIN' } as const);

export function loadCaptureConfig(raw: RawCaptureOptions, env: NodeJS.ProcessEnv = process.env): CaptureConfig {
  const value = (name: CaptureOptionName) => raw[name] ?? CAPTURE_OPTIONS[name].default ?? '';
  const captureDir = value('captureDir');
  if (captureDir.trim() === '')
    throw invalidOption(CAPTURE_OPTIONS.captureDir, captureDir, 'expected a directory path');
  const toolsDir = raw.toolsDir;
  if (toolsDir !== undefined && toolsDir.trim() === '') {
    throw invalidOption(CAPTURE_OPTIONS.toolsDir, toolsDir, 'expected a directory path');
  }
  return Object.freeze({
    captureDir: resolve(captureDir),
    stopTimeoutMs: duration(CAPTURE_OPTIONS.stopTimeout, value('stopTimeout')),
    toolTimeoutMs: duration(CAPTURE_OPTIONS.toolTimeout, value('toolTimeout')),
    toolsDir: toolsDir === undefined ? defaultToolsDir(env) : resolve(toolsDir),
    toolBins: Object.freeze(toolBins(env)),
    serviceUnsetEnv: Object.freeze([RUN_PROFILE_OPTIONS.profile.env]),
  });
}

function toolBins(env: NodeJS.ProcessEnv): Partial<Record<'0x' | 'clinic', string>> {
  const bins: Partial<Record<'0x' | 'clinic', string>> = {};
  for (const [tool, name] of Object.entries(TOOL_BIN_ENV) as Array<['0x' | 'clinic', string]>) {
    const value = env[name]?.trim();
    if (value) bins[tool] = resolve(value);
  }
  return bins;
}

/** `service run --profile`: undefined when no profiling was asked for. */
export function loadRunProfileConfig(
  raw: RawCaptureOptions & { readonly profile?: string | undefined },
): (CaptureConfig & { readonly tool: ProfileTool }) | undefined {
  if (raw.profile === undefined) return undefined;
  const tool = parseProfileTool(RUN_PROFILE_OPTIONS.profile, raw.profile);
  return Object.freeze({ ...loadCaptureConfig(raw), tool });
}

/** Validates everything `service profile record` is given, load flags included, before anything starts. */
export function loadRecordConfig(
  raw: RawRecordOptions,
  rawLoad: RawLoadOptions,
  command: readonly string[],
  withDownstream: boolean,
): RecordConfig {
  const tool = parseProfileTool(RECORD_OPTIONS.tool, raw.tool ?? RECORD_OPTIONS.tool.default ?? '');
  const capture = loadCaptureConfig(raw);
  const profilesCommand = command.length > 0;
  if (withDownstream && profilesCommand) {
    throw invalidOption(
      RECORD_OPTIONS.tool,
      command.join(' '),
      '--with-downstream starts a second service instance; it applies to the service, not to a command after --',
    );
  }
  let url: URL | undefined;
  if (raw.url !== undefined) {
    if (!profilesCommand) throw invalidOption(RECORD_OPTIONS.url, raw.url, 'applies only with -- COMMAND');
    try {
      url = new URL(raw.url);
    } catch {
      url = undefined;
    }
    if (url === undefined || url.protocol !== 'http:') {
      throw invalidOption(RECORD_OPTIONS.url, raw.url, 'expected an http:// URL, e.g. http://127.0.0.1:8080');
    }
  }
  const path = raw.targetPath;
  if (path !== undefined && !path.startsWith('/')) {
    throw invalidOption(RECORD_OPTIONS.targetPath, path, 'expected a path starting with /, e.g. /items/a');
  }
  if (path !== undefined && rawLoad.mix !== undefined) {
    throw invalidOption(RECORD_OPTIONS.targetPath, path, 'does not apply with --mix, which makes its own requests');
  }
  // The service gets its items mix unless a path or a mix is given: GET / would only measure 404s.
  const load: RawLoadOptions =
    path === undefined && rawLoad.mix === undefined && !profilesCommand ? { ...rawLoad, mix: SERVICE_MIX } : rawLoad;
  const loadFor = (origin: string) => loadLoadConfig(load, `${origin}${path ?? '/'}`);
  // Validate the load flags now, against a placeholder origin, so a typo fails before anything starts.
  loadFor('http://127.0.0.1:1');
  return Object.freeze({
    ...capture,
    tool,
    command: profilesCommand ? Object.freeze([...command]) : undefined,
    url,
    startTimeoutMs: duration(
      RECORD_OPTIONS.startTimeout,
      raw.startTimeout ?? RECORD_OPTIONS.startTimeout.default ?? '',
    ),
    withDownstream,
    loadFor,
  });
}
