#!/usr/bin/env -S node --import tsx --disable-warning=ExperimentalWarning
// Runs the CLI from the TypeScript sources (no build step); oclif maps dist/ back to the sources.
import { execute } from '@oclif/core';

await execute({ development: true, dir: import.meta.url });
