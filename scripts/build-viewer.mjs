// Bundles the trace viewer's web app (src/profile/viewer/web) into dist/viewer with esbuild: the page,
// its script, the Web Worker that decodes traces (with src/profile/format bundled in, not copied) and CSS.
// Part of `npm run build` and of `npm start`'s build; `service profile serve` serves dist/viewer.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'src', 'profile', 'viewer', 'web');
const out = join(root, 'dist', 'viewer');
mkdirSync(out, { recursive: true });

await build({
  entryPoints: { main: join(web, 'main.ts'), worker: join(web, 'trace', 'worker.ts') },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
for (const file of ['index.html', 'style.css']) copyFileSync(join(web, file), join(out, file));
