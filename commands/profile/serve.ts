import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base-command.js';
import { optionFlags, optionValues } from '../../src/cli/option-flags.js';
import { loadServeConfig, SERVE_OPTIONS } from '../../src/config/serve.js';

export default class ProfileServe extends BaseCommand {
  static override summary = 'Open captures and flight-recorder traces in the browser.';

  static override description = [
    'Serves a local web page that lists the captures in --capture-dir and the recorder traces in DIR (or --trace-dir, DIAL9_TRACE_DIR) and opens them: 0x and clinic reports as they are, CPU and heap profiles in speedscope, recorder traces in the trace viewer (timeline, worst-first navigator, range flamegraph, requests joined with their wide events).',
    'Read-only, and it serves only files under the directories it is given. It listens on 127.0.0.1 unless --host says otherwise. Stop it with Ctrl-C.',
  ].join('\n\n');

  static override examples = [
    { description: 'Everything in ./captures and ./traces:', command: '<%= config.bin %> <%= command.id %>' },
    {
      description: 'A trace directory, joined with a metrics.log, opened in the browser:',
      command: '<%= config.bin %> <%= command.id %> ./traces --metrics ./telemetry/metrics.log --open',
    },
  ];

  static override args = {
    dir: Args.string({ description: 'A flight-recorder trace directory (overrides --trace-dir).' }),
  };

  static override flags = {
    ...optionFlags(SERVE_OPTIONS),
    open: Flags.boolean({ summary: 'Open the page in the default browser.' }),
  };

  async run(): Promise<void> {
    const { flags, args } = await this.parse(ProfileServe);
    const config = loadServeConfig(optionValues(SERVE_OPTIONS, flags), args.dir, flags.open);
    const { startViewer } = await import('../../src/profile/viewer/server.js');
    const { openBrowser } = await import('../../src/profile/viewer/open-browser.js');
    if (!config.loopback) {
      process.stderr.write(
        `warning: listening on ${config.host}, not loopback: anyone who can reach this address can read these traces\n`,
      );
    }
    const viewer = await startViewer(config);
    this.log(`viewer: ${viewer.url} (captures: ${config.captureDir}, traces: ${config.traceDir})`);
    if (config.open) openBrowser(viewer.url, (line) => process.stderr.write(`${line}\n`));
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await viewer.close();
  }
}
