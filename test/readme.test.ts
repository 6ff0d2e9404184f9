/** The README's command reference is generated from --help; it must match the CLI as built. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { RUN_OPTIONS } from '../src/config/run.js';

// biome-ignore lint/suspicious/noExplicitAny: a plain .mjs script without types
const { commandReference } = (await import(new URL('../../scripts/readme.mjs', import.meta.url).href)) as any;
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  test('the command reference is up to date (run `npm run readme`)', () => {
    assert.ok(readme.includes(commandReference()), 'README.md command reference differs from --help');
  });

  test('the flags table lists every run option with its environment variable and default', () => {
    for (const spec of Object.values(RUN_OPTIONS)) {
      const row = readme.split('\n').find((line) => line.split('|')[1]?.trim() === `\`--${spec.flag}\``);
      assert.ok(row, `no row for --${spec.flag}`);
      assert.ok(row.includes(`\`${spec.env}\``), `--${spec.flag}: env ${spec.env} missing`);
      if (spec.default !== undefined)
        assert.ok(row.includes(`\`${spec.default}\``), `--${spec.flag}: default ${spec.default} missing`);
    }
  });

  test('the quick start is exactly two commands: install-and-run, and test', () => {
    const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Try it'));
    assert.equal(quickStart.split('```sh').length, 2, 'one code block in the quick start');
    const block = quickStart.slice(
      quickStart.indexOf('```sh') + 5,
      quickStart.indexOf('```', quickStart.indexOf('```sh') + 5),
    );
    const commands = block
      .split('\n')
      .map((line) => line.replace(/#.*$/, '').trim())
      .filter((line) => line !== '');
    assert.deepEqual(commands, ['npm ci && npm start', 'npm test']);
  });
});
