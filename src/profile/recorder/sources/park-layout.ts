/**
 * The slots of the buffer shared with the loop-park addon (native/loop-park/loop_park.c keeps the
 * same numbers): a Float64Array header, a ring of idle stretches, then a ring of stalls. Both sides run on the main
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
/** Stalls the addon has written (it only ever grows). */
export const SLOT_STALL_WRITE = 7;
/** Stalls JavaScript has consumed. */
export const SLOT_STALL_READ = 8;
/** Stalls the addon dropped because their ring was full. */
export const SLOT_STALL_DROPPED = 9;
/** The longest busy stretch (unpark to park) since JavaScript last reset it, ns. */
export const SLOT_BUSY_MAX_NS = 10;
/** Start of the busy stretch under way (the last unpark), ns since the addon's base. */
export const SLOT_UNPARK_NS = 11;
export const HEADER_SLOTS = 16;
/** start (ns since the addon's base), duration (ns), kernel wait inside it (ns), polls in it. */
export const ENTRY_SLOTS = 4;
/**
 * A stall: start (ns since the addon's base), duration (ns), the request that ran code in it (0:
 * none), requests in flight (the more of its start and end), main-thread CPU (ns) over the window
 * (ns) that ends with it.
 */
export const STALL_SLOTS = 6;
