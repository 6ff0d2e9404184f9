import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base-command.js';

export default class ProfileGuides extends BaseCommand {
  static override summary = 'Copy the trace-analysis guides (for people and coding agents) into a directory.';

  static override description = [
    'The guides say how to record a useful flight-recorder trace, how to read `service profile analyze` (each finding: what it means, the usual fixes and their trade-offs), how to explain one slow request, and, in AGENTS.md, a step-by-step procedure with commands for a coding agent.',
    'Files already there and identical are left alone; one that differs from the shipped guide (edited?) stops the command before anything is written, unless --force.',
  ].join('\n\n');

  static override examples = [
    { description: 'Into ./profiling-guides:', command: '<%= config.bin %> <%= command.id %>' },
    { description: 'What the guides are:', command: '<%= config.bin %> <%= command.id %> --list' },
  ];

  static override args = {
    dir: Args.string({ description: 'Where to copy them.', default: './profiling-guides' }),
  };

  static override flags = {
    force: Flags.boolean({ summary: 'Replace guides in DIR that differ from the shipped ones.' }),
    list: Flags.boolean({ summary: 'Only list the guides (file and title); copy nothing.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ProfileGuides);
    const { installGuides, shippedGuides } = await import('../../src/profile/guides/install-node.js');
    if (flags.list) {
      for (const guide of await shippedGuides()) this.log(`${guide.file}  ${guide.title}`);
      return;
    }
    const results = await installGuides(args.dir, { force: flags.force });
    for (const { path, action } of results) this.log(`${action.padEnd(9)} ${path}`);
    this.log(`start with ${results.find((r) => r.file === 'AGENTS.md')?.path ?? args.dir}`);
  }
}
