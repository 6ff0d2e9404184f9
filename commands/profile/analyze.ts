import { Args } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base-command.js';
import { optionFlags, optionValues } from '../../src/cli/option-flags.js';
import { ANALYZE_OPTIONS, loadAnalyzeConfig } from '../../src/config/analyze.js';
import { AnalyzeError } from '../../src/errors.js';

export default class ProfileAnalyze extends BaseCommand {
  static override summary = 'Read a flight-recorder trace: the red flags, worst first, and why a request was slow.';

  static override description = [
    'PATH is a trace segment (trace.N.bin.gz), a process directory, a trace directory (DIAL9_TRACE_DIR) or a capture of `service profile record --tool recorder`.',
    'Findings: long and blocked callbacks (with the code that ran and the requests they ran for or delayed), event-loop delay, CPU saturation, GC, resource growth, waiting on a downstream, dropped events, the slowest requests. Each says when, how long, its evidence, the top stack frames (with CPU samples on) and the requests.',
    "With --request ID, the request's wall time is split into its own CPU, time queued behind other callbacks (named), GC, waiting on its outgoing requests and an explicit unknown; the parts add up to its Duration. See docs/analysis.md.",
    'Exits 0 whenever the analysis ran, whatever it found.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'The red-flag scan of a capture:',
      command: '<%= config.bin %> <%= command.id %> captures/20261130T0500Z-recorder',
    },
    {
      description: 'Why one request was slow, with its wide event:',
      command:
        '<%= config.bin %> <%= command.id %> ./traces --metrics telemetry/metrics.log --request 3f6c1a2e-8d7b-4c1e-9a55-0b1d2e3f4a5b',
    },
    { description: 'As JSON:', command: '<%= config.bin %> <%= command.id %> ./traces --json' },
  ];

  static override enableJsonFlag = true;

  static override args = {
    path: Args.string({
      description: 'A trace segment, process directory, trace directory or capture.',
      required: true,
    }),
  };

  static override flags = { ...optionFlags(ANALYZE_OPTIONS) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(ProfileAnalyze);
    const config = loadAnalyzeConfig(args.path, optionValues(ANALYZE_OPTIONS, flags));
    const { analyzeTracePath } = await import('../../src/profile/analyze/load-node.js');
    const { renderText } = await import('../../src/profile/analyze/format-text.js');
    const result = await analyzeTracePath(config.path, {
      metricsPath: config.metricsPath,
      requestId: config.requestId,
      slowRequests: config.slowRequests,
      longCallbackMs: config.longCallbackMs,
      criticalCallbackMs: config.criticalCallbackMs,
      slowOutgoingMs: config.slowOutgoingMs,
    });
    if (config.requestId !== undefined && result.request === null) {
      throw new AnalyzeError(
        'SVC_ERR_ANALYZE_REQUEST',
        `request ${config.requestId} is not in the trace at ${config.path} (ids are the wide event's RequestId; node:http programs use #<seq>)`,
      );
    }
    if (!this.jsonEnabled()) process.stdout.write(renderText(result.report, result.request));
    return config.requestId === undefined ? result.report : { ...result.report, request: result.request };
  }
}
