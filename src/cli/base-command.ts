import { Command, Errors } from '@oclif/core';
import { ServiceError } from '../errors.js';

/**
 * Every command's base: errors reach the user as one line on stderr with the right exit code,
 * never as a stack trace. Usage errors (bad flags, bad values) exit with 2.
 */
export abstract class BaseCommand extends Command {
  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err;
    if (err instanceof ServiceError) return this.fail(err.message, err.exitCode);
    if (err instanceof Errors.CLIError) {
      // oclif's parse errors span several lines ("...\nSee more help with --help"); keep the first.
      const firstLine = err.message.split('\n', 1)[0] ?? err.message;
      return this.fail(`${firstLine} (see --help)`, err.oclif.exit ?? 2);
    }
    return super.catch(err);
  }

  private fail(message: string, exitCode: number): never {
    process.stderr.write(`Error: ${message}\n`);
    return this.exit(exitCode);
  }
}
