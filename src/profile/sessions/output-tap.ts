/**
 * The tool's and the program's output: passed on (to this terminal or to the capture's output.log),
 * its last lines kept for error messages, and scanned for the URL the program listens on.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';

const TAIL_LINES = 20;
/** Terminal colour and cursor codes (0x draws its progress with them). */
const ANSI_ESCAPE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g');
const URL_PATTERN = /\bhttp:\/\/(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d+/;

export class OutputTap {
  readonly #tail: string[] = [];
  readonly #file: WriteStream | undefined;
  readonly #pending = new Map<Readable, string>();
  #url: string | undefined;
  #onUrl: ((url: string) => void) | undefined;
  readonly #lineListeners: Array<(line: string) => void> = [];

  /** `logPath`: write everything there; undefined: pass it on to this process's own stdout/stderr. */
  constructor(logPath: string | undefined) {
    this.#file = logPath === undefined ? undefined : createWriteStream(logPath);
    // A full disk must not take the session down: the capture will say what it lacks.
    this.#file?.on('error', () => {});
  }

  /** `passTo`: where the output goes without a log file; undefined drops it. */
  attach(stream: Readable | null, passTo: Writable | undefined): void {
    if (stream === null) return;
    stream.on('data', (chunk: Buffer) => {
      if (this.#file !== undefined) this.#file.write(chunk);
      else passTo?.write(chunk);
      this.#scan(stream, chunk.toString('utf8'));
    });
  }

  /** The first http:// URL seen, now or later. */
  onUrl(listener: (url: string) => void): void {
    if (this.#url !== undefined) listener(this.#url);
    else this.#onUrl = listener;
  }

  /**
   * Every later line, without colours: for what must not scroll out of the last lines (a tool's
   * note that its program crashed comes before its own error and the program's last output).
   */
  onLine(listener: (line: string) => void): void {
    this.#lineListeners.push(listener);
  }

  /** The last non-empty line that looks like an error, else the last line; '' when silent. */
  lastLine(): string {
    const errorLine = [...this.#tail].reverse().find((line) => /error|cannot|failed|refus|exited/i.test(line));
    return (errorLine ?? this.#tail.at(-1) ?? '').slice(0, 300);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#file === undefined || this.#file.closed) resolve();
      else this.#file.end(() => resolve());
    });
  }

  #scan(stream: Readable, text: string): void {
    const lines = ((this.#pending.get(stream) ?? '') + text).split('\n');
    this.#pending.set(stream, (lines.pop() ?? '').slice(-4096));
    for (const raw of lines) {
      // Strip terminal colours and the carriage returns of progress lines.
      const line = raw.replace(ANSI_ESCAPE, '').split('\r').at(-1)?.trim() ?? '';
      if (line === '') continue;
      this.#tail.push(line);
      if (this.#tail.length > TAIL_LINES) this.#tail.shift();
      for (const listener of this.#lineListeners) listener(line);
      if (this.#url === undefined) {
        const match = URL_PATTERN.exec(line);
        if (match !== null) {
          this.#url = match[0];
          this.#onUrl?.(this.#url);
        }
      }
    }
  }
}
