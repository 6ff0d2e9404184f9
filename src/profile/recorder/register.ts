/**
 * Preload: `node --import service/recorder/register app.js` records any Node program with the same
 * DIAL9_* variables as `service run`. It seals the active segment on exit and on the signals that end
 * a process (raised again afterwards when the program has no handler of its own, so it dies as before).
 */
import { isMainThread } from 'node:worker_threads';
import { startRecorderFromEnv } from './index.js';

// --import also runs in every worker thread; the recorder watches the main thread only.
if (isMainThread) startRecorderFromEnv({ sealOnExit: true });
