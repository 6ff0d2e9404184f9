/**
 * Options of `service profile export`. Strict like every CLI option: a bad value stops the command
 * with one line and exit 2.
 */
import { EXPORT_FORMATS, type ExportFormat, type ExportOptions } from '../profile/export/export-node.js';
import { invalidArgument, invalidOption, option, optionText, type RawOptions } from './option-spec.js';

export const EXPORT_OPTIONS = Object.freeze({
  format: option(
    'format',
    'PROFILE_EXPORT_FORMAT',
    'chrome',
    '<format>',
    'chrome: trace-event JSON (Perfetto, DevTools Performance); cpuprofile: the CPU samples as a V8 .cpuprofile (DevTools, VS Code, speedscope).',
  ),
  output: option(
    'output',
    'PROFILE_EXPORT_OUTPUT',
    undefined,
    '<file>',
    'Where to write it; - for stdout [default: <trace name>.trace.json or <process>.cpuprofile here].',
    'o',
  ),
});

export function loadExportConfig(
  path: string | undefined,
  raw: RawOptions<keyof typeof EXPORT_OPTIONS>,
): ExportOptions {
  if (path === undefined || path === '')
    throw invalidArgument(
      'PATH',
      path ?? '',
      'give a trace: a segment file, a process directory or a capture directory',
    );
  const text = optionText(EXPORT_OPTIONS, raw);
  const format = text('format') as string;
  if (!(EXPORT_FORMATS as readonly string[]).includes(format))
    throw invalidOption(EXPORT_OPTIONS.format, format, `one of ${EXPORT_FORMATS.join(', ')}`);
  const output = text('output');
  if (output === '') throw invalidOption(EXPORT_OPTIONS.output, output, 'a file path, or - for stdout');
  return Object.freeze({ path, format: format as ExportFormat, output });
}
