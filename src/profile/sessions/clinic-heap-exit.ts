/**
 * Preloaded (`node --import`) into programs profiled by clinic heap.
 *
 * On SIGINT, clinic heap's injected profiler stops sampling, writes the profile asynchronously and
 * calls process.exit(0) itself, while the program (the service) drains and calls process.exit() on
 * its own. Whichever comes first ends the other: seen here, the profiler's exit cut the service's
 * drain short; signalled the other way, a truncated profile ("Unexpected end of JSON input").
 * So each exit waits for the other, at most WAIT_MS, and the process ends with the program's code:
 * - the profiler's call (told apart by its stack) waits while the program still listens for
 *   SIGINT, i.e. is still draining; a program without a handler of its own is not waited for;
 * - the program's call waits for the profiler's, and first asks it to stop (clinic stops on
 *   'beforeExit'), in case the program exits for another reason than SIGINT.
 */
const WAIT_MS = 60_000;
const PROFILER_FRAME = /[\\/]@clinic[\\/]heap-profiler[\\/]/;
const realExit = process.exit.bind(process);
let profilerDone = false;
let programDone = false;
let programCode: string | number | null | undefined;

function finishIfBothDone(): void {
  if (profilerDone && (programDone || process.listenerCount('SIGINT') === 0)) realExit(programCode);
}

process.exit = ((code?: string | number | null) => {
  if (PROFILER_FRAME.test(new Error().stack ?? '')) {
    profilerDone = true;
  } else if (!programDone) {
    programDone = true;
    programCode = code ?? process.exitCode;
    if (!profilerDone) process.emit('beforeExit', Number(programCode ?? 0));
  }
  finishIfBothDone();
  // Neither party may hold the process forever.
  setTimeout(() => realExit(programDone ? programCode : code), WAIT_MS).unref();
  // The program's SIGINT listener goes away when it has drained: look again then.
  const poll = setInterval(finishIfBothDone, 20);
  poll.unref();
  return undefined as never;
}) as typeof process.exit;
