/** dial9.env's settings as `source dial9.env` puts them in the environment (benches and tests run with them). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The `export DIAL9_NAME=value` lines of `<root>/dial9.env`. */
export function dial9Env(root: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(join(root, 'dial9.env'), 'utf8').split('\n')) {
    const match = /^\s*export\s+(DIAL9_[A-Z0-9_]+)=(.*)$/.exec(line);
    if (match?.[1] !== undefined) env[match[1]] = (match[2] ?? '').trim();
  }
  return env;
}
