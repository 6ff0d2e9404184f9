/** `--open`: the platform's "open this URL" command, detached; a failure is one line, never fatal. */
import { spawn } from 'node:child_process';

export function openBrowser(url: string, say: (line: string) => void): void {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(command, args, { detached: true, stdio: 'ignore' });
    child.on('error', () => say(`could not start ${command}; open ${url} yourself`));
    child.unref();
  } catch {
    say(`could not start ${command}; open ${url} yourself`);
  }
}
