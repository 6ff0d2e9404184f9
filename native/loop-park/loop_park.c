/*
 * loop_park: when the event loop parks (waits in the kernel for I/O or a timer) and unparks, read
 * from libuv without any call into JavaScript per loop iteration.
 *
 * A uv_prepare_t runs just before the loop polls: the park. A uv_check_t runs just after the poll
 * phase: by then the poll's I/O callbacks have run too, so the time parked is not "prepare to
 * check" but libuv's own idle-time counter (uv_metrics_idle_time, the kernel wait only; Node turns
 * it on for eventLoopUtilization). One uv_hrtime() call per iteration (at prepare) and one
 * idle-time read (at check); nothing allocated.
 *
 * Consecutive parks are one idle stretch when what ran between them was only the recorder's own
 * work (its 10 ms watch timer and the like, reported by JavaScript in the OWN_NS slot) plus at most
 * `gapNs` of loop overhead: otherwise the recorder's own ticks would chop every quiet second into
 * 10 ms pieces. A stretch of at least `thresholdNs` goes into a ring in an ArrayBuffer JavaScript
 * created and handed in; JavaScript drains it on its own timer. A full ring drops and counts.
 *
 * Stalls come from here too: a busy stretch (unpark to the next park) of at least `stallNs` is one
 * long stretch of main-thread work, measured exactly, with no timer in JavaScript that has to wake
 * the loop every 10 ms to notice it. It goes into a second ring with the request that ran code in
 * it and the requests in flight (both from the heartbeat, which JavaScript updates on every request
 * event) and the main thread's CPU time over a window that starts at most CPU_READ_NS before it.
 * Every unpark is also the heartbeat's sign of life: the writer thread's watchdog sees a hang start
 * at the last unpark.
 *
 * The slot layout is mirrored in src/profile/recorder/sources/park-layout.ts.
 */
#include <node_api.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

/* Header slots (doubles). */
enum {
  SLOT_WRITE = 0,   /* stretches written (C) */
  SLOT_READ = 1,    /* stretches consumed (JS) */
  SLOT_DROPPED = 2, /* stretches dropped, ring full (C) */
  SLOT_PARKS = 3,   /* polls (C) */
  SLOT_IDLE_NS = 4, /* kernel wait over all polls, ns (C) */
  SLOT_OWN_NS = 5,  /* recorder's own time since the last park, ns (JS adds, C resets) */
  SLOT_MERGED = 6,  /* recorder wake-ups folded into a stretch (C) */
  SLOT_STALL_WRITE = 7,   /* stalls written (C) */
  SLOT_STALL_READ = 8,    /* stalls consumed (JS) */
  SLOT_STALL_DROPPED = 9, /* stalls dropped, ring full (C) */
  SLOT_BUSY_MAX_NS = 10,  /* longest busy stretch since JS last reset it (C raises, JS resets) */
  SLOT_UNPARK_NS = 11,    /* start of the busy stretch under way (C) */
  HEADER_SLOTS = 16
};
/* Entry: start (ns since base), duration (ns), kernel wait inside it (ns), polls merged. */
#define ENTRY_SLOTS 4
/* Stall entry: start (ns since base), duration (ns), request, in flight, CPU (ns), CPU window (ns). */
#define STALL_SLOTS 6
/* Heartbeat slots (doubles, shared with the writer thread), as in src/profile/recorder/heartbeat.ts. */
enum {
  BEAT_MS = 0,
  BEAT_REQUEST = 1,
  BEAT_REQUEST_AT_MS = 2,
  BEAT_IN_FLIGHT = 3,
  BEAT_OTHER_REQUEST = 4,
  BEAT_OTHER_REQUEST_AT_MS = 5,
  BEAT_IN_FLIGHT_PEAK = 6,
  BEAT_SLOTS = 7
};
/* The heartbeat counter's value once JavaScript stopped the recorder. */
#define BEAT_STOPPED (-1)
/* The main thread's CPU clock is read at a park when the last read is older than this: a stall's CPU
 * window starts at most this much busy time before it, for at most one read (a system call) per period. */
#define CPU_READ_NS 2000000.0

typedef struct {
  uv_loop_t* loop;
  uv_prepare_t prepare;
  uv_check_t check;
  napi_async_cleanup_hook_handle cleanup;
  int closing;
  napi_ref buffer_ref;
  double* slots;
  uint32_t capacity;
  int running;
  uint64_t base;
  double threshold_ns;
  double gap_ns;
  uint64_t park_at;
  uint64_t idle_last;
  int open;
  double open_start;
  double open_end;
  double open_wait;
  double open_parks;
  /* Stalls: their ring (after the idle ring in `slots`), the heartbeat, the CPU clock. */
  double* stalls;
  uint32_t stall_capacity;
  double stall_ns;
  double* beat;
  int32_t* beat_count;
  napi_ref beat_ref;
  napi_ref count_ref;
  double offset_ms;
  double unpark_at;
  double cpu_read_at;
  double cpu_at_read;
  double idle_at_read;
  /* At the check after the stretch's poll: its time, and the request that had run code by then. */
  double check_at;
  double request_at_check;
} park_state;

/* The request that last ran code since `start_ms` (main clock), the service's own preferred; 0 if none. */
static double request_since(const double* beat, double start_ms) {
  if (beat[BEAT_REQUEST_AT_MS] >= start_ms) return beat[BEAT_REQUEST];
  if (beat[BEAT_OTHER_REQUEST_AT_MS] >= start_ms) return beat[BEAT_OTHER_REQUEST];
  return 0;
}

static double thread_cpu_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The main thread's CPU clock, read now (`now`: ns since base). */
static void read_cpu(park_state* s, double now) {
  s->cpu_at_read = thread_cpu_ns();
  s->cpu_read_at = now;
  s->idle_at_read = s->slots[SLOT_IDLE_NS];
}

/*
 * At a park (`now`: ns since base), the busy stretch since the last unpark is a stall if long enough.
 * Its CPU is the main thread's since the last read, over the time since then minus the kernel waits
 * (the thread uses no CPU while it waits), so an idle wait before the stall does not dilute it.
 */
static void end_busy(park_state* s, double now) {
  double busy = now - s->unpark_at;
  double* slots = s->slots;
  if (busy > slots[SLOT_BUSY_MAX_NS]) slots[SLOT_BUSY_MAX_NS] = busy;
  if (busy < s->stall_ns || s->stalls == NULL) return;
  double written = slots[SLOT_STALL_WRITE];
  if (written - slots[SLOT_STALL_READ] >= s->stall_capacity) {
    slots[SLOT_STALL_DROPPED] += 1;
    return;
  }
  double start_ms = s->unpark_at / 1e6 + s->offset_ms;
  double request = 0, in_flight = 0;
  if (s->beat != NULL) {
    /* The request that ran code in the longer part of the stretch: its poll's I/O callbacks (unpark
     * to check), or what followed (immediates, timers due meanwhile, up to this park). A timer that
     * was due during a long request handler runs after it, and its own request, last to run code,
     * would otherwise take the blame. The most requests in flight at any point of the stretch (a
     * request that opened, stalled and closed counts). */
    double late = request_since(s->beat, start_ms);
    double in_io = s->check_at >= s->unpark_at ? s->request_at_check : 0;
    int io_longer = s->check_at >= s->unpark_at && 2 * (s->check_at - s->unpark_at) >= busy;
    request = (io_longer && in_io != 0) || late == 0 ? in_io : late;
    in_flight = s->beat[BEAT_IN_FLIGHT_PEAK];
  }
  double cpu = thread_cpu_ns();
  double window = now - s->cpu_read_at - (slots[SLOT_IDLE_NS] - s->idle_at_read);
  double* entry = s->stalls + ((uint64_t)written % s->stall_capacity) * STALL_SLOTS;
  entry[0] = s->unpark_at;
  entry[1] = busy;
  entry[2] = request;
  entry[3] = in_flight;
  entry[4] = cpu - s->cpu_at_read;
  entry[5] = window > busy ? window : busy;
  slots[SLOT_STALL_WRITE] = written + 1;
  /* The next stall's window starts here. */
  s->cpu_at_read = cpu;
  s->cpu_read_at = now;
  s->idle_at_read = slots[SLOT_IDLE_NS];
}

/* A sign of life at `at` (ns since base) for the watchdog: plain stores before the atomic bump. */
static void beat(park_state* s, double at) {
  if (s->beat == NULL) return;
  int32_t count = __atomic_load_n(s->beat_count, __ATOMIC_SEQ_CST);
  if (count == BEAT_STOPPED) return;
  s->beat[BEAT_MS] = at / 1e6 + s->offset_ms;
  __atomic_store_n(s->beat_count, (count + 1) & 0x3fffffff, __ATOMIC_SEQ_CST);
}

static void close_stretch(park_state* s) {
  if (!s->open) return;
  s->open = 0;
  if (s->open_end - s->open_start < s->threshold_ns) return;
  double* slots = s->slots;
  double written = slots[SLOT_WRITE];
  if (written - slots[SLOT_READ] >= s->capacity) {
    slots[SLOT_DROPPED] += 1;
    return;
  }
  double* entry = slots + HEADER_SLOTS + ((uint64_t)written % s->capacity) * ENTRY_SLOTS;
  entry[0] = s->open_start;
  entry[1] = s->open_end - s->open_start;
  entry[2] = s->open_wait;
  entry[3] = s->open_parks;
  slots[SLOT_WRITE] = written + 1;
}

static void on_prepare(uv_prepare_t* handle) {
  park_state* s = (park_state*)handle->data;
  double now = (double)(uv_hrtime() - s->base);
  end_busy(s, now);
  /* Everything here happens before the wait: no JavaScript runs between this and the next stretch. */
  beat(s, now);
  if (s->beat != NULL) s->beat[BEAT_IN_FLIGHT_PEAK] = s->beat[BEAT_IN_FLIGHT];
  if (s->stalls != NULL && now - s->cpu_read_at >= CPU_READ_NS) read_cpu(s, now);
  if (s->open) {
    double own = s->slots[SLOT_OWN_NS];
    double busy = now - s->open_end;
    if (own > 0 && busy <= own + s->gap_ns)
      s->slots[SLOT_MERGED] += 1;
    else
      close_stretch(s);
  }
  s->slots[SLOT_OWN_NS] = 0;
  s->park_at = (uint64_t)now;
}

static void on_check(uv_check_t* handle) {
  park_state* s = (park_state*)handle->data;
  uint64_t idle = uv_metrics_idle_time(s->loop);
  double wait = (double)(idle - s->idle_last);
  s->idle_last = idle;
  double* slots = s->slots;
  slots[SLOT_PARKS] += 1;
  slots[SLOT_IDLE_NS] += wait;
  double end = (double)s->park_at + wait;
  /* Check runs after the poll's I/O callbacks: the stretch began when the wait ended, before them. */
  s->unpark_at = end;
  slots[SLOT_UNPARK_NS] = end;
  beat(s, end);
  if (s->beat != NULL) {
    s->check_at = (double)(uv_hrtime() - s->base);
    s->request_at_check = request_since(s->beat, end / 1e6 + s->offset_ms);
  }
  if (s->open) {
    s->open_end = end;
    s->open_wait += wait;
    s->open_parks += 1;
  } else {
    s->open = 1;
    s->open_start = (double)s->park_at;
    s->open_end = end;
    s->open_wait = wait;
    s->open_parks = 1;
  }
}

static void delete_ref(napi_env env, napi_ref* ref) {
  if (env != NULL && *ref != NULL) napi_delete_reference(env, *ref);
  *ref = NULL;
}

static void stop_watching(park_state* s, napi_env env) {
  if (!s->running) return;
  close_stretch(s);
  /* A program that ends inside a stall has no park after it: the stretch under way is measured now. */
  end_busy(s, (double)(uv_hrtime() - s->base));
  s->running = 0;
  uv_prepare_stop(&s->prepare);
  uv_check_stop(&s->check);
  delete_ref(env, &s->buffer_ref);
  delete_ref(env, &s->beat_ref);
  delete_ref(env, &s->count_ref);
  s->slots = NULL;
  s->stalls = NULL;
  s->beat = NULL;
  s->beat_count = NULL;
}

/* The data of a typed array of `type` (its buffer may be shared) holding at least `count` elements. */
static void* typed_data(napi_env env, napi_value value, napi_typedarray_type type, size_t count) {
  bool is_typed = false;
  napi_is_typedarray(env, value, &is_typed);
  if (!is_typed) return NULL;
  napi_typedarray_type actual;
  size_t length = 0;
  void* data = NULL;
  if (napi_get_typedarray_info(env, value, &actual, &length, &data, NULL, NULL) != napi_ok) return NULL;
  if (actual != type || length < count) return NULL;
  return data;
}

static void on_closed(uv_handle_t* handle) {
  park_state* s = (park_state*)handle->data;
  if (--s->closing > 0) return;
  napi_remove_async_cleanup_hook(s->cleanup);
  free(s);
}

/* The environment is going away (process exit, worker end): close the handles, then free. */
static void on_env_cleanup(napi_async_cleanup_hook_handle hook, void* data) {
  park_state* s = (park_state*)data;
  (void)hook;
  s->running = 0;
  uv_prepare_stop(&s->prepare);
  uv_check_stop(&s->check);
  s->closing = 2;
  uv_close((uv_handle_t*)&s->prepare, on_closed);
  uv_close((uv_handle_t*)&s->check, on_closed);
}

static park_state* state_of(napi_env env) {
  void* data = NULL;
  napi_get_instance_data(env, &data);
  return (park_state*)data;
}

static napi_value throw_error(napi_env env, const char* message) {
  napi_throw_error(env, "ERR_LOOP_PARK", message);
  return NULL;
}

/*
 * start(buffer: ArrayBuffer, capacity: number, thresholdNs: number, gapNs: number,
 *       stallCapacity: number, stallNs: number, beat: Float64Array, beatCount: Int32Array,
 *       offsetMs: number): true
 * The stall ring follows the idle ring in `buffer`; `beat` and `beatCount` are the heartbeat's views
 * (shared memory); `offsetMs` is performance.now() minus nowMs().
 */
static napi_value start(napi_env env, napi_callback_info info) {
  park_state* s = state_of(env);
  size_t argc = 9;
  napi_value argv[9];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 9)
    return throw_error(env,
                       "start(buffer, capacity, thresholdNs, gapNs, stallCapacity, stallNs, beat, beatCount, offsetMs) "
                       "takes nine arguments");
  bool is_buffer = false;
  napi_is_arraybuffer(env, argv[0], &is_buffer);
  if (!is_buffer) return throw_error(env, "buffer must be an ArrayBuffer");
  void* data = NULL;
  size_t bytes = 0;
  napi_get_arraybuffer_info(env, argv[0], &data, &bytes);
  double capacity = 0, threshold = 0, gap = 0;
  napi_get_value_double(env, argv[1], &capacity);
  napi_get_value_double(env, argv[2], &threshold);
  napi_get_value_double(env, argv[3], &gap);
  double stall_capacity = 0, stall_ns = 0, offset_ms = 0;
  napi_get_value_double(env, argv[4], &stall_capacity);
  napi_get_value_double(env, argv[5], &stall_ns);
  napi_get_value_double(env, argv[8], &offset_ms);
  if (capacity < 1 || capacity > 1e6 || stall_capacity < 1 || stall_capacity > 1e6 ||
      bytes < (HEADER_SLOTS + (size_t)capacity * ENTRY_SLOTS + (size_t)stall_capacity * STALL_SLOTS) * sizeof(double))
    return throw_error(env, "buffer too small for the capacities");
  double* beat_slots = (double*)typed_data(env, argv[6], napi_float64_array, BEAT_SLOTS);
  int32_t* beat_count = (int32_t*)typed_data(env, argv[7], napi_int32_array, 1);
  if (beat_slots == NULL || beat_count == NULL)
    return throw_error(env, "beat must be a Float64Array of 7 and beatCount an Int32Array of 1");
  stop_watching(s, env);
  napi_create_reference(env, argv[0], 1, &s->buffer_ref);
  napi_create_reference(env, argv[6], 1, &s->beat_ref);
  napi_create_reference(env, argv[7], 1, &s->count_ref);
  s->slots = (double*)data;
  s->stalls = s->slots + HEADER_SLOTS + (size_t)capacity * ENTRY_SLOTS;
  s->stall_capacity = (uint32_t)stall_capacity;
  s->stall_ns = stall_ns;
  s->beat = beat_slots;
  s->beat_count = beat_count;
  s->offset_ms = offset_ms;
  s->capacity = (uint32_t)capacity;
  s->threshold_ns = threshold;
  s->gap_ns = gap;
  s->open = 0;
  s->idle_last = uv_metrics_idle_time(s->loop);
  s->park_at = uv_hrtime() - s->base;
  /* Busy from here until the first park: a start-up that blocks the loop is a stall like any other. */
  s->unpark_at = (double)s->park_at;
  s->slots[SLOT_UNPARK_NS] = s->unpark_at;
  beat_slots[BEAT_IN_FLIGHT_PEAK] = beat_slots[BEAT_IN_FLIGHT];
  read_cpu(s, s->unpark_at);
  s->check_at = -1;
#ifdef SIGPROF
  /* A sampling CPU profiler (V8's, ours at DIAL9_CPU_PROFILE_ENABLED) sends SIGPROF every sample:
   * each one interrupts the poll, and libuv restarts its idle-time clock on the retry, so a 300 ms
   * wait would count as its last few ms. Blocked while polling (libuv's option for exactly this;
   * Node sets it under --prof), the signal is taken as the poll returns: still an idle sample. */
  uv_loop_configure(s->loop, UV_LOOP_BLOCK_SIGNAL, SIGPROF);
#endif
  s->running = 1;
  uv_prepare_start(&s->prepare, on_prepare);
  uv_check_start(&s->check, on_check);
  napi_value result;
  napi_get_boolean(env, true, &result);
  return result;
}

/* stop(): closes the open stretch (written if long enough) and stops watching. */
static napi_value stop(napi_env env, napi_callback_info info) {
  (void)info;
  stop_watching(state_of(env), env);
  return NULL;
}

/* nowMs(): uv_hrtime() since the module's base, in ms: for calibrating against performance.now(). */
static napi_value now_ms(napi_env env, napi_callback_info info) {
  (void)info;
  park_state* s = state_of(env);
  napi_value result;
  napi_create_double(env, (double)(uv_hrtime() - s->base) / 1e6, &result);
  return result;
}

static napi_status export_function(napi_env env, napi_value exports, const char* name, napi_callback fn) {
  napi_value value;
  napi_status status = napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &value);
  if (status != napi_ok) return status;
  return napi_set_named_property(env, exports, name, value);
}

NAPI_MODULE_INIT() {
  park_state* s = (park_state*)calloc(1, sizeof(park_state));
  if (s == NULL) {
    napi_throw_error(env, "ERR_LOOP_PARK", "out of memory");
    return NULL;
  }
  if (napi_get_uv_event_loop(env, &s->loop) != napi_ok) {
    free(s);
    napi_throw_error(env, "ERR_LOOP_PARK", "no libuv loop");
    return NULL;
  }
  s->base = uv_hrtime();
  uv_prepare_init(s->loop, &s->prepare);
  uv_check_init(s->loop, &s->check);
  s->prepare.data = s;
  s->check.data = s;
  /* Watching never keeps the process alive. */
  uv_unref((uv_handle_t*)&s->prepare);
  uv_unref((uv_handle_t*)&s->check);
  napi_set_instance_data(env, s, NULL, NULL);
  napi_add_async_cleanup_hook(env, on_env_cleanup, s, &s->cleanup);
  napi_value header_slots, entry_slots, stall_slots;
  napi_create_uint32(env, HEADER_SLOTS, &header_slots);
  napi_create_uint32(env, ENTRY_SLOTS, &entry_slots);
  napi_create_uint32(env, STALL_SLOTS, &stall_slots);
  napi_set_named_property(env, exports, "headerSlots", header_slots);
  napi_set_named_property(env, exports, "entrySlots", entry_slots);
  napi_set_named_property(env, exports, "stallSlots", stall_slots);
  export_function(env, exports, "start", start);
  export_function(env, exports, "stop", stop);
  export_function(env, exports, "nowMs", now_ms);
  return exports;
}
