/** What an oclif user types first: `service help`, `service --version`, and their short forms. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { runCli, stopAll } from '../helpers/service-process.js';

const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

describe('help and version', () => {
  after(stopAll);

  for (const flag of ['--version', '-v']) {
    test(`service ${flag} prints service/<version> with the platform and Node, exit 0`, async () => {
      const result = await runCli([flag]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `service/${version} ${process.platform}-${process.arch} node-${process.version}\n`);
      assert.equal(result.stderr, '');
    });
  }

  test('service help lists every command, exit 0', async () => {
    const result = await runCli(['help']);
    assert.equal(result.code, 0, result.stderr);
    const commands = result.stdout.slice(result.stdout.indexOf('COMMANDS'));
    for (const id of ['help', 'load', 'run']) assert.match(commands, new RegExp(`^ {2}${id} {2,}\\S`, 'm'));
  });

  test('service help load is the same text as service load --help', async () => {
    const viaHelp = await runCli(['help', 'load']);
    const viaFlag = await runCli(['load', '--help']);
    assert.equal(viaHelp.code, 0, viaHelp.stderr);
    assert.equal(viaFlag.code, 0, viaFlag.stderr);
    assert.match(viaHelp.stdout, /^USAGE\n {2}\$ service load \[URL\]/m);
    assert.equal(viaHelp.stdout, viaFlag.stdout);
    assert.equal((await runCli(['run', '-h'])).stdout, (await runCli(['help', 'run'])).stdout);
  });

  test('service help for an unknown command: one line, exit 2', async () => {
    const result = await runCli(['help', 'nope']);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, 'Error: Command nope not found. (see --help)\n');
  });
});
