/**
 * Preloaded (`node --import`) into programs profiled by cpu, heap, recorder and 0x.
 *
 * V8's --cpu-prof and --heap-prof write only when the process exits normally, and 0x's own preload
 * answers SIGINT/SIGTERM with an immediate process.exit(), which would cut the service's drain short.
 * So: listeners that preloads installed before this one (0x's) are removed, and a fallback takes
 * their place that exits normally on SIGINT/SIGTERM, but only when the program has no listener of
 * its own. The service has one (it drains, then exits); a plain script without one still exits
 * normally, so its profile is written.
 */
const SIGNAL_EXIT_CODES: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };

for (const [signal, exitCode] of Object.entries(SIGNAL_EXIT_CODES)) {
  process.removeAllListeners(signal);
  const fallback = (): void => {
    if (process.listenerCount(signal) === 1) process.exit(exitCode);
  };
  process.on(signal, fallback);
}
