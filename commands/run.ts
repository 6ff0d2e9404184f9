import { BaseCommand } from '../src/cli/base-command.js';
import { optionFlags, optionValues } from '../src/cli/option-flags.js';
import { loadRunProfileConfig, RUN_PROFILE_OPTIONS } from '../src/config/profile.js';
import { loadRunConfig, RUN_OPTIONS } from '../src/config/run.js';

export default class Run extends BaseCommand {
  static override summary = 'Start the HTTP service: one wide event per request, logs, rotation, graceful shutdown.';

  static override description = [
    "Serves GET/PUT /items/:key (in memory, or forwarded to --downstream-url), POST /echo and GET /health. Every request except /health emits exactly one RequestMetrics record in metrique's JSON shape.",
    'Without --telemetry-dir, logs go to stderr and metrics to stdout. With it, application.log rolls hourly and metrics.log every minute in that directory.',
    'SIGTERM, SIGINT or SIGHUP stops accepting connections, lets in-flight requests finish (--drain-timeout-ms), writes a shutdown and an exit record, flushes, and exits 0 on a clean drain.',
    'Every flag can also be set through the environment variable shown next to it; a flag wins over its variable.',
  ].join('\n\n');

  static override examples = [
    { description: 'Listen on the default address (127.0.0.1:3000):', command: '<%= config.bin %> <%= command.id %>' },
    {
      description: 'Write rotated logs and metrics into ./telemetry, quiet dependencies:',
      command:
        '<%= config.bin %> <%= command.id %> --telemetry-dir ./telemetry --log-filter info,service=debug,undici=error',
    },
    {
      description: 'A forwarding instance in front of another one:',
      command: '<%= config.bin %> <%= command.id %> --port 3001 --downstream-url http://127.0.0.1:3000',
    },
    {
      description: 'Configure from the environment instead:',
      command: 'PORT=8080 SERVICE_NAME=items <%= config.bin %> <%= command.id %>',
    },
  ];

  static override flags = { ...optionFlags(RUN_OPTIONS), ...optionFlags(RUN_PROFILE_OPTIONS) };

  async run(): Promise<void> {
    const { flags } = await this.parse(Run);
    const raw = optionValues(RUN_OPTIONS, flags);
    const config = loadRunConfig(raw);
    const profile = loadRunProfileConfig(optionValues(RUN_PROFILE_OPTIONS, flags));
    if (profile !== undefined) {
      // The service runs again as a child under the profiler; this process waits and keeps the capture.
      const { runProfiled } = await import('../src/profile/sessions/run-profiled.js');
      const { serviceArgs } = await import('../src/config/run-args.js');
      const say = (line: string) => process.stderr.write(`${line}\n`);
      process.exit(await runProfiled(profile, serviceArgs(raw, config), say));
    }
    // Loaded here, not at the top: oclif imports every command to list them, and `service load`
    // should not pay for fastify and pino at startup.
    const { runService } = await import('../src/service.js');
    const exitCode = await runService(config);
    // The guard has flushed everything; leave now rather than wait on stray handles.
    process.exit(exitCode);
  }
}
