/* supervisor: the registry of logcap's long-running tasks, their heartbeats, and the
 * watchdogs. Every task beats on progress and on its own idle ticks; one that is silent
 * for longer than task_timeout is marked stalled, torn down with everything it owns (its
 * restart callback does that) and started again with exponential backoff. A task that
 * keeps failing stays visible as failed, with its error, and is retried at the maximum
 * backoff: nothing is ever left cancelled. A separate watchdog thread checks that the
 * event loop itself still turns; past loop_stall_timeout it logs what it knows, past
 * twice that it aborts so the service manager restarts logcap (the positions make that
 * safe).
 *
 * Owns: the tasks' records (not the work they stand for: each task's owner creates and
 * destroys its lc_task), the check and loop-heartbeat timers, the watchdog thread. Tasks
 * are created, destroyed and restarted on the loop thread; beats, progress, state and
 * errors may come from any thread (delivery threads report their output's task). */
#ifndef LC_SUPERVISOR_H
#define LC_SUPERVISOR_H

#include <stdint.h>
#include <uv.h>

#include "core/snapshot.h"

struct lc_supervisor_config {
    uint64_t check_interval_ms;
    uint64_t task_timeout_ms;
    uint64_t backoff_min_ms;
    uint64_t backoff_max_ms;
    uint64_t loop_stall_timeout_ms;
};

/* Consecutive failures after which a task is shown as failed (still retried). */
#define LC_TASK_FAILED_AFTER 5

struct lc_task_ops {
    /* Tears the task down with everything it owns and starts it again. Loop thread. */
    void (*restart)(void *ud);
};

struct lc_supervisor;
struct lc_task;

/* Creates the supervisor. BOX receives the loop heartbeat and the stall flag. Never
 * returns NULL. */
struct lc_supervisor *lc_supervisor_create(uv_loop_t *loop, const struct lc_supervisor_config *cfg,
                                           struct lc_snapshot_box *box);
/* Starts the check timer, the loop heartbeat and the watchdog thread. Returns 0 or -errno. */
int lc_supervisor_start(struct lc_supervisor *s);
/* Stops timers and joins the watchdog thread; tasks stay registered. */
void lc_supervisor_stop(struct lc_supervisor *s);
/* Closes the timers and frees the supervisor once they are closed. A supervisor that
 * still has tasks (held by threads that could not be stopped) is left allocated for the
 * exiting process. NULL is a no-op. */
void lc_supervisor_destroy(struct lc_supervisor *s);

/* Registers a task (state starting, beating now). OPS may be NULL for a task that cannot
 * be restarted (it is then only reported). Never returns NULL. */
struct lc_task *lc_task_create(struct lc_supervisor *s, const char *id, const char *type,
                               const struct lc_task_ops *ops, void *ud);
/* Unregisters and frees T. NULL is a no-op. */
void lc_task_destroy(struct lc_task *t);

/* Any thread: the task is alive. lc_task_progress also says it moved data. */
void lc_task_beat(struct lc_task *t);
void lc_task_progress(struct lc_task *t);

/* Loop thread: the owner's view of its task. */
void lc_task_set_state(struct lc_task *t, enum lc_task_state state);
enum lc_task_state lc_task_state(const struct lc_task *t);
/* Records an error (shown as last_error); ERR is a negative errno or 0. After
 * LC_TASK_FAILED_AFTER consecutive errors without progress the task shows as failed. */
void lc_task_error(struct lc_task *t, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Clears the consecutive error count and last_error (the task works again). */
void lc_task_ok(struct lc_task *t);
void lc_task_set_name(struct lc_task *t, const char *container_name);
/* The input or output instance T works for (its name), shown with the task. Loop thread,
 * before the task is shown. */
void lc_task_set_owner(struct lc_task *t, const char *owner);
/* A task whose own tick is slower than task_timeout (a periodic list) gets its own
 * silence limit. 0: the supervisor's task_timeout. */
void lc_task_set_timeout(struct lc_task *t, uint64_t timeout_ms);
const char *lc_task_id(const struct lc_task *t);

/* Test builds: the task ignores its beats until the watchdog restarts it. Returns 0 or
 * -ENOENT. Loop thread. */
int lc_supervisor_wedge(struct lc_supervisor *s, const char *task_id);
/* True while T is wedged (its owner should also stop working). */
int lc_task_wedged(const struct lc_task *t);

/* Fills the task part of a snapshot: tasks, per-type counters and the newest restart.
 * Allocates SNAP->tasks and SNAP->type_counts (owned by the snapshot). */
void lc_supervisor_fill(struct lc_supervisor *s, struct lc_snapshot *snap);

/* Runs one watchdog check at NOW_MS (monotonic). The check timer calls it; tests too. */
void lc_supervisor_check(struct lc_supervisor *s, uint64_t now_ms);

#endif
