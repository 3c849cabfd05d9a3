/* test_supervisor: the task registry and the watchdog's decisions, driven by explicit
 * clock values through lc_supervisor_check (no timers run). */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/snapshot.h"
#include "supervisor/supervisor.h"
#include "base/util.h"
#include "test.h"

struct fake {
    int restarts;
    struct lc_task *task;
};

static void fake_restart(void *ud)
{
    struct fake *f = ud;
    f->restarts++;
    lc_task_set_state(f->task, LC_TASK_RUNNING);
}

static const struct lc_task_ops fake_ops = {.restart = fake_restart};

static const struct lc_supervisor_config cfg = {
    .check_interval_ms = 100,
    .task_timeout_ms = 1000,
    .backoff_min_ms = 100,
    .backoff_max_ms = 400,
    .loop_stall_timeout_ms = 1000,
};

struct h {
    uv_loop_t loop;
    struct lc_snapshot_box box;
    struct lc_supervisor *s;
};

static void h_init(struct h *h)
{
    uv_loop_init(&h->loop);
    lc_snapshot_box_init(&h->box);
    h->s = lc_supervisor_create(&h->loop, &cfg, &h->box);
}

static int h_close(struct h *h)
{
    lc_supervisor_destroy(h->s);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    lc_snapshot_box_close(&h->box);
    return uv_loop_close(&h->loop);
}

static struct lc_task_snap *find(struct lc_snapshot *snap, const char *id)
{
    for (size_t i = 0; i < snap->n_tasks; i++) {
        if (strcmp(snap->tasks[i].id, id) == 0) {
            return &snap->tasks[i];
        }
    }
    return NULL;
}

TEST(beating_task_is_never_stalled)
{
    struct h h;
    struct fake f = {0};
    uint64_t now = lc_now_ms();
    h_init(&h);
    f.task = lc_task_create(h.s, "container_0123456789ab", "container", &fake_ops, &f);
    lc_task_set_state(f.task, LC_TASK_RUNNING);
    lc_task_beat(f.task);
    lc_supervisor_check(h.s, now + 900);
    ASSERT_EQ(lc_task_state(f.task), LC_TASK_RUNNING);
    ASSERT_EQ(f.restarts, 0);
    lc_task_destroy(f.task);
    ASSERT_EQ(h_close(&h), 0);
}

TEST(silent_task_stalls_and_restarts_with_backoff)
{
    struct h h;
    struct fake f = {0};
    uint64_t now = lc_now_ms();
    h_init(&h);
    f.task = lc_task_create(h.s, "docker_events", "docker_events", &fake_ops, &f);
    lc_task_set_state(f.task, LC_TASK_RUNNING);
    lc_supervisor_check(h.s, now + 1500);
    ASSERT_EQ(lc_task_state(f.task), LC_TASK_STALLED);
    ASSERT_EQ(f.restarts, 0);
    /* The owner cannot talk the watchdog out of a pending restart. */
    lc_task_set_state(f.task, LC_TASK_RUNNING);
    ASSERT_EQ(lc_task_state(f.task), LC_TASK_STALLED);
    lc_supervisor_check(h.s, now + 1550); /* backoff 100 ms not over */
    ASSERT_EQ(f.restarts, 0);
    lc_supervisor_check(h.s, now + 1600);
    ASSERT_EQ(f.restarts, 1);
    ASSERT_EQ(lc_task_state(f.task), LC_TASK_RUNNING);
    lc_task_destroy(f.task);
    ASSERT_EQ(h_close(&h), 0);
}

TEST(repeated_stalls_fail_and_retry_at_max_backoff)
{
    struct h h;
    struct fake f = {0};
    uint64_t t = lc_now_ms();
    struct lc_snapshot *snap;
    h_init(&h);
    f.task = lc_task_create(h.s, "output_local", "output", &fake_ops, &f);
    lc_task_set_state(f.task, LC_TASK_RUNNING);
    for (int i = 0; i < LC_TASK_FAILED_AFTER; i++) {
        t += 5000; /* silent far past the timeout each round (beats are real-time) */
        lc_supervisor_check(h.s, t);
        t += 1000; /* past any backoff up to the maximum */
        lc_supervisor_check(h.s, t);
    }
    ASSERT_EQ(f.restarts, LC_TASK_FAILED_AFTER);
    t += 5000;
    lc_supervisor_check(h.s, t);
    ASSERT_EQ(lc_task_state(f.task), LC_TASK_FAILED);
    lc_supervisor_check(h.s, t + 399);
    ASSERT_EQ(f.restarts, LC_TASK_FAILED_AFTER);
    lc_supervisor_check(h.s, t + 400);
    ASSERT_EQ(f.restarts, LC_TASK_FAILED_AFTER + 1);

    snap = lc_snapshot_create(0, 0, 0, 0);
    lc_supervisor_fill(h.s, snap);
    ASSERT_EQ(snap->n_type_counts, 1);
    ASSERT_STR_EQ(snap->type_counts[0].type, "output");
    ASSERT_U64_EQ(snap->type_counts[0].failures, LC_TASK_FAILED_AFTER + 1);
    ASSERT_U64_EQ(snap->type_counts[0].restarts, LC_TASK_FAILED_AFTER + 1);
    ASSERT_TRUE(strstr(find(snap, "output_local")->last_error, "no heartbeat") != NULL);
    ASSERT_TRUE(snap->last_restart_mono_ns > 0);
    lc_snapshot_put(snap);
    lc_task_destroy(f.task);
    ASSERT_EQ(h_close(&h), 0);
}

TEST(wedged_task_ignores_beats_until_restarted)
{
    struct h h;
    struct fake f = {0};
    uint64_t now = lc_now_ms();
    h_init(&h);
    f.task = lc_task_create(h.s, "container_aaaaaaaaaaaa", "container", &fake_ops, &f);
    lc_task_set_state(f.task, LC_TASK_RUNNING);
    ASSERT_EQ(lc_supervisor_wedge(h.s, "nope"), -ENOENT);
    ASSERT_EQ(lc_supervisor_wedge(h.s, "container_aaaaaaaaaaaa"), 0);
    ASSERT_TRUE(lc_task_wedged(f.task));
    /* Beats from a "later" moment do not count while wedged. */
    lc_task_progress(f.task);
    lc_supervisor_check(h.s, now + 1500);
    ASSERT_EQ(lc_task_state(f.task), LC_TASK_STALLED);
    lc_supervisor_check(h.s, now + 1600);
    ASSERT_EQ(f.restarts, 1);
    ASSERT_TRUE(!lc_task_wedged(f.task));
    lc_task_destroy(f.task);
    ASSERT_EQ(h_close(&h), 0);
}

TEST(errors_show_and_stopped_tasks_are_left_alone)
{
    struct h h;
    struct fake f = {0};
    uint64_t now = lc_now_ms();
    struct lc_snapshot *snap;
    h_init(&h);
    f.task = lc_task_create(h.s, "container_bbbbbbbbbbbb", "container", &fake_ops, &f);
    lc_task_set_name(f.task, "web-1");
    lc_task_error(f.task, -ECONNREFUSED, "log stream failed");
    lc_task_set_state(f.task, LC_TASK_STOPPED);
    lc_supervisor_check(h.s, now + 10000);
    ASSERT_EQ(lc_task_state(f.task), LC_TASK_STOPPED);
    ASSERT_EQ(f.restarts, 0);
    snap = lc_snapshot_create(0, 0, 0, 0);
    lc_supervisor_fill(h.s, snap);
    ASSERT_EQ(snap->n_tasks, 1);
    ASSERT_STR_EQ(snap->tasks[0].container_name, "web-1");
    ASSERT_STR_EQ(snap->tasks[0].last_error, "log stream failed: Connection refused");
    ASSERT_STR_EQ(snap->tasks[0].type, "container");
    lc_snapshot_put(snap);
    lc_task_ok(f.task);
    snap = lc_snapshot_create(0, 0, 0, 0);
    lc_supervisor_fill(h.s, snap);
    ASSERT_STR_EQ(snap->tasks[0].last_error, "");
    lc_snapshot_put(snap);
    lc_task_destroy(f.task);
    ASSERT_EQ(h_close(&h), 0);
}

/* The last heartbeat of task ID (monotonic ms), as the snapshot has it. */
static uint64_t beat_ms(struct lc_supervisor *sup, const char *id)
{
    struct lc_snapshot *snap = lc_snapshot_create(0, 0, 0, 0);
    uint64_t ms;
    lc_supervisor_fill(sup, snap);
    ms = find(snap, id) != NULL ? (uint64_t)(find(snap, id)->last_heartbeat_mono_ns / 1000000) : 0;
    lc_snapshot_put(snap);
    return ms;
}

/* A task that cannot be restarted (the spool writer: nothing can unblock a write stuck in
 * the kernel) is still judged on its silence: shown stalled with the reason and counted,
 * never restarted, and running again as soon as it beats again. */
TEST(silent_task_without_restart_is_shown_stalled)
{
    struct h h;
    struct lc_task *t;
    struct lc_snapshot *snap;
    struct lc_task_snap *ts;
    uint64_t b0, b1;
    h_init(&h);
    t = lc_task_create(h.s, "spool_writer", "spool", NULL, NULL);
    lc_task_set_state(t, LC_TASK_RUNNING);
    b0 = beat_ms(h.s, "spool_writer");
    lc_supervisor_check(h.s, b0 + 1000); /* task_timeout, not past it */
    ASSERT_EQ(lc_task_state(t), LC_TASK_RUNNING);
    lc_supervisor_check(h.s, b0 + 1001);
    ASSERT_EQ(lc_task_state(t), LC_TASK_STALLED);
    lc_supervisor_check(h.s, b0 + 1001); /* no restart comes, and no second count */
    ASSERT_EQ(lc_task_state(t), LC_TASK_STALLED);
    snap = lc_snapshot_create(0, 0, 0, 0);
    lc_supervisor_fill(h.s, snap);
    ts = find(snap, "spool_writer");
    ASSERT_TRUE(ts != NULL);
    ASSERT_STR_EQ(ts->last_error, "no heartbeat for 1 s");
    ASSERT_U64_EQ(ts->restarts, 0);
    ASSERT_U64_EQ(snap->type_counts[0].failures, 1);
    ASSERT_U64_EQ(snap->type_counts[0].restarts, 0);
    ASSERT_EQ(snap->last_restart_mono_ns, 0);
    lc_snapshot_put(snap);
    /* It beats again: a heartbeat newer than the one it was judged on. */
    while (lc_now_ms() <= b0) {
    }
    lc_task_beat(t);
    b1 = beat_ms(h.s, "spool_writer");
    ASSERT_TRUE(b1 > b0);
    lc_supervisor_check(h.s, b1 + 1000);
    ASSERT_EQ(lc_task_state(t), LC_TASK_RUNNING);
    /* Silent again: stalled again. */
    lc_supervisor_check(h.s, b1 + 1001);
    ASSERT_EQ(lc_task_state(t), LC_TASK_STALLED);
    lc_task_destroy(t);
    ASSERT_EQ(h_close(&h), 0);
}

/* The owner's own verdict on a task that cannot be restarted (the writer failing, then
 * writing again) is not overridden by the watchdog's recovery. */
TEST(owner_state_of_task_without_restart_stands)
{
    struct h h;
    uint64_t now = lc_now_ms();
    struct lc_task *t;
    h_init(&h);
    t = lc_task_create(h.s, "spool_writer", "spool", NULL, NULL);
    lc_task_set_state(t, LC_TASK_RUNNING);
    lc_task_error(t, -ENOSPC, "cannot write to the spool");
    lc_task_set_state(t, LC_TASK_FAILED);
    lc_task_beat(t); /* a failing writer still beats: it retries */
    lc_supervisor_check(h.s, now + 500);
    ASSERT_EQ(lc_task_state(t), LC_TASK_FAILED);
    lc_task_set_state(t, LC_TASK_RUNNING);
    ASSERT_EQ(lc_task_state(t), LC_TASK_RUNNING);
    lc_task_destroy(t);
    ASSERT_EQ(h_close(&h), 0);
}

TEST_MAIN(TEST_ENTRY(beating_task_is_never_stalled),
          TEST_ENTRY(silent_task_stalls_and_restarts_with_backoff),
          TEST_ENTRY(repeated_stalls_fail_and_retry_at_max_backoff),
          TEST_ENTRY(wedged_task_ignores_beats_until_restarted),
          TEST_ENTRY(errors_show_and_stopped_tasks_are_left_alone),
          TEST_ENTRY(silent_task_without_restart_is_shown_stalled),
          TEST_ENTRY(owner_state_of_task_without_restart_stands))
