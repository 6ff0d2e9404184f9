import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A metrique JSON line. */
export interface MetricLine {
  timestamp: number;
  metrics?: Record<string, { value?: number; values?: number[]; unit?: string }>;
  properties?: Record<string, string>;
}

/** Parses NDJSON text; every non-empty line must be valid JSON. */
export function parseLines<T = unknown>(text: string): T[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      try {
        return JSON.parse(line) as T;
      } catch {
        throw new Error(`line ${index + 1} is not JSON: ${line.slice(0, 200)}`);
      }
    });
}

/**
 * Every line of every file in `dir` whose name starts with `prefix`, oldest first: the rotations in
 * the order of their time stamps, then the live file (a test that spans a minute boundary has both).
 */
export function readRotated<T = unknown>(dir: string, prefix: string): T[] {
  if (!existsSync(dir)) return [];
  const rotated = readdirSync(dir)
    .filter((name) => name.startsWith(`${prefix}.`))
    .sort();
  return [...rotated, ...(existsSync(join(dir, prefix)) ? [prefix] : [])].flatMap((name) =>
    parseLines<T>(readFileSync(join(dir, name), 'utf8')),
  );
}

/** The value of a metric, or undefined. */
export function metric(line: MetricLine, name: string): number | undefined {
  return line.metrics?.[name]?.value;
}

export const isRequestRecord = (line: MetricLine): boolean => line.properties?.Operation !== undefined;
export const isShutdownRecord = (line: MetricLine): boolean => line.properties?.Reason !== undefined;
export const isExitRecord = (line: MetricLine): boolean => line.metrics?.ExitCode !== undefined;
export const isRuntimeRecord = (line: MetricLine): boolean => line.metrics?.HeapUsed !== undefined;
