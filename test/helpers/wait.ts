/**
 * Polls `check` until it returns a value other than undefined, or fails with `what` after `timeoutMs`.
 * The default is generous: a wait costs time only when something is wrong, and on a busy 2-core
 * machine a child process can take several seconds just to start.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 20000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
