import { Args, loadHelpClass } from '@oclif/core';
import { BaseCommand } from '../src/cli/base-command.js';

/**
 * `service help [COMMAND]`: the same text as `--help`, for users who type it the git way. oclif's
 * own help renderer does the work; @oclif/plugin-help would add a dependency for these lines (and
 * its current major needs Node 22).
 */
export default class Help extends BaseCommand {
  static override summary = 'Show help for service or one of its commands.';

  static override examples = [
    { description: 'Every command:', command: '<%= config.bin %> <%= command.id %>' },
    { description: 'One command, its flags and examples:', command: '<%= config.bin %> <%= command.id %> load' },
  ];

  static override args = {
    command: Args.string({ description: 'The command to show help for.', required: false }),
  };

  // `service help load run` reads like a topic path; let oclif's help decide what it names.
  static override strict = false;

  async run(): Promise<void> {
    const { argv } = await this.parse(Help);
    const HelpClass = await loadHelpClass(this.config);
    await new HelpClass(this.config).showHelp(argv as string[]);
  }
}
