import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base-command.js';
import { optionFlags, optionValues } from '../src/cli/option-flags.js';
import { DEFAULT_LOAD_URL, LOAD_OPTIONS, loadLoadConfig } from '../src/config/load.js';
import { ServiceError } from '../src/errors.js';

export default class Load extends BaseCommand {
  static override summary = 'Drive sustained HTTP load and report honest latency percentiles.';

  static override description = [
    'Closed model (the default): --connections x --pipelining requests in flight, each answer sending the next, for --duration or --requests.',
    'Open model (--rate): requests go out on a fixed schedule whatever the server does, and latency is measured from each intended send time, so a stall shows in every request that should have gone out during it (coordinated omission corrected). The report also says how late the generator itself sent requests, so a saturated client is not mistaken for a slow server.',
    "The target is a single URL (with --method, --header, --body), or with --mix this service's items API. Load goes only where you point it; without a URL, to the local service at http://127.0.0.1:3000.",
    'Errors are counted by kind (connect, timeout, reset) and never stop the run. --json prints the report as one JSON document; --fail-on sets exit code 1 when a condition holds.',
  ].join('\n\n');

  static override examples = [
    {
      description: '50 connections for 10 s against the local service:',
      command: '<%= config.bin %> <%= command.id %> http://127.0.0.1:3000/items/key-1',
    },
    {
      description: 'The items mix at a fixed 2000 requests a second for 30 s, hot keys first:',
      command:
        '<%= config.bin %> <%= command.id %> --mix get=9,put=1 --keys 10000 --key-dist zipf --rate 2000 --duration 30s',
    },
    {
      description: 'A CI gate, as JSON:',
      command:
        '<%= config.bin %> <%= command.id %> http://127.0.0.1:3000/health -d 20s --fail-on "p99>50ms,errors>0.1%" --json',
    },
  ];

  static override enableJsonFlag = true;

  static override args = {
    url: Args.string({ description: `Target URL [default: ${DEFAULT_LOAD_URL}]`, required: false }),
  };

  static override flags = {
    ...optionFlags(LOAD_OPTIONS),
    header: Flags.string({ char: 'H', multiple: true, summary: 'A request header, "Name: value"; repeat for more.' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Load);
    const config = loadLoadConfig(optionValues(LOAD_OPTIONS, flags), args.url, flags.header ?? []);
    const { runLoadTest } = await import('../src/load/load-test.js');
    const { noResponseLine, progressLine, renderReport } = await import('../src/load/report.js');
    // Ctrl-C stops sending; requests in flight finish and the report still prints.
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    const live = process.stderr.isTTY === true && !this.jsonEnabled();
    try {
      const outcome = await runLoadTest(config, {
        signal: stop.signal,
        onProgress: live ? (p) => process.stderr.write(`\r${progressLine(p)}\u001b[K`) : undefined,
      });
      if (live) process.stderr.write('\r\u001b[K');
      const report = { ...outcome.summary, thresholds: outcome.thresholds, failed: outcome.failed };
      if (this.jsonEnabled()) this.logJson(report);
      else this.log(renderReport(outcome.summary, outcome.thresholds));
      const nothingAnswered = noResponseLine(outcome.summary);
      // The report is out; this one line and exit 1 keep a wrong target from passing a CI step.
      if (nothingAnswered !== undefined) throw new ServiceError('SVC_ERR_LOAD_NO_RESPONSE', nothingAnswered);
      if (outcome.failed) process.exitCode = 1;
      // Printed above already (oclif would print a returned value again under --json).
      return undefined;
    } finally {
      process.removeListener('SIGINT', onSignal);
    }
  }
}
