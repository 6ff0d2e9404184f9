#!/usr/bin/env node
// Runs the CLI from the TypeScript sources, no build step: tsx compiles each module on import,
// and oclif reads the commands straight from commands/ instead of dist/commands.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const { execute, settings } = await import('@oclif/core');
// oclif's own dist→source mapping assumes rootDir "src"; ours is ".", so point it at the sources.
settings.enableAutoTranspile = false;
const root = fileURLToPath(new URL('..', import.meta.url));
const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
pjson.oclif.commands = './commands';
await execute({ development: true, loadOptions: { root, pjson } });
