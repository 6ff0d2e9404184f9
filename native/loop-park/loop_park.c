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
 * The slot layout is mirrored in src/profile/recorder/sources/park-layout.ts.
 */
#include <node_api.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
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
  HEADER_SLOTS = 8
};
/* Entry: start (ns since base), duration (ns), kernel wait inside it (ns), polls merged. */
#define ENTRY_SLOTS 4

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
} park_state;

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

static void stop_watching(park_state* s, napi_env env) {
  if (!s->running) return;
  close_stretch(s);
  s->running = 0;
  uv_prepare_stop(&s->prepare);
  uv_check_stop(&s->check);
  if (env != NULL && s->buffer_ref != NULL) napi_delete_reference(env, s->buffer_ref);
  s->buffer_ref = NULL;
  s->slots = NULL;
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

/* start(buffer: ArrayBuffer, capacity: number, thresholdNs: number, gapNs: number): true */
static napi_value start(napi_env env, napi_callback_info info) {
  park_state* s = state_of(env);
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4)
    return throw_error(env, "start(buffer, capacity, thresholdNs, gapNs) takes four arguments");
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
  if (capacity < 1 || capacity > 1e6 || bytes < (HEADER_SLOTS + (size_t)capacity * ENTRY_SLOTS) * sizeof(double))
    return throw_error(env, "buffer too small for the capacity");
  stop_watching(s, env);
  napi_create_reference(env, argv[0], 1, &s->buffer_ref);
  s->slots = (double*)data;
  s->capacity = (uint32_t)capacity;
  s->threshold_ns = threshold;
  s->gap_ns = gap;
  s->open = 0;
  s->idle_last = uv_metrics_idle_time(s->loop);
  s->park_at = uv_hrtime() - s->base;
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
  napi_value header_slots, entry_slots;
  napi_create_uint32(env, HEADER_SLOTS, &header_slots);
  napi_create_uint32(env, ENTRY_SLOTS, &entry_slots);
  napi_set_named_property(env, exports, "headerSlots", header_slots);
  napi_set_named_property(env, exports, "entrySlots", entry_slots);
  export_function(env, exports, "start", start);
  export_function(env, exports, "stop", stop);
  export_function(env, exports, "nowMs", now_ms);
  return exports;
}
