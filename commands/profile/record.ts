import { dirname } from 'node:path';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base-command.js';
import { optionFlags, optionValues } from '../../src/cli/option-flags.js';
import { LOAD_OPTIONS } from '../../src/config/load.js';
import { loadRecordConfig, RECORD_OPTIONS } from '../../src/config/profile.js';

export default class ProfileRecord extends BaseCommand {
  static override summary = 'Capture a profile of the service (or any Node program) under sustained load.';

  static override description = [
    'Starts the service on a free port under the tool, drives load at it with the `service load` engine (its --rate, --connections, --duration, --mix flags; the items mix get=9,put=1 by default), stops everything cleanly and prints where the capture is and how to open it.',
    'Tools: recorder (the flight recorder at full fidelity), cpu (V8 CPU profile), heap (V8 sampling heap profile), 0x (flamegraph), clinic-doctor, clinic-flame, clinic-bubbleprof, clinic-heap. 0x and clinic are installed on first use into --tools-dir.',
    'After --, profiles that Node program instead of the service; it must print the URL it listens on (or give --url). --with-downstream starts a second instance the profiled one forwards its items to.',
    'Each capture is a directory in --capture-dir named by time and tool, with the tool output, the service telemetry, output.log and manifest.json. A tool that fails or hangs is reported in one line, its processes and files removed, exit code 1.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'A CPU profile of the service under 10 s of the items mix:',
      command: '<%= config.bin %> <%= command.id %>',
    },
    {
      description: 'A flamegraph at a fixed 2000 requests a second, through a downstream instance:',
      command: '<%= config.bin %> <%= command.id %> --tool 0x --rate 2000 --duration 20s --with-downstream',
    },
    {
      description: 'The flight recorder on your own program:',
      command: '<%= config.bin %> <%= command.id %> --tool recorder -- node app.js',
    },
  ];

  static override strict = false;
  static override enableJsonFlag = true;

  static override flags = {
    ...optionFlags(RECORD_OPTIONS),
    ...optionFlags(LOAD_OPTIONS),
    'with-downstream': Flags.boolean({
      summary: 'Also start a second instance and forward items to it (profiles the outgoing-request path).',
    }),
  };

  async run(): Promise<unknown> {
    const { flags, argv } = await this.parse(ProfileRecord);
    const config = loadRecordConfig(
      optionValues(RECORD_OPTIONS, flags),
      optionValues(LOAD_OPTIONS, flags),
      argv as string[],
      flags['with-downstream'],
    );
    const { recordCapture } = await import('../../src/profile/sessions/record.js');
    const { progressLine, renderReport } = await import('../../src/load/report.js');
    const say = (line: string) => process.stderr.write(`${line}\n`);
    const live = process.stderr.isTTY === true && !this.jsonEnabled();
    // First Ctrl-C: stop the load, then the program, and keep the capture. Second: hurry the drain.
    const interrupt = new AbortController();
    let hurry = () => {};
    const onSignal = () => (interrupt.signal.aborted ? hurry() : interrupt.abort());
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const session = await recordCapture(config, {
        say,
        signal: interrupt.signal,
        onProgress: live ? (p) => process.stderr.write(`\r${progressLine(p)}\u001b[K`) : undefined,
      });
      hurry = session.hurry;
      const { capture, load } = await session.result;
      if (live) process.stderr.write('\r\u001b[K');
      if (!this.jsonEnabled()) {
        if (load !== undefined) this.log(renderReport(load.summary, load.thresholds));
        this.log(`capture: ${capture.dir}`);
        this.log(capture.manifest.open);
        this.log(`or in the browser: service profile serve --capture-dir ${dirname(capture.dir)}`);
      }
      return { capture: capture.dir, manifest: capture.manifest };
    } finally {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  }
}
