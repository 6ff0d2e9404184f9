/**
 * Runs the test suite (already built in dist/ by `npm test`) under another Node version:
 *
 *   node scripts/test-node.mjs 24.22.3 [--all]
 *
 * The Node binary comes from the npm registry (the `node-linux-<arch>` package that npm's own `node`
 * package installs), so this works wherever `npm ci` does, with no other download site. It is
 * unpacked once into node_modules/.cache/node-versions/. The Node under test comes first in PATH,
 * so the CLI's `#!/usr/bin/env node` and every `process.execPath` child run on it too.
 *
 * Left out unless `--all`: the 0x and clinic capture suite (two minutes of third-party tools, and
 * clinic doctor is refused from Node 21.7 on, which its own test checks either way).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LEFT_OUT = ['dist/test/profile/sessions/external-tools.test.js'];

const [version, ...flags] = process.argv.slice(2);
if (version === undefined || !/^\d+\.\d+\.\d+$/.test(version)) {
  console.error(`expected a Node version such as 24.22.3, got ${JSON.stringify(version ?? '')}`);
  process.exit(2);
}
if (process.platform !== 'linux') {
  console.error(`the npm registry's Node packages used here are for Linux; this is ${process.platform}`);
  process.exit(2);
}
if (!existsSync(join(ROOT, 'dist', 'test'))) {
  console.error('dist/test not found: run `npm run build` first');
  process.exit(2);
}

const cache = join(ROOT, 'node_modules', '.cache', 'node-versions');
const home = join(cache, version);
const bin = join(home, 'package', 'bin');
if (!existsSync(join(bin, 'node'))) {
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  const pkg = `node-linux-${process.arch}@${version}`;
  console.log(`fetching ${pkg} from the npm registry`);
  const packed = execFileSync('npm', ['pack', pkg, '--silent', '--pack-destination', home], { encoding: 'utf8' });
  const tarball = join(home, packed.trim().split('\n').pop() ?? '');
  if (!tarball.endsWith('.tgz')) {
    console.error(`npm pack ${pkg} named no tarball: ${JSON.stringify(packed)}`);
    process.exit(1);
  }
  execFileSync('tar', ['xzf', tarball, '-C', home]);
  rmSync(tarball, { force: true });
}

const all = flags.includes('--all');
const files = [];
const walk = (dir) => {
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) walk(path);
    else if (entry.name.endsWith('.test.js') && (all || !LEFT_OUT.includes(path))) files.push(path);
  }
};
walk('dist/test');
files.sort();

const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
const shown = execFileSync(join(bin, 'node'), ['--version'], { encoding: 'utf8' }).trim();
console.log(`node ${shown}: ${files.length} test files${all ? '' : ` (left out: ${LEFT_OUT.join(', ')})`}`);
const run = spawnSync(join(bin, 'node'), ['--test', '--test-reporter=spec', '--test-concurrency=1', ...files], {
  cwd: ROOT,
  env,
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
