/**
 * Value parsers shared by every command's options: each takes the option's spec (so the error names
 * its flag and environment variable) and its text, and throws InvalidOptionError on a bad value.
 */
import { accessSync, constants, rmSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import type { InvalidOptionError } from '../errors.js';
import { makeDir } from '../make-dir.js';
import { invalidOption, type OptionSpec } from './option-spec.js';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

export function invalid(spec: OptionSpec, value: string, expected: string): InvalidOptionError {
  return invalidOption(spec, value, expected);
}

export function integer(
  spec: OptionSpec,
  text: string,
  min: number,
  max: number,
  expected = `expected a whole number from ${min} to ${max}`,
): number {
  const trimmed = text.trim();
  const value = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw invalid(spec, text, expected);
  return value;
}

export function parsePort(spec: OptionSpec, text: string): number {
  return integer(spec, text, 0, 65535, 'expected an integer port from 0 to 65535');
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function parseBindAddr(spec: OptionSpec, text: string): { host: string; port: number } {
  const expected = 'expected host:port, e.g. 127.0.0.1:3000, 0.0.0.0:8080 or [::1]:3000';
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text.trim());
  if (match === null) throw invalid(spec, text, expected);
  const host = match[1] ?? match[2] ?? '';
  const hostOk = match[1] !== undefined ? isIP(host) === 6 : isIP(host) === 4 || HOSTNAME.test(host);
  if (!hostOk) throw invalid(spec, text, expected);
  const port = Number(match[3]);
  if (port > 65535) throw invalid(spec, text, expected);
  return { host, port };
}

export function parseServiceName(spec: OptionSpec, text: string): string {
  // It becomes a property on every record (and a possible EMF dimension value): keep it printable.
  if (text.trim() === '' || text.length > 256 || /[\p{Cc}]/u.test(text)) {
    throw invalid(spec, text, 'expected a non-empty name of at most 256 printable characters');
  }
  return text;
}

/** An absolute http(s) base URL, without query, fragment or credentials (a downstream service). */
export function parseBaseUrl(spec: OptionSpec, text: string): URL {
  const expected = 'expected an absolute http:// or https:// URL, e.g. http://127.0.0.1:3001';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(spec, text, expected);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw invalid(spec, text, expected);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw invalid(spec, text, 'expected a base URL without query, fragment or credentials');
  }
  return url;
}

/** Creates the directory if needed and proves it writable by writing a probe file. */
export function prepareDir(spec: OptionSpec, text: string): string {
  if (text.trim() === '') throw invalid(spec, text, 'expected a directory path');
  const dir = resolve(text);
  let existing: ReturnType<typeof statSync>;
  try {
    existing = statSync(dir, { throwIfNoEntry: false });
  } catch (err) {
    throw invalid(spec, text, `expected a directory path (${describeFsError(err)})`);
  }
  if (existing !== undefined && !existing.isDirectory()) {
    throw invalid(spec, text, 'expected a directory, found a file');
  }
  if (existing === undefined) {
    try {
      // Not mkdirSync(recursive): it never returns for a path like /proc/nope (see make-dir.ts).
      makeDir(dir);
    } catch (err) {
      // Node 20's statSync above throws ENOTDIR for a path through a file; Node 22 and later answer
      // "no entry" instead, and mkdir meets the file here: the same message either way.
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR')
        throw invalid(spec, text, `expected a directory path (${describeFsError(err)})`);
      // mkdir answers ENOENT where the parent exists but takes no new entries (/proc, /sys).
      const reason =
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'the file system refuses new directories there'
          : describeFsError(err);
      throw invalid(spec, text, `expected a directory that can be created (${reason})`);
    }
  }
  const probe = join(dir, `.write-probe-${process.pid}`);
  try {
    accessSync(dir, constants.W_OK);
    writeFileSync(probe, '');
  } catch (err) {
    throw invalid(spec, text, `expected a writable directory (${describeFsError(err)})`);
  } finally {
    rmSync(probe, { force: true });
  }
  return dir;
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOTDIR') return 'a path component is a file';
  if (code === 'EEXIST') return 'a path component is a file or a broken link';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'read-only file system';
  if (code === 'ENOSPC') return 'no space left on device';
  return code ?? String(err);
}

export function milliseconds(spec: OptionSpec, text: string, min: number): number {
  return integer(spec, text, min, HOUR_MS, `expected whole milliseconds from ${min} to ${HOUR_MS}`);
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: HOUR_MS };

/** A duration with a unit, `10s`, `500ms`, `2m`, `1h` (a bare number is seconds), 1 ms to 24 h; in ms. */
export function duration(spec: OptionSpec, text: string): number {
  const match = DURATION.exec(text.trim());
  const value = match === null ? Number.NaN : Number(match[1]) * (UNIT_MS[match[2] ?? 's'] ?? 1000);
  if (!(value >= 1) || value > DAY_MS) {
    throw invalid(spec, text, 'expected a duration such as 10s, 500ms or 2m (from 1ms to 24h)');
  }
  return Math.round(value);
}
