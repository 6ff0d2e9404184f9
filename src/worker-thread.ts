/**
 * Starts a worker thread from a module next to its caller, both from the build (dist/, .js) and from
 * the sources (bin/dev.js, .ts). A worker does not inherit the parent's TypeScript loader, so from
 * the sources a two-line bootstrap registers tsx before importing the module.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** True when this very module was loaded from its .ts source (bin/dev.js), not from dist/. */
const FROM_SOURCES = import.meta.url.endsWith('.ts');

/** Options passed through to `new Worker`, minus the two this helper owns. */
export type StartWorkerOptions = Omit<WorkerOptions, 'eval' | 'name'>;

/**
 * Starts the worker whose built module is `url`, e.g. `new URL('./worker.js', import.meta.url)`;
 * from the sources the `.ts` file beside it runs instead. `name` shows in inspectors and profiles.
 *
 * @example
 * const worker = startWorker(new URL('./worker.js', import.meta.url), 'telemetry-writer');
 */
export function startWorker(url: URL, name: string, options: StartWorkerOptions = {}): Worker {
  if (!FROM_SOURCES) return new Worker(url, { ...options, name });
  const source = new URL(url.href.replace(/\.js$/, '.ts'));
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true, name });
}
