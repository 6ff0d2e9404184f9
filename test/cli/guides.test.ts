/**
 * `service profile guides`: a fresh directory gets every shipped guide; a guide edited by hand is not
 * clobbered without --force (one line, exit 1, nothing written); the guides ship in the npm package
 * and the CLI unpacked from it finds them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT, runCli, stopAll } from '../helpers/service-process.js';

const SHIPPED = join(ROOT, 'docs', 'guides');
const GUIDES = readdirSync(SHIPPED)
  .filter((name) => name.endsWith('.md'))
  .sort();
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'guides-'));
  dirs.push(dir);
  return dir;
}

after(async () => {
  await stopAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('service profile guides', () => {
  it('copies every guide into a fresh directory and says what it wrote', async () => {
    assert.ok(GUIDES.length >= 4, `guides: ${GUIDES.join(', ')}`);
    for (const name of ['AGENTS.md', 'getting-a-useful-trace.md', 'reading-a-trace.md', 'explaining-a-slow-request.md'])
      assert.ok(GUIDES.includes(name), name);
    const dir = join(tempDir(), 'guides');
    const result = await runCli(['profile', 'guides', dir]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(readdirSync(dir).sort(), GUIDES);
    for (const name of GUIDES) {
      assert.equal(readFileSync(join(dir, name), 'utf8'), readFileSync(join(SHIPPED, name), 'utf8'), name);
      assert.ok(result.stdout.includes(`written   ${join(dir, name)}\n`), `${name} reported`);
    }
    assert.match(result.stdout, /start with .*AGENTS\.md\n$/);
  });

  it('leaves an edited guide alone without --force (one line, exit 1), replaces it with --force', async () => {
    const dir = tempDir();
    assert.equal((await runCli(['profile', 'guides', dir])).code, 0);
    const edited = join(dir, 'reading-a-trace.md');
    writeFileSync(edited, '# my notes\n');
    const refused = await runCli(['profile', 'guides', dir]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
    assert.match(
      refused.stderr,
      /reading-a-trace\.md differs from the shipped guide \(edited\?\): nothing written; --force/,
    );
    assert.equal(readFileSync(edited, 'utf8'), '# my notes\n', 'the edit survives');

    const again = await runCli(['profile', 'guides', dir, '--force']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^replaced {2}.*reading-a-trace\.md$/m);
    assert.match(again.stdout, /^unchanged .*AGENTS\.md$/m);
    assert.equal(readFileSync(edited, 'utf8'), readFileSync(join(SHIPPED, 'reading-a-trace.md'), 'utf8'));
  });

  it('--list names each guide with its title', async () => {
    const result = await runCli(['profile', 'guides', '--list']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim().split('\n').length, GUIDES.length);
    assert.match(result.stdout, /^AGENTS\.md {2}Profiling guides: start here$/m);
  });

  it('ships in the npm package: the CLI unpacked from the tarball lists and copies them', async () => {
    const work = tempDir();
    const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .at(-1) as string;
    execFileSync('tar', ['xzf', join(work, tarball), '-C', work]);
    const unpacked = join(work, 'package');
    for (const name of GUIDES) assert.ok(readdirSync(join(unpacked, 'docs', 'guides')).includes(name), name);
    symlinkSync(join(ROOT, 'node_modules'), join(unpacked, 'node_modules'));
    const copied = join(work, 'copied');
    execFileSync(process.execPath, [join(unpacked, 'bin', 'run.js'), 'profile', 'guides', copied], {
      encoding: 'utf8',
    });
    assert.deepEqual(readdirSync(copied).sort(), GUIDES);
  });
});
