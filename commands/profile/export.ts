import { Args } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base-command.js';
import { optionFlags, optionValues } from '../../src/cli/option-flags.js';
import { EXPORT_OPTIONS, loadExportConfig } from '../../src/config/profile-export.js';

export default class ProfileExport extends BaseCommand {
  static override summary = 'Convert a flight-recorder trace to Chrome trace-event JSON or a .cpuprofile.';

  static override description = [
    'PATH is a segment file (trace.<n>.bin.gz), a process directory, a trace directory or a capture directory of `service profile record --tool recorder`. Segments are read one at a time and the output is written as it is produced.',
    'chrome: stalls, callbacks and GC pauses nest on the main-thread track (overlapping ones get extra lanes), requests and outgoing requests are async slices on their own tracks, loop delay, utilization, CPU, memory, handles and requests in flight are counters, triggers and marks are instants, and CPU samples are a flame chart on their own track. Several processes: one pid each, on one time axis. Open it in https://ui.perfetto.dev or the Performance panel of Chrome DevTools.',
    'cpuprofile: the CPU samples of one process (the trace must be recorded with DIAL9_CPU_PROFILE_ENABLED=true); with several processes, name the process directory. Open it in DevTools, VS Code or speedscope.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'A capture of the flight recorder, for Perfetto:',
      command: '<%= config.bin %> <%= command.id %> captures/20261130T050000Z-recorder -o trace.json',
    },
    {
      description: 'The CPU samples of one process, for speedscope:',
      command:
        '<%= config.bin %> <%= command.id %> traces/service.4242.20261130T024231Z --format cpuprofile -o service.cpuprofile',
    },
  ];

  static override args = {
    path: Args.string({ description: 'A trace segment, process directory, trace directory or capture directory.' }),
  };

  static override flags = optionFlags(EXPORT_OPTIONS);

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ProfileExport);
    const options = loadExportConfig(args.path, optionValues(EXPORT_OPTIONS, flags));
    const { exportTrace } = await import('../../src/profile/export/export-node.js');
    const result = await exportTrace(options);
    // Nothing to open later (stdout, /dev/stdout, a device, a FIFO): and a note on stdout could land
    // in the export itself.
    if (!result.file) return;
    const opener =
      options.format === 'chrome'
        ? 'open it in https://ui.perfetto.dev or Chrome DevTools > Performance > Load profile'
        : 'open it in Chrome DevTools, VS Code or speedscope';
    const mb = (result.bytes / 1024 / 1024).toFixed(1);
    this.log(`wrote ${result.output} (${mb} MB, ${result.processes.length} process(es)); ${opener}`);
  }
}
