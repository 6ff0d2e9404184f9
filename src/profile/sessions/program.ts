/**
 * The program a session profiles: the service itself (this checkout's CLI, `run`) or a Node program
 * the user names after `--` (`-- node app.js`), split into node, node flags, script and arguments so
 * each tool can put its own flags in the right place.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceError } from '../../errors.js';

export interface NodeProgram {
  /** The node binary to run. */
  readonly node: string;
  readonly nodeArgs: readonly string[];
  /** Absolute path of the entry script. */
  readonly script: string;
  readonly args: readonly string[];
  /** True for this service's own CLI. */
  readonly isService: boolean;
}

/** Node flags that take their value as the next word (the others use `--flag=value` or none). */
const NODE_FLAGS_WITH_VALUE = new Set([
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
  '-C',
  '--conditions',
  '--input-type',
  '--title',
  '--env-file',
]);

/** The checkout's root: the nearest folder above this file holding bin/run.js (from src/ or dist/src/). */
export function projectRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    if (existsSync(join(dir, 'bin', 'run.js')) && existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the project root above ${from}`);
    dir = parent;
  }
}

/** `node <root>/bin/run.js run ...runArgs` with the node running this CLI. */
export function serviceProgram(runArgs: readonly string[]): NodeProgram {
  return {
    node: process.execPath,
    nodeArgs: [],
    script: join(projectRoot(), 'bin', 'run.js'),
    args: ['run', ...runArgs],
    isService: true,
  };
}

function isNode(word: string): boolean {
  return word === process.execPath || /^node(\.exe)?$/.test(basename(word));
}

/** Reads `node [flags] script [args]`; relative paths are made absolute against `cwd`. */
export function parseNodeCommand(words: readonly string[], cwd: string = process.cwd()): NodeProgram {
  // A usage error like a bad flag: same code, exit 2.
  const usage = (why: string) =>
    new ServiceError(
      'SVC_ERR_INVALID_OPTION',
      `invalid command after -- ${JSON.stringify(words.join(' '))}: ${why}; expected a Node program, e.g. -- node app.js`,
      { exitCode: 2 },
    );
  const [first, ...rest] = words;
  if (first === undefined || !isNode(first)) throw usage('the command must start with node');
  const nodeArgs: string[] = [];
  let i = 0;
  for (; i < rest.length; i++) {
    const word = rest[i] ?? '';
    if (!word.startsWith('-')) break;
    if (word === '-e' || word === '--eval' || word === '-p' || word === '--print' || word === '-') {
      throw usage(`${word} has no script file to profile`);
    }
    nodeArgs.push(word);
    if (NODE_FLAGS_WITH_VALUE.has(word) && i + 1 < rest.length) {
      const value = rest[++i] ?? '';
      nodeArgs.push(/^\.\.?\//.test(value) ? resolve(cwd, value) : value);
    }
  }
  const script = rest[i];
  if (script === undefined) throw usage('no script given');
  return {
    node: first === 'node' ? process.execPath : first,
    nodeArgs,
    script: isAbsolute(script) ? script : resolve(cwd, script),
    args: rest.slice(i + 1),
    isService: false,
  };
}

/** The words that start the program, as it would be typed. */
export function programWords(program: NodeProgram, extraNodeArgs: readonly string[] = []): string[] {
  return [program.node, ...program.nodeArgs, ...extraNodeArgs, program.script, ...program.args];
}
