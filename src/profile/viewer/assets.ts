/** Where the viewer's static files are: the bundled web app (built into dist/) and speedscope's release. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PACKAGE_ROOT } from '../../service-process.js';

/** The bundle `scripts/build-viewer.mjs` writes (part of `npm run build` and `npm start`). */
export const WEB_DIR = join(PACKAGE_ROOT, 'dist', 'viewer');

/** speedscope's offline build, from the npm package, served as is. */
export function speedscopeDir(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('speedscope/package.json');
    const dir = join(dirname(pkg), 'dist', 'release');
    return existsSync(join(dir, 'index.html')) ? dir : undefined;
  } catch {
    return undefined;
  }
}

export function webAppBuilt(): boolean {
  return existsSync(join(WEB_DIR, 'index.html'));
}
