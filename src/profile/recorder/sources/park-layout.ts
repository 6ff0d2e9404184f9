/**
 * The slots of the buffer shared with the loop-park addon (native/loop-park/loop_park.c keeps the
 * same numbers): a Float64Array header, then a ring of idle stretches. Both sides run on the main
 * thread (libuv's prepare/check callbacks and JavaScript never interleave), so plain reads and
 * writes are enough.
 */

/** Stretches the addon has written (it only ever grows). */
export const SLOT_WRITE = 0;
/** Stretches JavaScript has consumed. */
export const SLOT_READ = 1;
/** Stretches the addon dropped because the ring was full. */
export const SLOT_DROPPED = 2;
/** Polls (parks) so far. */
export const SLOT_PARKS = 3;
/** Kernel wait over every poll so far, ns. */
export const SLOT_IDLE_NS = 4;
/** The recorder's own main-thread time since the last park, ns: added by JavaScript, reset by the addon. */
export const SLOT_OWN_NS = 5;
/** Recorder wake-ups folded into an idle stretch so far. */
export const SLOT_MERGED = 6;
export const HEADER_SLOTS = 8;
/** start (ns since the addon's base), duration (ns), kernel wait inside it (ns), polls in it. */
export const ENTRY_SLOTS = 4;
