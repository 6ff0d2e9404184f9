/**
 * `service profile guides`: the analysis guides (docs/guides/*.md, shipped in the package) copied
 * into a directory a person or a coding agent works in. A guide already there and identical is left
 * alone; one that differs (edited by hand, or from another version) is only replaced with `force`,
 * and then nothing is written at all unless every file may be.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceError } from '../../errors.js';

/** docs/guides of this package, from the built module (dist/src/profile/guides/): four levels up is the package root. */
export const GUIDES_DIR = fileURLToPath(new URL('../../../../docs/guides/', import.meta.url));

export interface Guide {
  readonly file: string;
  /** The first `# ` heading. */
  readonly title: string;
  readonly text: string;
}

export type GuideAction = 'written' | 'unchanged' | 'replaced';

export async function shippedGuides(dir = GUIDES_DIR): Promise<Guide[]> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.md')).sort();
  return Promise.all(
    files.map(async (file) => {
      const text = await readFile(join(dir, file), 'utf8');
      const title = /^# (.+)$/m.exec(text)?.[1]?.trim() ?? file;
      return { file, title, text };
    }),
  );
}

export async function installGuides(
  destination: string,
  options: { force?: boolean; source?: string } = {},
): Promise<{ file: string; path: string; action: GuideAction }[]> {
  const guides = await shippedGuides(options.source);
  const plan = await Promise.all(
    guides.map(async (guide) => {
      const path = join(destination, guide.file);
      const existing = await readFile(path, 'utf8').catch(() => undefined);
      const action: GuideAction =
        existing === undefined ? 'written' : existing === guide.text ? 'unchanged' : 'replaced';
      return { guide, path, action };
    }),
  );
  const changed = plan.filter((p) => p.action === 'replaced');
  if (changed.length > 0 && options.force !== true)
    throw new ServiceError(
      'SVC_ERR_GUIDES_CHANGED',
      `${changed.map((p) => p.path).join(', ')} differ${changed.length === 1 ? 's' : ''} from the shipped guide${changed.length === 1 ? '' : 's'} (edited?): nothing written; --force replaces them`,
    );
  await mkdir(destination, { recursive: true });
  for (const { guide, path, action } of plan) if (action !== 'unchanged') await writeFile(path, guide.text);
  return plan.map(({ guide, path, action }) => ({ file: guide.file, path, action }));
}
