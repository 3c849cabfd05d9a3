/* supervisor: see supervisor.h. Heartbeats are monotonic milliseconds stored atomically
 * so delivery threads can beat without a lock; everything else about a task belongs to
 * the loop thread. Wall-clock times for the API are derived when a snapshot is taken. */
#include "supervisor/supervisor.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

#define LOOP_BEAT_MS 250
#define WATCHDOG_POLL_MS 250
#define MAX_TYPES 16

struct type_count {
    char type[32];
    uint64_t restarts;
    uint64_t failures;
};

struct lc_task {
    struct lc_task *prev, *next;
    struct lc_supervisor *sup;
    char id[LC_SNAP_ID_MAX];
    char type[32];
    char name[LC_SNAP_NAME_MAX];
    char owner[LC_SNAP_INSTANCE_MAX];
    const struct lc_task_ops *ops;
    void *ud;
    enum lc_task_state state;
    uint64_t started_ms;
    uint64_t last_beat_ms;     /* atomic */
    uint64_t last_progress_ms; /* atomic; 0 = never */
    uint64_t restarts;
    unsigned consecutive;     /* failures without progress since */
    uint64_t restart_at_ms;   /* while stalled, restarting or failed */
    uint64_t stalled_beat_ms; /* no restart op: the beat a stall was judged on; 0 = none */
    uint64_t timeout_ms;      /* 0: the supervisor's task_timeout */
    int wedged;               /* atomic: beats are ignored */
    char last_error[LC_SNAP_ERROR_MAX];
};

struct lc_supervisor {
    uv_loop_t *loop;
    pthread_mutex_t lock; /* a task's state, error and counters (delivery threads set them) */
    struct lc_supervisor_config cfg;
    struct lc_snapshot_box *box;
    struct lc_task *tasks;
    size_t n_tasks;
    struct type_count types[MAX_TYPES];
    size_t n_types;
    uint64_t last_restart_ms;
    uv_timer_t check_timer;
    uv_timer_t beat_timer;
    int open_handles;
    pthread_t watchdog;
    int watchdog_running;
    int stopping; /* atomic */
};

/* ---- per-type counters ---------------------------------------------------------- */

static struct type_count *type_of(struct lc_supervisor *s, const char *type)
{
    for (size_t i = 0; i < s->n_types; i++) {
        if (strcmp(s->types[i].type, type) == 0) {
            return &s->types[i];
        }
    }
    if (s->n_types == MAX_TYPES) {
        return &s->types[MAX_TYPES - 1]; /* types are a fixed small set */
    }
    snprintf(s->types[s->n_types].type, sizeof(s->types[0].type), "%s", type);
    return &s->types[s->n_types++];
}

/* ---- tasks ------------------------------------------------------------------------ */

struct lc_task *lc_task_create(struct lc_supervisor *s, const char *id, const char *type,
                               const struct lc_task_ops *ops, void *ud)
{
    struct lc_task *t = lc_xcalloc(1, sizeof(*t));
    uint64_t now = lc_now_ms();
    t->sup = s;
    snprintf(t->id, sizeof(t->id), "%s", id);
    snprintf(t->type, sizeof(t->type), "%s", type);
    t->ops = ops;
    t->ud = ud;
    t->state = LC_TASK_STARTING;
    t->started_ms = now;
    t->last_beat_ms = now;
    pthread_mutex_lock(&s->lock);
    type_of(s, type);
    t->next = s->tasks;
    if (s->tasks != NULL) {
        s->tasks->prev = t;
    }
    s->tasks = t;
    s->n_tasks++;
    pthread_mutex_unlock(&s->lock);
    return t;
}

void lc_task_destroy(struct lc_task *t)
{
    struct lc_supervisor *s;
    if (t == NULL) {
        return;
    }
    s = t->sup;
    pthread_mutex_lock(&s->lock);
    if (t->prev != NULL) {
        t->prev->next = t->next;
    } else {
        s->tasks = t->next;
    }
    if (t->next != NULL) {
        t->next->prev = t->prev;
    }
    s->n_tasks--;
    pthread_mutex_unlock(&s->lock);
    free(t);
}

void lc_task_beat(struct lc_task *t)
{
    if (!__atomic_load_n(&t->wedged, __ATOMIC_RELAXED)) {
        __atomic_store_n(&t->last_beat_ms, lc_now_ms(), __ATOMIC_RELAXED);
    }
}

void lc_task_progress(struct lc_task *t)
{
    if (!__atomic_load_n(&t->wedged, __ATOMIC_RELAXED)) {
        uint64_t now = lc_now_ms();
        __atomic_store_n(&t->last_beat_ms, now, __ATOMIC_RELAXED);
        __atomic_store_n(&t->last_progress_ms, now, __ATOMIC_RELAXED);
    }
}

void lc_task_set_state(struct lc_task *t, enum lc_task_state state)
{
    pthread_mutex_lock(&t->sup->lock);
    if (t->state != state && (t->state == LC_TASK_STALLED || t->state == LC_TASK_FAILED) &&
        t->restart_at_ms != 0) {
        state = t->state; /* the watchdog's restart is pending: it decides */
    }
    if (t->state != state && (state == LC_TASK_RUNNING || state == LC_TASK_STARTING)) {
        /* Coming back to life: the silence before does not count. */
        lc_task_beat(t);
    }
    t->stalled_beat_ms = 0; /* the owner's verdict replaces the watchdog's */
    if (state == LC_TASK_RESTARTING && t->consecutive >= LC_TASK_FAILED_AFTER) {
        state = LC_TASK_FAILED;
    }
    t->state = state;
    pthread_mutex_unlock(&t->sup->lock);
}

enum lc_task_state lc_task_state(const struct lc_task *t)
{
    enum lc_task_state st;
    pthread_mutex_lock(&t->sup->lock);
    st = t->state;
    pthread_mutex_unlock(&t->sup->lock);
    return st;
}

void lc_task_error(struct lc_task *t, int err, const char *fmt, ...)
{
    va_list ap;
    int n;
    pthread_mutex_lock(&t->sup->lock);
    va_start(ap, fmt);
    n = vsnprintf(t->last_error, sizeof(t->last_error), fmt, ap);
    va_end(ap);
    if (err != 0 && n >= 0 && (size_t)n < sizeof(t->last_error)) {
        snprintf(t->last_error + n, sizeof(t->last_error) - (size_t)n, ": %s",
                 strerror(err < 0 ? -err : err));
    }
    t->consecutive++;
    if (t->consecutive == LC_TASK_FAILED_AFTER) {
        type_of(t->sup, t->type)->failures++;
        lc_log(LC_LOG_ERROR, 0, "[supervisor] task %s keeps failing: %s", t->id, t->last_error);
    }
    pthread_mutex_unlock(&t->sup->lock);
}

void lc_task_ok(struct lc_task *t)
{
    pthread_mutex_lock(&t->sup->lock);
    t->consecutive = 0;
    t->last_error[0] = '\0';
    pthread_mutex_unlock(&t->sup->lock);
}

void lc_task_set_name(struct lc_task *t, const char *container_name)
{
    snprintf(t->name, sizeof(t->name), "%s", container_name);
}

void lc_task_set_owner(struct lc_task *t, const char *owner)
{
    snprintf(t->owner, sizeof(t->owner), "%s", owner);
}

void lc_task_set_timeout(struct lc_task *t, uint64_t timeout_ms)
{
    t->timeout_ms = timeout_ms;
}

const char *lc_task_id(const struct lc_task *t)
{
    return t->id;
}

int lc_task_wedged(const struct lc_task *t)
{
    return __atomic_load_n(&t->wedged, __ATOMIC_RELAXED);
}

int lc_supervisor_wedge(struct lc_supervisor *s, const char *task_id)
{
    for (struct lc_task *t = s->tasks; t != NULL; t = t->next) {
        if (strcmp(t->id, task_id) == 0) {
            lc_log(LC_LOG_WARN, 0, "[supervisor] test hook: wedging task %s", t->id);
            __atomic_store_n(&t->wedged, 1, __ATOMIC_RELAXED);
            return 0;
        }
    }
    return -ENOENT;
}

/* ---- watchdog check --------------------------------------------------------------- */

static uint64_t backoff_for(const struct lc_supervisor *s, unsigned failures)
{
    uint64_t b = s->cfg.backoff_min_ms;
    for (unsigned i = 1; i < failures && b < s->cfg.backoff_max_ms; i++) {
        b *= 2;
    }
    return b < s->cfg.backoff_max_ms ? b : s->cfg.backoff_max_ms;
}

/* Marks T stalled (or failed), counted and logged. A task with a restart op is restarted
 * after the backoff; one without (the spool writer: nothing can unblock a write stuck in
 * the kernel) is only shown, until it beats again. BEAT is the heartbeat it was judged on. */
static void stall(struct lc_supervisor *s, struct lc_task *t, uint64_t now, uint64_t beat)
{
    uint64_t silent = now - beat;
    t->consecutive++;
    type_of(s, t->type)->failures++;
    t->state = t->consecutive >= LC_TASK_FAILED_AFTER ? LC_TASK_FAILED : LC_TASK_STALLED;
    if (t->ops == NULL) {
        snprintf(t->last_error, sizeof(t->last_error), "no heartbeat for %llu s",
                 (unsigned long long)(silent / 1000));
        t->stalled_beat_ms = beat;
        lc_log(LC_LOG_ERROR, 0,
               "[supervisor] task %s stalled (no heartbeat for %llu ms); it cannot be "
               "restarted: shown %s until it beats again",
               t->id, (unsigned long long)silent, lc_task_state_name(t->state));
        return;
    }
    snprintf(t->last_error, sizeof(t->last_error), "no heartbeat for %llu s; restarted",
             (unsigned long long)(silent / 1000));
    t->restart_at_ms = now + backoff_for(s, t->consecutive);
    lc_log(LC_LOG_ERROR, 0,
           "[supervisor] task %s stalled (no heartbeat for %llu ms); "
           "restarting in %llu ms",
           t->id, (unsigned long long)silent, (unsigned long long)(t->restart_at_ms - now));
}

/* A task without a restart op that the watchdog found stalled runs again once it beats
 * again (a write that hung in the kernel returned). */
static void unstall_if_beating(struct lc_task *t, uint64_t beat)
{
    if (t->stalled_beat_ms != 0 && beat > t->stalled_beat_ms &&
        (t->state == LC_TASK_STALLED || t->state == LC_TASK_FAILED)) {
        t->stalled_beat_ms = 0;
        t->state = LC_TASK_RUNNING;
        lc_log(LC_LOG_WARN, 0, "[supervisor] task %s beats again", t->id);
    }
}

static void restart(struct lc_supervisor *s, struct lc_task *t, uint64_t now)
{
    pthread_mutex_lock(&s->lock);
    t->restarts++;
    type_of(s, t->type)->restarts++;
    s->last_restart_ms = now;
    t->started_ms = now;
    t->state = LC_TASK_STARTING;
    pthread_mutex_unlock(&s->lock);
    __atomic_store_n(&t->wedged, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&t->last_beat_ms, now, __ATOMIC_RELAXED);
    lc_log(LC_LOG_WARN, 0, "[supervisor] restarting task %s (restart %llu)", t->id,
           (unsigned long long)t->restarts);
    t->ops->restart(t->ud);
}

/* Decides what the watchdog does with T now. Lock held. Returns 1 when T is to be
 * restarted (done by the caller without the lock: the owner's callback may log, start
 * requests or query the task). */
static int check_task(struct lc_supervisor *s, struct lc_task *t, uint64_t now_ms)
{
    uint64_t beat = __atomic_load_n(&t->last_beat_ms, __ATOMIC_RELAXED);
    uint64_t progress = __atomic_load_n(&t->last_progress_ms, __ATOMIC_RELAXED);
    uint64_t limit = t->timeout_ms ? t->timeout_ms : s->cfg.task_timeout_ms;
    if (t->ops == NULL) {
        unstall_if_beating(t, beat);
    }
    if (t->consecutive > 0 && t->state == LC_TASK_RUNNING && progress > t->started_ms) {
        t->consecutive = 0; /* it moved data since its last (re)start: healthy again */
    }
    if ((t->state == LC_TASK_STARTING || t->state == LC_TASK_RUNNING) && now_ms > beat &&
        now_ms - beat > limit) {
        stall(s, t, now_ms, beat);
        return 0;
    }
    if ((t->state == LC_TASK_STALLED || t->state == LC_TASK_FAILED) && t->restart_at_ms != 0 &&
        now_ms >= t->restart_at_ms) {
        t->restart_at_ms = 0;
        return 1;
    }
    return 0;
}

void lc_supervisor_check(struct lc_supervisor *s, uint64_t now_ms)
{
    struct lc_task *t = s->tasks, *next;
    for (; t != NULL; t = next) {
        int do_restart;
        next = t->next; /* a restart may destroy and recreate tasks behind us */
        pthread_mutex_lock(&s->lock);
        do_restart = check_task(s, t, now_ms);
        pthread_mutex_unlock(&s->lock);
        if (do_restart) {
            restart(s, t, now_ms);
        }
    }
}

static void check_cb(uv_timer_t *h)
{
    struct lc_supervisor *s = h->data;
    lc_supervisor_check(s, lc_now_ms());
}

/* ---- the loop's own heartbeat and its watchdog thread ------------------------------ */

/* The loop's turns are measured on the monotonic clock: on the wall clock a forward step
 * (NTP, a resumed VM) of more than twice loop_stall_timeout looked like a stuck loop and
 * aborted logcap, and a backward one hid a real stall. */
static void loop_beat_cb(uv_timer_t *h)
{
    struct lc_supervisor *s = h->data;
    __atomic_store_n(&s->box->live.loop_last_turn_mono_ns, lc_mono_ns(), __ATOMIC_RELAXED);
}

/* Logs what the watchdog knows without touching loop-owned objects: the last snapshot. */
static void log_stall(struct lc_supervisor *s, int64_t age_ms)
{
    struct lc_snapshot *snap = lc_snapshot_get(s->box);
    size_t counts[LC_TASK_STATES] = {0}, inputs = 0, connected = 0;
    if (snap != NULL) {
        for (size_t i = 0; i < snap->n_tasks; i++) {
            counts[snap->tasks[i].state]++;
        }
        for (inputs = 0; inputs < snap->n_inputs; inputs++) {
            connected += snap->inputs[inputs].connected != 0;
        }
    }
    lc_log(LC_LOG_ERROR, 0,
           "[supervisor] event loop has not turned for %lld ms (last known: %zu running, %zu "
           "stalled, %zu restarting, %zu failed tasks; %zu of %zu inputs connected)",
           (long long)age_ms, counts[LC_TASK_RUNNING], counts[LC_TASK_STALLED],
           counts[LC_TASK_RESTARTING], counts[LC_TASK_FAILED], connected, inputs);
    lc_snapshot_put(snap);
}

/* The time from which the loop's silence counts at NOW: its last turn, or the end of a
 * freeze of the whole process. A watchdog poll that comes far later than asked (more than
 * half the stall limit) means every thread was frozen, not the loop alone: SIGSTOP, a
 * paused VM whose monotonic clock jumps on resume. The loop then gets its normal time to
 * turn again before it is judged, instead of an abort for a pause it did not cause. */
static int64_t silence_from(struct lc_supervisor *s, int64_t now, int64_t *prev, int64_t *resumed)
{
    int64_t last = __atomic_load_n(&s->box->live.loop_last_turn_mono_ns, __ATOMIC_RELAXED);
    int64_t gap_ms = (now - *prev) / 1000000;
    int64_t frozen_ms = (int64_t)s->cfg.loop_stall_timeout_ms / 2;
    if (gap_ms > frozen_ms && gap_ms > 4 * WATCHDOG_POLL_MS) {
        lc_log(LC_LOG_WARN, 0,
               "[supervisor] logcap was frozen for %lld ms (stopped or suspended); the loop "
               "watchdog counts from now",
               (long long)gap_ms);
        *resumed = now;
    }
    *prev = now;
    return last > *resumed ? last : *resumed;
}

static void *watchdog_main(void *arg)
{
    struct lc_supervisor *s = arg;
    int64_t limit = (int64_t)s->cfg.loop_stall_timeout_ms;
    int64_t prev = lc_mono_ns(), resumed = 0;
    while (!__atomic_load_n(&s->stopping, __ATOMIC_RELAXED)) {
        int64_t now = lc_mono_ns();
        int64_t age = (now - silence_from(s, now, &prev, &resumed)) / 1000000;
        int stalled = __atomic_load_n(&s->box->live.loop_stalled, __ATOMIC_RELAXED);
        if (age > 2 * limit) {
            log_stall(s, age);
            lc_log(LC_LOG_ERROR, 0,
                   "[supervisor] event loop stuck past %lld ms; aborting so the "
                   "service manager restarts logcap",
                   (long long)(2 * limit));
            abort();
        }
        if (age > limit && !stalled) {
            __atomic_store_n(&s->box->live.loop_stalled, 1, __ATOMIC_RELAXED);
            log_stall(s, age);
        } else if (age <= limit && stalled) {
            __atomic_store_n(&s->box->live.loop_stalled, 0, __ATOMIC_RELAXED);
            lc_log(LC_LOG_WARN, 0, "[supervisor] event loop turns again");
        }
        usleep(WATCHDOG_POLL_MS * 1000);
    }
    return NULL;
}

/* ---- lifecycle -------------------------------------------------------------------- */

struct lc_supervisor *lc_supervisor_create(uv_loop_t *loop, const struct lc_supervisor_config *cfg,
                                           struct lc_snapshot_box *box)
{
    struct lc_supervisor *s = lc_xcalloc(1, sizeof(*s));
    s->loop = loop;
    pthread_mutex_init(&s->lock, NULL);
    s->cfg = *cfg;
    s->box = box;
    uv_timer_init(loop, &s->check_timer);
    uv_timer_init(loop, &s->beat_timer);
    s->check_timer.data = s;
    s->beat_timer.data = s;
    s->open_handles = 2;
    return s;
}

int lc_supervisor_start(struct lc_supervisor *s)
{
    int rc;
    loop_beat_cb(&s->beat_timer);
    uv_timer_start(&s->check_timer, check_cb, s->cfg.check_interval_ms, s->cfg.check_interval_ms);
    uv_timer_start(&s->beat_timer, loop_beat_cb, LOOP_BEAT_MS, LOOP_BEAT_MS);
    rc = pthread_create(&s->watchdog, NULL, watchdog_main, s);
    if (rc != 0) {
        lc_log(LC_LOG_ERROR, rc, "[supervisor] cannot start the loop watchdog thread");
        return -rc;
    }
    s->watchdog_running = 1;
    return 0;
}

void lc_supervisor_stop(struct lc_supervisor *s)
{
    uv_timer_stop(&s->check_timer);
    uv_timer_stop(&s->beat_timer);
    __atomic_store_n(&s->stopping, 1, __ATOMIC_RELAXED);
    if (s->watchdog_running) {
        pthread_join(s->watchdog, NULL);
        s->watchdog_running = 0;
    }
}

static void handle_closed(uv_handle_t *h)
{
    struct lc_supervisor *s = h->data;
    if (--s->open_handles == 0 && s->tasks == NULL) {
        pthread_mutex_destroy(&s->lock);
        free(s);
    }
}

void lc_supervisor_destroy(struct lc_supervisor *s)
{
    if (s == NULL) {
        return;
    }
    lc_supervisor_stop(s);
    if (s->tasks != NULL) {
        /* Tasks of abandoned output threads may still be beaten: their records and S
         * stay allocated for the exiting process. */
        lc_log(LC_LOG_WARN, 0, "[supervisor] %zu tasks still registered at exit", s->n_tasks);
    }
    uv_close((uv_handle_t *)&s->check_timer, handle_closed);
    uv_close((uv_handle_t *)&s->beat_timer, handle_closed);
}

/* ---- snapshot --------------------------------------------------------------------- */

static int64_t to_wall(uint64_t mono_ms, uint64_t now_mono, int64_t now_wall)
{
    if (mono_ms == 0) {
        return 0;
    }
    return now_wall - (int64_t)(now_mono - mono_ms) * 1000000LL;
}

void lc_supervisor_fill(struct lc_supervisor *s, struct lc_snapshot *snap)
{
    uint64_t now = lc_now_ms();
    int64_t wall = lc_wall_ns();
    size_t i = 0;

    pthread_mutex_lock(&s->lock);
    free(snap->tasks); /* replaces what lc_snapshot_create sized */
    snap->tasks = lc_xcalloc(s->n_tasks ? s->n_tasks : 1, sizeof(*snap->tasks));
    for (struct lc_task *t = s->tasks; t != NULL; t = t->next, i++) {
        struct lc_task_snap *ts = &snap->tasks[i];
        snprintf(ts->id, sizeof(ts->id), "%s", t->id);
        snprintf(ts->type, sizeof(ts->type), "%s", t->type);
        ts->state = t->state;
        ts->started_at_ns = to_wall(t->started_ms, now, wall);
        ts->last_heartbeat_ns =
            to_wall(__atomic_load_n(&t->last_beat_ms, __ATOMIC_RELAXED), now, wall);
        ts->last_progress_ns =
            to_wall(__atomic_load_n(&t->last_progress_ms, __ATOMIC_RELAXED), now, wall);
        ts->last_heartbeat_mono_ns =
            (int64_t)__atomic_load_n(&t->last_beat_ms, __ATOMIC_RELAXED) * 1000000LL;
        ts->restarts = t->restarts;
        snprintf(ts->last_error, sizeof(ts->last_error), "%s", t->last_error);
        snprintf(ts->container_name, sizeof(ts->container_name), "%s", t->name);
        snprintf(ts->owner, sizeof(ts->owner), "%s", t->owner);
    }
    snap->n_tasks = i;
    free(snap->type_counts);
    snap->type_counts = lc_xcalloc(s->n_types ? s->n_types : 1, sizeof(*snap->type_counts));
    for (i = 0; i < s->n_types; i++) {
        snprintf(snap->type_counts[i].type, sizeof(snap->type_counts[i].type), "%s",
                 s->types[i].type);
        snap->type_counts[i].restarts = s->types[i].restarts;
        snap->type_counts[i].failures = s->types[i].failures;
    }
    snap->n_type_counts = s->n_types;
    snap->last_restart_mono_ns = (int64_t)s->last_restart_ms * 1000000LL;
    pthread_mutex_unlock(&s->lock);
}
