/**
 * Where `service profile export` writes, and how: the text as it comes (honouring backpressure) to
 * a file or stdout.
 *
 * `-o PATH` behaves like a shell redirect. A regular file (or a new one) is written under a temporary
 * name and renamed at the end, so a failed export leaves nothing half written behind; through a
 * symlink, that happens at the link's target, so the link survives. Anything else (a character
 * device such as /dev/null or /dev/full, a FIFO, /dev/stdout) is written in place: renaming a file
 * over it would replace the device node, or the link to this process's stdout, with a plain file.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { lstat, readlink, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { type ErrorCode, TraceError } from '../../errors.js';

/**
 * The output could not be opened, written, flushed or renamed into place. Its own code: a full disk
 * or a missing directory is not a problem with the trace.
 */
const OUTPUT_ERROR: ErrorCode = 'SVC_ERR_EXPORT_OUTPUT';

function outputError(output: string, err: unknown): TraceError {
  // Node's fs messages are one line ("ENOSPC: no space left on device, write") but may name the
  // temporary; the user named `output`, so say that and keep the reason.
  const why = err instanceof Error ? err.message : String(err);
  const where = output === '-' ? 'stdout' : output;
  return new TraceError(OUTPUT_ERROR, `cannot write the export to ${where}: ${why}`, err);
}

/** Errors of the output itself, as opposed to those of reading or converting the trace. */
type OutputFailed = (err: unknown) => TraceError;

/** `promise`, with its rejection turned into the output's one-line error. */
function asOutputError<T>(promise: Promise<T>, failed: OutputFailed): Promise<T> {
  return promise.catch((err: unknown) => {
    throw failed(err);
  });
}

/**
 * Writes text chunks to `stream`, waiting whenever it asks to. The stream's first error is recorded
 * by a listener attached before anything is written: a write can fail (ENOSPC) while the next chunk
 * is being decoded, when nobody waits on the stream, and an 'error' without a listener would crash
 * the process with a stack trace. After that error the stream is destroyed and never drains, so
 * every step checks for it first. Errors of `chunks` (an unreadable segment) pass through as they are.
 */
async function pump(
  chunks: AsyncIterable<string> | Iterable<string>,
  stream: Writable,
  failed: OutputFailed,
): Promise<number> {
  let failure: { readonly error: unknown } | undefined;
  const onError = (error: unknown): void => {
    failure ??= { error };
  };
  stream.on('error', onError);
  try {
    let bytes = 0;
    for await (const chunk of chunks) {
      if (failure !== undefined) throw failed(failure.error);
      bytes += Buffer.byteLength(chunk);
      if (!stream.write(chunk)) await asOutputError(once(stream, 'drain'), failed);
    }
    if (failure !== undefined) throw failed(failure.error);
    return bytes;
  } finally {
    stream.off('error', onError);
  }
}

/**
 * Where `-o PATH` really goes: the last link of PATH's symlink chain (PATH itself when it is not a
 * symlink), or `undefined` when the chain goes through /proc. /dev/stdout, /dev/fd/N and
 * /proc/self/fd/N name an open file descriptor of this process; their target may be a pipe
 * ("pipe:[123]", no path at all) or a file the caller's shell opened, and the only way to write to
 * what they name is to open them, like a redirect does.
 */
async function linkTarget(path: string): Promise<string | undefined> {
  let current = resolve(path);
  // Linux gives up after 40 links (ELOOP); so do we, rather than follow a cycle forever.
  for (let hops = 0; hops <= 40; hops++) {
    if (current.startsWith('/proc/')) return undefined;
    const info = await lstat(current).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (info === undefined || !info.isSymbolicLink()) return current;
    current = resolve(dirname(current), await readlink(current));
  }
  throw new Error('ELOOP: too many levels of symbolic links');
}

type OutputPlan =
  /** Write a temporary next to `path` and rename it over `path`. */
  | { readonly kind: 'atomic'; readonly path: string }
  /** Open `path` and write into it, as `>` would. */
  | { readonly kind: 'in-place'; readonly path: string };

async function planOutput(output: string): Promise<OutputPlan> {
  const target = await linkTarget(output);
  if (target === undefined) return { kind: 'in-place', path: output };
  const info = await stat(target).catch((err: NodeJS.ErrnoException) => {
    // A new file, or a dangling symlink: a redirect creates the link's target, and so do we.
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  // A directory goes in place too: opening it fails at once with EISDIR, before any conversion,
  // instead of a rename failing after all of it.
  if (info === undefined || info.isFile()) return { kind: 'atomic', path: target };
  return { kind: 'in-place', path: output };
}

/** Opens `path` (waiting for it to open), pumps `chunks` into it, and flushes and closes it. */
async function writeFile(
  path: string,
  chunks: AsyncIterable<string> | Iterable<string>,
  failed: OutputFailed,
): Promise<number> {
  const stream = createWriteStream(path);
  // pump, `once` and `finished` each read the errors they wait for; this listener covers the rest.
  // Destroyed after a failure (the trace's or the output's) with a write still in flight, the
  // stream reports ERR_STREAM_DESTROYED for that write, and an 'error' nobody listens to would kill
  // the process with a stack trace, before the temporary is removed.
  stream.on('error', () => undefined);
  try {
    await asOutputError(once(stream, 'open'), failed);
    const bytes = await pump(chunks, stream, failed);
    stream.end();
    // Resolves once the data is written and the descriptor closed; rejects on a write that failed
    // after the last chunk, the one that most often meets a full disk.
    await asOutputError(finished(stream), failed);
    return bytes;
  } finally {
    // Closed before returning: the caller removes the temporary next.
    if (!stream.closed) {
      const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
      stream.destroy();
      await closed;
    }
  }
}

async function writeAtomically(
  path: string,
  chunks: AsyncIterable<string> | Iterable<string>,
  failed: OutputFailed,
): Promise<number> {
  // In the target's own directory: rename(2) is atomic only within one file system.
  const temporary = `${path}.partial-${process.pid}`;
  try {
    const bytes = await writeFile(temporary, chunks, failed);
    await asOutputError(rename(temporary, path), failed);
    return bytes;
  } catch (err) {
    // Whatever failed (the trace, a write, the rename), leave no temporary behind; a failure to
    // remove it must not hide the error that matters.
    await rm(temporary, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** Writes `chunks` to `output` (`-` for stdout); `file`: a file to open later, not a stream or device. */
export async function writeOutput(
  output: string,
  chunks: AsyncIterable<string> | Iterable<string>,
): Promise<{ bytes: number; file: boolean }> {
  const failed: OutputFailed = (err) => outputError(output, err);
  if (output === '-') return { bytes: await pump(chunks, process.stdout, failed), file: false };
  const plan = await asOutputError(planOutput(output), failed);
  if (plan.kind === 'atomic') return { bytes: await writeAtomically(plan.path, chunks, failed), file: true };
  return { bytes: await writeFile(plan.path, chunks, failed), file: false };
}
