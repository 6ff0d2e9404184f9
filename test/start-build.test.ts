/** `npm start` compiles what the service runs, incrementally; tests and benchmarks wait for `npm test`. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('package.json', `file://${ROOT}`), 'utf8')) as {
  scripts: Record<string, string>;
};
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

describe('npm start', () => {
  test('prestart builds tsconfig.build.json in build mode (skips the compile when nothing changed), then the viewer bundle and the recorder addon', () => {
    // The viewer's page (esbuild, a fraction of a second) is part of what `npm start` builds, and so
    // is the recorder's park/unpark addon (make rebuilds nothing when it is up to date: ~0.6 s).
    assert.equal(
      pkg.scripts.prestart,
      'tsc -b tsconfig.build.json && node scripts/build-viewer.mjs && node native/loop-park/build.mjs',
    );
    const config = JSON.parse(readFileSync(new URL('tsconfig.build.json', `file://${ROOT}`), 'utf8')) as {
      compilerOptions: { incremental?: boolean; tsBuildInfoFile?: string };
    };
    assert.equal(config.compilerOptions.incremental, true);
    assert.match(config.compilerOptions.tsBuildInfoFile ?? '', /^dist\//, 'deleting dist/ forgets the build state too');
  });

  test('tsconfig.build.json compiles commands/ and src/ only, not test/ or bench/', () => {
    const listed = execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--listFilesOnly'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const ours = listed
      .split('\n')
      .filter((line) => line !== '' && !line.includes('/node_modules/'))
      .map((line) => relative(ROOT, line));
    assert.ok(ours.includes('commands/run.ts') && ours.includes('src/service.ts'), ours.join(' '));
    const others = ours.filter((file) => !file.startsWith('commands/') && !file.startsWith('src/'));
    assert.deepEqual(others, []);
  });
});
