/**
 * 0x and clinic are not dependencies of the service: they are installed on first use, pinned, into
 * a tools directory shared by every clone (docs/profiling-sessions.md says why: together they would
 * triple `npm ci`). A bin given through PROFILE_0X_BIN / PROFILE_CLINIC_BIN is used as it is.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ProfileError } from '../../errors.js';

export type ToolPackageName = '0x' | 'clinic';

export interface ToolPackage {
  readonly name: ToolPackageName;
  /** Pinned: a tool that changes under us is the fragility this module exists to remove. */
  readonly version: string;
  /** The CLI script inside the package. */
  readonly binPath: string;
  readonly approxPackages: number;
}

export const TOOL_PACKAGES: Readonly<Record<ToolPackageName, ToolPackage>> = Object.freeze({
  '0x': { name: '0x', version: '6.0.0', binPath: 'cmd.js', approxPackages: 410 },
  clinic: { name: 'clinic', version: '13.0.0', binPath: 'bin.js', approxPackages: 700 },
});

export interface ResolvedTool {
  /** A JavaScript file to run with node. */
  readonly bin: string;
  readonly version: string;
}

/** How long one first-time install may take before it is given up. */
const INSTALL_TIMEOUT_MS = 10 * 60_000;

function packageVersion(bin: string): string | undefined {
  for (let dir = dirname(bin); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    try {
      const version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: unknown }).version;
      return typeof version === 'string' ? version : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The tool's bin: the override, the installed copy, or a fresh install (announced through `say`). */
export async function resolveTool(
  pkg: ToolPackage,
  toolsDir: string,
  override: string | undefined,
  say: (line: string) => void,
): Promise<ResolvedTool> {
  if (override !== undefined) {
    if (!existsSync(override)) {
      throw new ProfileError(
        'SVC_ERR_PROFILE_TOOL_INSTALL',
        `${pkg.name}: the bin given in the environment (${override}) does not exist; unset it to install ${pkg.name}@${pkg.version} on demand`,
      );
    }
    return { bin: override, version: packageVersion(override) ?? 'unknown (bin from the environment)' };
  }
  const home = join(toolsDir, `${pkg.name}@${pkg.version}`);
  const bin = join(home, 'node_modules', pkg.name, pkg.binPath);
  if (!existsSync(bin)) await install(pkg, home, say);
  return { bin, version: pkg.version };
}

async function install(pkg: ToolPackage, home: string, say: (line: string) => void): Promise<void> {
  const spec = `${pkg.name}@${pkg.version}`;
  say(`installing ${spec} into ${home} (first use; about ${pkg.approxPackages} packages from the npm registry)`);
  // Installed beside the final folder and renamed into place: a concurrent or interrupted install
  // never leaves a half-filled tools folder that looks complete.
  const staging = `${home}.installing-${process.pid}`;
  const fail = (what: string) =>
    new ProfileError(
      'SVC_ERR_PROFILE_TOOL_INSTALL',
      `could not install ${spec} (${what}); check access to the npm registry, or install it yourself: npm install --prefix ${home} ${spec}`,
    );
  try {
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    writeFileSync(join(staging, 'package.json'), '{ "private": true }\n');
  } catch (err) {
    throw fail((err as Error).message);
  }
  const result = await runNpm(['install', '--no-audit', '--no-fund', '--prefix', staging, spec]);
  if (result.code !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw fail(result.code === null ? `npm timed out after ${INSTALL_TIMEOUT_MS / 60_000} min` : lastErrorLine(result));
  }
  try {
    renameSync(staging, home);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    // Another session finished first: its copy is as good as ours.
    if (!existsSync(join(home, 'node_modules', pkg.name, pkg.binPath))) throw fail((err as Error).message);
  }
}

interface NpmResult {
  readonly code: number | null;
  readonly stderr: string;
}

function lastErrorLine(result: NpmResult): string {
  const lines = result.stderr.split('\n').filter((line) => /npm (ERR!|error)/.test(line));
  const last = (lines.at(-1) ?? result.stderr.trim().split('\n').at(-1) ?? '').trim();
  return `npm exited with ${result.code}${last === '' ? '' : `: ${last}`}`;
}

function runNpm(args: readonly string[]): Promise<NpmResult> {
  return new Promise((resolve) => {
    const child = spawn('npm', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NO_UPDATE_NOTIFIER: '1' },
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-64 * 1024);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), INSTALL_TIMEOUT_MS);
    timer.unref();
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stderr: `npm could not be started: ${err.message}` });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}
