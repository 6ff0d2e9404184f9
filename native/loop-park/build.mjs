/**
 * Builds the loop-park addon with node-gyp (npm's own: `npm_config_node_gyp` inside npm scripts)
 * and copies it to dist/native/loop_park.node, where the recorder looks for it. Never fails the
 * build: without a compiler the recorder runs without park/unpark and says so at start-up. On
 * failure it prints one line (the full node-gyp output with LOOP_PARK_VERBOSE=1).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const target = join(root, 'dist', 'native', 'loop_park.node');
const built = join(here, 'build', 'Release', 'loop_park.node');

function npmGyp() {
  const fromEnv = process.env.npm_config_node_gyp;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  // Outside npm scripts: the node-gyp bundled with the npm next to this node.
  for (const prefix of [
    join(dirname(process.execPath), '..', 'lib'),
    join(dirname(process.execPath), 'node_modules', '..'),
  ]) {
    const path = join(prefix, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (existsSync(path)) return path;
  }
  return undefined;
}

function fail(why) {
  // No stale addon from an earlier build: what loads is what this source builds, or nothing.
  rmSync(target, { force: true });
  console.error(`loop-park addon not built (${why}); the flight recorder will run without park/unpark`);
  process.exit(0);
}

const gyp = npmGyp();
if (gyp === undefined) fail('node-gyp not found: run the build through npm, which bundles it');
const verbose = process.env.LOOP_PARK_VERBOSE === '1';
const args = ['--loglevel=error'];
// Outside npm scripts (no npm_config_nodedir): the headers installed with this node, if any, so
// node-gyp does not try to download them.
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'common.gypi')))
  args.push(`--nodedir=${prefix}`);
// `configure` once; `build` alone afterwards (make rebuilds only what changed).
const steps =
  existsSync(join(here, 'build', 'Makefile')) || existsSync(join(here, 'build', 'binding.sln'))
    ? ['build']
    : ['configure', 'build'];
for (const step of steps) {
  const run = spawnSync(process.execPath, [gyp, step, ...args], {
    cwd: here,
    encoding: 'utf8',
    stdio: verbose ? 'inherit' : 'pipe',
  });
  if (run.status !== 0) {
    const output = `${run.stdout ?? ''}\n${run.stderr ?? ''}`;
    const lines = output.split('\n').map((l) => l.trim());
    const line =
      lines.find((l) => /: (fatal )?error:/.test(l)) ??
      lines.find((l) => l.startsWith('gyp ERR! stack Error:'))?.replace('gyp ERR! stack ', '') ??
      lines.find((l) => /not found|No such file|command not found/i.test(l)) ??
      `node-gyp ${step} exited with ${run.status ?? run.signal}`;
    fail(`${line.slice(0, 200)}; LOOP_PARK_VERBOSE=1 npm run build shows it all`);
  }
}
if (!existsSync(built)) fail(`node-gyp finished but ${built} is missing`);
mkdirSync(dirname(target), { recursive: true });
// Copied beside it, then renamed over it: a process running with the addon loaded has the file
// mapped, and a copy in place (truncate, write) killed it with SIGBUS, e.g. a second `npm start`
// from the same checkout rebuilding while the first one served. Renamed, it keeps the old file.
const staging = `${target}.${process.pid}.tmp`;
copyFileSync(built, staging);
renameSync(staging, target);
