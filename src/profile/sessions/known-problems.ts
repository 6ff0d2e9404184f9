/** Tool failures known in advance, refused before anything starts. */
import type { ProfileTool } from './capture-config.js';

/**
 * Known failures worth refusing up front: clinic doctor writes no report on Node ≥ 21.7 (its
 * signal handling broke, node-clinic#480). Returns the one-line reason, or undefined.
 */
export function knownProblem(tool: ProfileTool, nodeVersion: string = process.versions.node): string | undefined {
  if (tool !== 'clinic-doctor') return undefined;
  const [major = 0, minor = 0] = nodeVersion.split('.').map(Number);
  if (major > 21 || (major === 21 && minor >= 7)) {
    return `clinic doctor writes no report on Node ≥ 21.7 (this is ${nodeVersion}; upstream node-clinic#480, unmaintained): use --tool clinic-flame, cpu or recorder, or run it under Node 20`;
  }
  return undefined;
}
