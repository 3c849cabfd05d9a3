/* test_health: the health verdict, one test per rule and per boundary (a full spool among
 * them), the JSON bodies of /health, /tasks, /stats and /version (parsed back with
 * jansson), and the snapshot box (publish, get, put, and a publisher racing readers, for
 * ASan to watch). */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/health.h"
#include "core/snapshot.h"
#include "base/util.h"
#include "test.h"

#define SEC 1000000000LL
#define NOW (1795350317LL * SEC + 123456789LL) /* 2026-11-22T... */

static struct lc_snapshot *snap_new(size_t n_tasks)
{
    struct lc_snapshot *s = lc_snapshot_create(n_tasks, 0, 0, 0);
    s->taken_mono_ns = NOW - SEC / 2;
    s->started_mono_ns = NOW - 100 * SEC;
    s->version = "9.9.9";
    lc_snapshot_add_input(s, "docker", "docker")->connected = 1;
    s->task_timeout_ms = 60000;
    for (size_t i = 0; i < n_tasks; i++) {
        snprintf(s->tasks[i].id, sizeof(s->tasks[i].id), "task_%zu", i);
        strcpy(s->tasks[i].type, "output");
        s->tasks[i].state = LC_TASK_RUNNING;
        s->tasks[i].started_at_ns = NOW - 50 * SEC;
        s->tasks[i].last_heartbeat_ns = NOW - SEC;
    }
    return s;
}

/* A healthy input around S: the loop turned 100 ms ago, 60 s after the API started. */
static struct lc_health_input input(const struct lc_snapshot *s)
{
    struct lc_health_input in;
    memset(&in, 0, sizeof(in));
    in.snap = s;
    in.loop_last_turn_mono_ns = NOW - SEC / 10;
    in.now_mono_ns = NOW;
    in.api_started_mono_ns = NOW - 60 * SEC;
    in.task_timeout_ms = 60000;
    in.loop_stall_timeout_ms = 10000;
    return in;
}

static enum lc_health_status decide(const struct lc_health_input *in)
{
    return lc_health_decide(in, NULL);
}

/* ---- the verdict -------------------------------------------------------------------- */

TEST(healthy)
{
    struct lc_snapshot *s = snap_new(3);
    struct lc_health_input in = input(s);
    const char *why = "x";
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_HEALTHY);
    ASSERT_TRUE(why == NULL);
    lc_snapshot_put(s);
}

TEST(unhealthy_loop_flag)
{
    struct lc_snapshot *s = snap_new(1);
    struct lc_health_input in = input(s);
    const char *why = NULL;
    in.loop_stalled = 1;
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_UNHEALTHY);
    ASSERT_TRUE(why != NULL && strstr(why, "stalled") != NULL);
    ASSERT_EQ(lc_health_loop_stalled(&in), 1);
    lc_snapshot_put(s);
}

TEST(unhealthy_loop_last_turn_old)
{
    struct lc_snapshot *s = snap_new(1);
    struct lc_health_input in = input(s);
    in.loop_last_turn_mono_ns = NOW - 10 * SEC; /* exactly the timeout: not yet */
    ASSERT_EQ(decide(&in), LC_HEALTH_HEALTHY);
    ASSERT_EQ(lc_health_loop_stalled(&in), 0);
    in.loop_last_turn_mono_ns = NOW - 10 * SEC - 1;
    ASSERT_EQ(decide(&in), LC_HEALTH_UNHEALTHY);
    ASSERT_EQ(lc_health_loop_stalled(&in), 1);
    in.loop_last_turn_mono_ns = 0; /* never turned: not judged by this rule */
    ASSERT_EQ(decide(&in), LC_HEALTH_HEALTHY);
    in.loop_last_turn_mono_ns = NOW - 5 * SEC;
    in.loop_stall_timeout_ms = 0; /* default 10 s */
    ASSERT_EQ(decide(&in), LC_HEALTH_HEALTHY);
    in.loop_last_turn_mono_ns = NOW - 11 * SEC;
    ASSERT_EQ(decide(&in), LC_HEALTH_UNHEALTHY);
    lc_snapshot_put(s);
}

TEST(unhealthy_docker_unreachable)
{
    struct lc_snapshot *s = snap_new(1);
    struct lc_health_input in = input(s);
    s->inputs[0].connected = 0;
    s->inputs[0].unreachable_mono_ns = NOW - 60 * SEC; /* exactly task_timeout */
    ASSERT_EQ(decide(&in), LC_HEALTH_HEALTHY);
    s->inputs[0].unreachable_mono_ns = NOW - 60 * SEC - 1;
    ASSERT_EQ(decide(&in), LC_HEALTH_UNHEALTHY);
    s->n_inputs = 0; /* no Docker input configured: not a reason */
    ASSERT_EQ(decide(&in), LC_HEALTH_HEALTHY);
    lc_snapshot_put(s);
}

/* Every age is judged on the monotonic fields: wall-clock values a step moved far (an hour
 * either way) change no verdict. */
TEST(verdict_ignores_the_wall_clock)
{
    struct lc_snapshot *s = snap_new(1);
    struct lc_health_input in = input(s);
    s->inputs[0].connected = 0;
    s->inputs[0].unreachable_mono_ns = NOW - SEC;
    s->inputs[0].unreachable_since_ns = NOW - 3600 * SEC; /* wall: lost an hour ago? */
    s->tasks[0].last_heartbeat_ns = NOW - 3600 * SEC;
    ASSERT_EQ(decide(&in), LC_HEALTH_HEALTHY);
    s->inputs[0].unreachable_mono_ns = NOW - 61 * SEC;
    s->inputs[0].unreachable_since_ns = NOW + 3600 * SEC; /* wall: in the future */
    ASSERT_EQ(decide(&in), LC_HEALTH_UNHEALTHY);
    lc_snapshot_put(s);
}

TEST(task_timeout_fallbacks)
{
    struct lc_snapshot *s = snap_new(1);
    struct lc_health_input in = input(s);
    s->inputs[0].connected = 0;
    s->inputs[0].unreachable_mono_ns = NOW - 120 * SEC;
    in.task_timeout_ms = 0;
    s->task_timeout_ms = 180000; /* the snapshot's limit when the config gives none */
    ASSERT_EQ(decide(&in), LC_HEALTH_HEALTHY);
    s->task_timeout_ms = 0; /* then the default, 5 minutes */
    ASSERT_EQ(decide(&in), LC_HEALTH_HEALTHY);
    s->inputs[0].unreachable_mono_ns = NOW - 301 * SEC;
    ASSERT_EQ(decide(&in), LC_HEALTH_UNHEALTHY);
    lc_snapshot_put(s);
}

TEST(no_snapshot)
{
    struct lc_health_input in = input(NULL);
    const char *why = NULL;
    in.api_started_mono_ns = NOW - 5 * SEC;
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_DEGRADED);
    ASSERT_TRUE(why != NULL && strstr(why, "first") != NULL);
    in.api_started_mono_ns = NOW - 10 * SEC;
    ASSERT_EQ(decide(&in), LC_HEALTH_DEGRADED);
    in.api_started_mono_ns = NOW - 10 * SEC - 1;
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_UNHEALTHY);
    ASSERT_TRUE(why != NULL && strstr(why, "snapshot") != NULL);
}

TEST(degraded_task_states)
{
    struct lc_snapshot *s = snap_new(3);
    struct lc_health_input in = input(s);
    static const struct {
        enum lc_task_state st;
        enum lc_health_status want;
    } cases[] = {
        {LC_TASK_STARTING, LC_HEALTH_HEALTHY}, {LC_TASK_RUNNING, LC_HEALTH_HEALTHY},
        {LC_TASK_STALLED, LC_HEALTH_DEGRADED}, {LC_TASK_RESTARTING, LC_HEALTH_DEGRADED},
        {LC_TASK_FAILED, LC_HEALTH_DEGRADED},  {LC_TASK_STOPPED, LC_HEALTH_HEALTHY},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s->tasks[2].state = cases[i].st;
        ASSERT_EQ(decide(&in), cases[i].want);
    }
    lc_snapshot_put(s);
}

TEST(degraded_recent_restart)
{
    struct lc_snapshot *s = snap_new(1);
    struct lc_health_input in = input(s);
    s->last_restart_mono_ns = NOW - 299 * SEC;
    ASSERT_EQ(decide(&in), LC_HEALTH_DEGRADED);
    s->last_restart_mono_ns = NOW - 300 * SEC; /* five minutes ago: no longer recent */
    ASSERT_EQ(decide(&in), LC_HEALTH_HEALTHY);
    s->last_restart_mono_ns = 0;
    ASSERT_EQ(decide(&in), LC_HEALTH_HEALTHY);
    lc_snapshot_put(s);
}

#define SPOOL_FULL "the spool is full: inputs are paused until the outputs catch up"
#define WRITER_BEHIND "the inputs are paused: the spool writer is behind"
#define WRITER_ENOSPC "spool writer: cannot write to the spool: No space left on device"
#define WRITER_STALLED                                                                             \
    "the spool writer is stalled (no heartbeat for longer than task_timeout): nothing new "        \
    "reaches the spool"

/* A failing output is the reason, in its own words; a configuration fault comes before a
 * passing outage; a full spool before both; a healthy output says nothing. */
TEST(degraded_output_failing)
{
    struct lc_snapshot *s = lc_snapshot_create(1, 0, 2, 0);
    struct lc_snapshot *base = snap_new(1);
    struct lc_health_input in;
    const char *why = NULL;
    memcpy(s->tasks, base->tasks, sizeof(s->tasks[0]));
    s->taken_mono_ns = base->taken_mono_ns;
    s->started_mono_ns = base->started_mono_ns;
    s->task_timeout_ms = base->task_timeout_ms;
    in = input(s);
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_HEALTHY);
    s->outputs[0].failing = 1;
    strcpy(s->outputs[0].error, "output \"a\": Loki answered HTTP 503: busy");
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_DEGRADED);
    ASSERT_STR_EQ(why, "output \"a\": Loki answered HTTP 503: busy");
    s->outputs[1].failing = 1;
    s->outputs[1].config_fault = 1;
    strcpy(s->outputs[1].error, "output \"b\": configuration fault: Loki answered HTTP 401: no");
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_DEGRADED);
    ASSERT_STR_EQ(why, "output \"b\": configuration fault: Loki answered HTTP 401: no");
    s->spool.enabled = 1;
    s->spool.full = 1;
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_DEGRADED);
    ASSERT_STR_EQ(why, SPOOL_FULL);
    s->spool.full = 0;
    s->outputs[0].failing = s->outputs[1].failing = 0;
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_HEALTHY);
    ASSERT_TRUE(why == NULL);
    lc_snapshot_put(s);
    lc_snapshot_put(base);
}

TEST(degraded_spool_full)
{
    struct lc_snapshot *s = snap_new(1);
    struct lc_health_input in = input(s);
    const char *why = NULL;
    s->spool.enabled = 1;
    s->spool.paused = 1; /* paused without being full: the writer is behind */
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_DEGRADED);
    ASSERT_STR_EQ(why, WRITER_BEHIND);
    s->spool.full = 1;
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_DEGRADED);
    ASSERT_STR_EQ(why, SPOOL_FULL);
    s->spool.enabled = 0; /* no spool: its flags mean nothing */
    ASSERT_EQ(decide(&in), LC_HEALTH_HEALTHY);
    lc_snapshot_put(s);
}

/* A full spool is named before the task rules (capture has stopped; the failed task is in
 * the body), and after every unhealthy rule. */
TEST(spool_full_rule_order)
{
    struct lc_snapshot *s = snap_new(1);
    struct lc_health_input in = input(s);
    const char *why = NULL;
    s->spool.enabled = 1;
    s->spool.full = 1;
    s->tasks[0].state = LC_TASK_FAILED;
    s->last_restart_mono_ns = NOW - SEC;
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_DEGRADED);
    ASSERT_STR_EQ(why, SPOOL_FULL);
    s->spool.full = 0;
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_DEGRADED);
    ASSERT_STR_EQ(why, "a task is stalled, restarting or failed");
    s->spool.full = 1;
    s->inputs[0].connected = 0;
    s->inputs[0].unreachable_mono_ns = NOW - 61 * SEC;
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_UNHEALTHY);
    ASSERT_TRUE(why != NULL && strstr(why, "Docker") != NULL);
    lc_snapshot_put(s);
}

/* A writer that cannot write is unhealthy with its errno, whatever else holds (the inputs
 * are paused and nothing new reaches the spool); it goes back with the failure. */
TEST(unhealthy_spool_writer_failing)
{
    struct lc_snapshot *s = snap_new(1);
    struct lc_health_input in = input(s);
    const char *why = NULL;
    s->spool.enabled = 1;
    s->spool.writer_failing = 1;
    snprintf(s->spool.writer_error, sizeof(s->spool.writer_error), "%s", WRITER_ENOSPC);
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_UNHEALTHY);
    ASSERT_STR_EQ(why, WRITER_ENOSPC);
    s->spool.paused = 1;
    s->spool.full = 1;
    s->tasks[0].state = LC_TASK_FAILED;
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_UNHEALTHY);
    ASSERT_STR_EQ(why, WRITER_ENOSPC);
    s->spool.writer_error[0] = '\0'; /* failing without a text: still named */
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_UNHEALTHY);
    ASSERT_TRUE(why != NULL && strstr(why, "spool writer") != NULL);
    s->spool.writer_failing = 0;
    s->spool.full = 0;
    s->tasks[0].state = LC_TASK_RUNNING;
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_DEGRADED);
    ASSERT_STR_EQ(why, WRITER_BEHIND);
    s->spool.paused = 0;
    ASSERT_EQ(decide(&in), LC_HEALTH_HEALTHY);
    lc_snapshot_put(s);
}

/* A silent writer (a write hung in the kernel) is shown stalled by the supervisor; with
 * nothing reaching the spool that is unhealthy too. Other stalled tasks stay degraded. */
TEST(unhealthy_spool_writer_stalled)
{
    struct lc_snapshot *s = snap_new(2);
    struct lc_health_input in = input(s);
    const char *why = NULL;
    s->spool.enabled = 1;
    strcpy(s->tasks[1].id, "spool_writer");
    strcpy(s->tasks[1].type, "spool");
    s->tasks[0].state = LC_TASK_STALLED;
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_DEGRADED);
    s->tasks[0].state = LC_TASK_RUNNING;
    s->tasks[1].state = LC_TASK_STALLED;
    ASSERT_EQ(lc_health_decide(&in, &why), LC_HEALTH_UNHEALTHY);
    ASSERT_STR_EQ(why, WRITER_STALLED);
    s->tasks[1].state = LC_TASK_RUNNING;
    ASSERT_EQ(decide(&in), LC_HEALTH_HEALTHY);
    lc_snapshot_put(s);
}

TEST(unhealthy_wins_over_degraded)
{
    struct lc_snapshot *s = snap_new(1);
    struct lc_health_input in = input(s);
    s->tasks[0].state = LC_TASK_FAILED;
    s->last_restart_mono_ns = NOW - SEC;
    in.loop_stalled = 1;
    ASSERT_EQ(decide(&in), LC_HEALTH_UNHEALTHY);
    lc_snapshot_put(s);
}

TEST(names)
{
    ASSERT_STR_EQ(lc_health_status_name(LC_HEALTH_HEALTHY), "healthy");
    ASSERT_STR_EQ(lc_health_status_name(LC_HEALTH_DEGRADED), "degraded");
    ASSERT_STR_EQ(lc_health_status_name(LC_HEALTH_UNHEALTHY), "unhealthy");
    ASSERT_STR_EQ(lc_task_state_name(LC_TASK_STARTING), "starting");
    ASSERT_STR_EQ(lc_task_state_name(LC_TASK_RUNNING), "running");
    ASSERT_STR_EQ(lc_task_state_name(LC_TASK_STALLED), "stalled");
    ASSERT_STR_EQ(lc_task_state_name(LC_TASK_RESTARTING), "restarting");
    ASSERT_STR_EQ(lc_task_state_name(LC_TASK_FAILED), "failed");
    ASSERT_STR_EQ(lc_task_state_name(LC_TASK_STOPPED), "stopped");
    ASSERT_STR_EQ(lc_task_state_name(LC_TASK_STATES), "unknown");
    ASSERT_STR_EQ(lc_task_state_name((enum lc_task_state) - 1), "unknown");
}

/* ---- the bodies --------------------------------------------------------------------- */

/* Parses BODY (freed here), which must end in exactly one newline. */
static json_t *parse(char *body, int *ok)
{
    size_t n = strlen(body);
    json_error_t err;
    json_t *j = NULL;
    *ok = n >= 2 && body[n - 1] == '\n' && body[n - 2] != '\n';
    if (*ok) {
        j = json_loads(body, 0, &err);
        if (j == NULL) {
            fprintf(stderr, "  bad JSON (%s): %s", err.text, body);
            *ok = 0;
        }
    }
    free(body);
    return j;
}

static double num(json_t *o, const char *path_a, const char *path_b)
{
    json_t *v = json_object_get(o, path_a);
    if (path_b != NULL) {
        v = json_object_get(v, path_b);
    }
    return json_number_value(v);
}

static struct lc_snapshot *rich_snap(void)
{
    struct lc_snapshot *s = snap_new(2);
    strcpy(s->tasks[0].id, "container_0123456789ab");
    strcpy(s->tasks[0].type, "container");
    strcpy(s->tasks[0].container_name, "web-1");
    s->tasks[0].started_at_ns = 1795350317LL * SEC + 317055337LL;
    s->tasks[0].last_progress_ns = NOW - 2 * SEC;
    s->tasks[0].restarts = 2;
    strcpy(s->tasks[0].last_error, "read: \"boom\"\n\xff");
    strcpy(s->tasks[0].owner, "docker");
    strcpy(s->tasks[1].id, "docker_events");
    strcpy(s->tasks[1].type, "docker_events");
    return s;
}

TEST(render_health)
{
    struct lc_snapshot *s = rich_snap();
    struct lc_health_input in = input(s);
    int http = 0, ok;
    json_t *j = parse(lc_health_render(&in, 0, &http), &ok), *t0, *t1;
    ASSERT_TRUE(ok);
    ASSERT_EQ(http, 200);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "status")), "healthy");
    ASSERT_TRUE(json_is_null(json_object_get(j, "reason")));
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "version")), "9.9.9");
    ASSERT_TRUE(num(j, "uptime_s", NULL) == 100.0);
    ASSERT_TRUE(json_is_true(json_object_get(json_object_get(j, "docker"), "enabled")));
    ASSERT_TRUE(json_is_true(json_object_get(json_object_get(j, "docker"), "connected")));
    ASSERT_TRUE(num(j, "docker", "unreachable_s") == 0.0);
    ASSERT_TRUE(json_is_null(json_object_get(json_object_get(j, "docker"), "unreachable_since")));
    ASSERT_TRUE(json_is_false(json_object_get(json_object_get(j, "loop"), "stalled")));
    ASSERT_TRUE(num(j, "loop", "last_turn_age_s") == 0.1);
    ASSERT_TRUE(num(j, "snapshot_age_s", NULL) == 0.5);
    ASSERT_TRUE(json_is_null(json_object_get(j, "spool"))); /* no spool in this snapshot */
    ASSERT_EQ(json_array_size(json_object_get(j, "tasks")), 2);
    t0 = json_array_get(json_object_get(j, "tasks"), 0);
    t1 = json_array_get(json_object_get(j, "tasks"), 1);
    ASSERT_STR_EQ(json_string_value(json_object_get(t0, "id")), "container_0123456789ab");
    ASSERT_STR_EQ(json_string_value(json_object_get(t0, "type")), "container");
    ASSERT_STR_EQ(json_string_value(json_object_get(t0, "state")), "running");
    ASSERT_STR_EQ(json_string_value(json_object_get(t0, "started_at")), "2026-11-22T12:25:17.317Z");
    ASSERT_STR_EQ(json_string_value(json_object_get(t0, "last_progress")),
                  "2026-11-22T12:25:15.123Z");
    ASSERT_EQ(json_integer_value(json_object_get(t0, "restarts")), 2);
    /* Invalid UTF-8 in an error is replaced, never a reason to drop the field. */
    ASSERT_STR_EQ(json_string_value(json_object_get(t0, "last_error")), "read: \"boom\"\n?");
    ASSERT_STR_EQ(json_string_value(json_object_get(t0, "container_name")), "web-1");
    ASSERT_TRUE(json_is_null(json_object_get(t1, "last_progress")));
    ASSERT_TRUE(json_is_null(json_object_get(t1, "last_error")));
    ASSERT_TRUE(json_object_get(t1, "container_name") == NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(t0, "owner")), "docker");
    ASSERT_TRUE(json_is_null(json_object_get(t1, "owner")));
    /* Every input by name and type, the Docker one also as "docker". */
    t0 = json_array_get(json_object_get(j, "inputs"), 0);
    ASSERT_EQ(json_array_size(json_object_get(j, "inputs")), 1);
    ASSERT_STR_EQ(json_string_value(json_object_get(t0, "name")), "docker");
    ASSERT_STR_EQ(json_string_value(json_object_get(t0, "type")), "docker");
    ASSERT_TRUE(json_is_true(json_object_get(t0, "connected")));
    ASSERT_TRUE(json_object_get(t0, "sources") == NULL); /* a figure: in /stats */
    json_decref(j);
    lc_snapshot_put(s);
}

/* Two Docker inputs: "docker" shows the one named docker; either one down past
 * task_timeout makes logcap unhealthy. */
TEST(render_health_two_inputs)
{
    struct lc_snapshot *s = snap_new(1);
    struct lc_health_input in = input(s);
    int http = 0, ok;
    json_t *j;
    s->inputs[0].connected = 0;
    s->inputs[0].unreachable_mono_ns = NOW - 61 * SEC;
    snprintf(s->inputs[0].name, sizeof(s->inputs[0].name), "remote");
    lc_snapshot_add_input(s, "docker", "docker")->connected = 1;
    j = parse(lc_health_render(&in, 0, &http), &ok);
    ASSERT_TRUE(ok);
    ASSERT_EQ(http, 503);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "status")), "unhealthy");
    ASSERT_TRUE(json_is_true(json_object_get(json_object_get(j, "docker"), "connected")));
    ASSERT_EQ(json_array_size(json_object_get(j, "inputs")), 2);
    ASSERT_TRUE(num(json_array_get(json_object_get(j, "inputs"), 0), "unreachable_s", NULL) > 60);
    json_decref(j);
    lc_snapshot_put(s);
}

TEST(render_health_spool)
{
    struct lc_snapshot *s = snap_new(1);
    struct lc_health_input in = input(s);
    int http = 0, ok;
    json_t *j, *sp;
    char *body;
    s->spool.enabled = 1;
    s->spool.bytes = 1073741824;
    s->spool.max_bytes = 1073741824;
    s->spool.records = 4000000;
    s->spool.segments = 16; /* /stats only */
    s->spool.full = 1;
    s->spool.paused = 1;
    j = parse(lc_health_render(&in, 0, &http), &ok);
    ASSERT_TRUE(ok);
    ASSERT_EQ(http, 200);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "status")), "degraded");
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "reason")), SPOOL_FULL);
    sp = json_object_get(j, "spool");
    ASSERT_TRUE(json_is_object(sp));
    ASSERT_EQ(json_object_size(sp), 7);
    ASSERT_TRUE(json_is_false(json_object_get(sp, "writer_failing")));
    ASSERT_TRUE(json_is_null(json_object_get(sp, "writer_error")));
    ASSERT_EQ(json_integer_value(json_object_get(sp, "bytes")), 1073741824);
    ASSERT_EQ(json_integer_value(json_object_get(sp, "max_bytes")), 1073741824);
    ASSERT_EQ(json_integer_value(json_object_get(sp, "records")), 4000000);
    ASSERT_TRUE(json_is_true(json_object_get(sp, "full")));
    ASSERT_TRUE(json_is_true(json_object_get(sp, "paused")));
    json_decref(j);
    s->spool.full = 0;
    s->spool.paused = 0;
    j = parse(lc_health_render(&in, 0, &http), &ok);
    ASSERT_TRUE(ok);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "status")), "healthy");
    ASSERT_TRUE(json_is_false(json_object_get(json_object_get(j, "spool"), "full")));
    ASSERT_TRUE(json_is_false(json_object_get(json_object_get(j, "spool"), "paused")));
    json_decref(j);
    /* The brief form stays the status alone. */
    s->spool.full = 1;
    body = lc_health_render(&in, 1, &http);
    ASSERT_STR_EQ(body, "{\"status\":\"degraded\"}\n");
    free(body);
    /* A failing writer: 503, the reason and the spool's fields say why. */
    s->spool.writer_failing = 1;
    snprintf(s->spool.writer_error, sizeof(s->spool.writer_error), "%s", WRITER_ENOSPC);
    j = parse(lc_health_render(&in, 0, &http), &ok);
    ASSERT_TRUE(ok);
    ASSERT_EQ(http, 503);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "status")), "unhealthy");
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "reason")), WRITER_ENOSPC);
    sp = json_object_get(j, "spool");
    ASSERT_TRUE(json_is_true(json_object_get(sp, "writer_failing")));
    ASSERT_STR_EQ(json_string_value(json_object_get(sp, "writer_error")), WRITER_ENOSPC);
    json_decref(j);
    lc_snapshot_put(s);
}

TEST(render_health_unhealthy_and_brief)
{
    struct lc_snapshot *s = snap_new(1);
    struct lc_health_input in = input(s);
    int http = 0;
    char *body;
    s->inputs[0].connected = 0;
    s->inputs[0].unreachable_mono_ns = NOW - 90 * SEC;
    body = lc_health_render(&in, 1, &http);
    ASSERT_EQ(http, 503);
    ASSERT_STR_EQ(body, "{\"status\":\"unhealthy\"}\n");
    free(body);
    s->inputs[0].unreachable_mono_ns = 0;
    s->tasks[0].state = LC_TASK_STALLED;
    body = lc_health_render(&in, 1, &http);
    ASSERT_EQ(http, 200);
    ASSERT_STR_EQ(body, "{\"status\":\"degraded\"}\n");
    free(body);
    lc_snapshot_put(s);
}

TEST(render_health_docker_down)
{
    struct lc_snapshot *s = snap_new(0);
    struct lc_health_input in = input(s);
    int http = 0, ok;
    json_t *j;
    s->inputs[0].connected = 0;
    s->inputs[0].unreachable_mono_ns = NOW - 90 * SEC;
    s->inputs[0].unreachable_since_ns = 1795350227LL * SEC; /* 2026-11-22T12:23:47Z */
    j = parse(lc_health_render(&in, 0, &http), &ok);
    ASSERT_TRUE(ok);
    ASSERT_EQ(http, 503);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "status")), "unhealthy");
    ASSERT_TRUE(json_is_string(json_object_get(j, "reason")));
    ASSERT_TRUE(json_is_false(json_object_get(json_object_get(j, "docker"), "connected")));
    ASSERT_TRUE(num(j, "docker", "unreachable_s") == 90.0);
    ASSERT_STR_EQ(
        json_string_value(json_object_get(json_object_get(j, "docker"), "unreachable_since")),
        "2026-11-22T12:23:47.000Z");
    json_decref(j);
    lc_snapshot_put(s);
}

TEST(render_health_without_snapshot)
{
    struct lc_health_input in = input(NULL);
    int http = 0, ok;
    json_t *j;
    in.loop_last_turn_mono_ns = 0;
    in.api_started_mono_ns = NOW - SEC;
    j = parse(lc_health_render(&in, 0, &http), &ok);
    ASSERT_TRUE(ok);
    ASSERT_EQ(http, 200);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "status")), "degraded");
    ASSERT_TRUE(json_is_null(json_object_get(j, "docker")));
    ASSERT_TRUE(json_is_null(json_object_get(json_object_get(j, "loop"), "last_turn_age_s")));
    ASSERT_TRUE(json_is_null(json_object_get(j, "snapshot_age_s")));
    ASSERT_TRUE(json_is_null(json_object_get(j, "spool")));
    ASSERT_EQ(json_array_size(json_object_get(j, "tasks")), 0);
    ASSERT_TRUE(json_is_string(json_object_get(j, "version")));
    json_decref(j);
}

TEST(render_tasks)
{
    struct lc_snapshot *s = rich_snap();
    int ok;
    json_t *j = parse(lc_health_render_tasks(s), &ok);
    ASSERT_TRUE(ok);
    ASSERT_EQ(json_object_size(j), 1);
    ASSERT_EQ(json_array_size(json_object_get(j, "tasks")), 2);
    json_decref(j);
    j = parse(lc_health_render_tasks(NULL), &ok);
    ASSERT_TRUE(ok);
    ASSERT_EQ(json_array_size(json_object_get(j, "tasks")), 0);
    json_decref(j);
    lc_snapshot_put(s);
}

TEST(render_stats)
{
    struct lc_snapshot *s = lc_snapshot_create(0, 2, 1, 0);
    int ok;
    json_t *j, *c0, *c1, *o0, *i0;
    ASSERT_EQ(s->containers[1].position_ns, -1); /* create says "no position" */
    lc_snapshot_add_input(s, "local", "docker")->connected = 1;
    s->inputs[0].sources = 2;
    s->inputs[0].api_errors.list = 4;
    strcpy(s->containers[0].input, "local");
    strcpy(s->containers[0].id, "0123456789abcdef");
    strcpy(s->containers[0].name, "web-1");
    strcpy(s->containers[0].image, "nginx:1");
    s->containers[0].lines[1] = 10;
    s->containers[0].lines[2] = 3;
    s->containers[0].bytes[1] = 1000;
    s->containers[0].bytes[2] = 300;
    s->containers[0].reconnects = 4;
    s->containers[0].rotations = 5;
    s->containers[0].truncated = 6;
    s->containers[0].decode_errors = 7;
    s->containers[0].errors = 8;
    s->containers[0].drains = 2;
    strcpy(s->containers[0].read, "files");
    s->containers[0].file_rotations = 3;
    s->containers[0].lost_files = 1;
    s->containers[0].position_ns = 1795350283LL * SEC + 463703600LL;
    s->containers[0].lag_s = 0.25;
    strcpy(s->outputs[0].name, "files");
    strcpy(s->outputs[0].type, "file");
    s->outputs[0].records = 13;
    s->outputs[0].bytes = 1300;
    s->outputs[0].retries = 1;
    s->outputs[0].rejected = 2;
    s->outputs[0].dead_lettered = 5;
    s->outputs[0].dead_letter_records = 4;
    s->outputs[0].backlog_records = 99;   /* not shown without a spool */
    s->outputs[0].reader_meta_slots = 64; /* nor is this */
    s->outputs[0].flush_failures = 3;
    s->outputs[0].lag_s = 1.5;
    lc_request_stats_add(&s->outputs[0].requests, 204, 20000);
    lc_request_stats_add(&s->outputs[0].requests, 503, 1500000);
    lc_request_stats_add(&s->outputs[0].requests, 0, 10000000);
    s->outputs[0].last_status = 503;
    s->outputs[0].failing = 1;
    snprintf(s->outputs[0].error, sizeof(s->outputs[0].error), "output \"files\": HTTP 503");
    j = parse(lc_health_render_stats(s), &ok);
    ASSERT_TRUE(ok);
    c0 = json_array_get(json_object_get(j, "containers"), 0);
    c1 = json_array_get(json_object_get(j, "containers"), 1);
    o0 = json_array_get(json_object_get(j, "outputs"), 0);
    ASSERT_STR_EQ(json_string_value(json_object_get(c0, "name")), "web-1");
    ASSERT_STR_EQ(json_string_value(json_object_get(c0, "image")), "nginx:1");
    ASSERT_TRUE(num(c0, "lines", "stdout") == 10 && num(c0, "lines", "stderr") == 3);
    ASSERT_TRUE(num(c0, "bytes", "stdout") == 1000 && num(c0, "bytes", "stderr") == 300);
    ASSERT_TRUE(num(c0, "reconnects", NULL) == 4 && num(c0, "rotations", NULL) == 5);
    ASSERT_TRUE(num(c0, "truncated", NULL) == 6 && num(c0, "decode_errors", NULL) == 7);
    ASSERT_TRUE(num(c0, "errors", NULL) == 8 && num(c0, "lag_s", NULL) == 0.25);
    ASSERT_TRUE(num(c0, "drains", NULL) == 2);
    ASSERT_STR_EQ(json_string_value(json_object_get(c0, "read")), "files");
    ASSERT_STR_EQ(json_string_value(json_object_get(c1, "read")), "api"); /* unset: api */
    ASSERT_TRUE(num(c0, "file_rotations", NULL) == 3 && num(c0, "lost_files", NULL) == 1);
    ASSERT_STR_EQ(json_string_value(json_object_get(c0, "position")),
                  "2026-11-22T12:24:43.463703600Z");
    ASSERT_TRUE(json_is_null(json_object_get(c1, "position")));
    ASSERT_STR_EQ(json_string_value(json_object_get(o0, "name")), "files");
    ASSERT_STR_EQ(json_string_value(json_object_get(o0, "type")), "file");
    ASSERT_TRUE(num(o0, "records", NULL) == 13 && num(o0, "bytes", NULL) == 1300);
    ASSERT_TRUE(num(o0, "retries", NULL) == 1 && num(o0, "rejected", NULL) == 2);
    ASSERT_TRUE(num(o0, "lag_s", NULL) == 1.5);
    /* Without a spool: dead-letter counts, but no backlog and no spool object. */
    ASSERT_TRUE(num(o0, "dead_lettered", NULL) == 5);
    ASSERT_TRUE(num(o0, "dead_letter_records", NULL) == 4);
    ASSERT_TRUE(json_is_null(json_object_get(o0, "backlog_records")));
    ASSERT_TRUE(json_is_null(json_object_get(o0, "backlog_bytes")));
    ASSERT_TRUE(json_is_null(json_object_get(o0, "oldest_unacked_age_s")));
    ASSERT_TRUE(json_is_null(json_object_get(o0, "reader_meta_slots")));
    ASSERT_TRUE(num(o0, "flush_failures", NULL) == 3);
    ASSERT_TRUE(num(o0, "requests", "2xx") == 1 && num(o0, "requests", "5xx") == 1);
    ASSERT_TRUE(num(o0, "requests", "error") == 1 && num(o0, "requests", "4xx") == 0);
    ASSERT_TRUE(num(o0, "requests", "count") == 3 && num(o0, "requests", "seconds_sum") == 11.52);
    ASSERT_TRUE(num(o0, "last_status", NULL) == 503);
    ASSERT_TRUE(json_is_true(json_object_get(o0, "failing")));
    ASSERT_TRUE(json_is_false(json_object_get(o0, "config_fault")));
    ASSERT_STR_EQ(json_string_value(json_object_get(o0, "error")), "output \"files\": HTTP 503");
    ASSERT_TRUE(json_is_null(json_object_get(o0, "brokers"))); /* not a Kafka output */
    ASSERT_EQ(json_object_size(o0), 20);
    ASSERT_TRUE(json_is_null(json_object_get(j, "spool")));
    ASSERT_STR_EQ(json_string_value(json_object_get(c0, "input")), "local");
    i0 = json_array_get(json_object_get(j, "inputs"), 0);
    ASSERT_EQ(json_array_size(json_object_get(j, "inputs")), 1);
    ASSERT_STR_EQ(json_string_value(json_object_get(i0, "name")), "local");
    ASSERT_STR_EQ(json_string_value(json_object_get(i0, "type")), "docker");
    ASSERT_TRUE(json_is_true(json_object_get(i0, "connected")));
    ASSERT_TRUE(num(i0, "sources", NULL) == 2 && num(i0, "api_errors", "list") == 4);
    ASSERT_TRUE(num(i0, "api_errors", "logs") == 0);
    ASSERT_EQ(json_object_size(j), 4);
    json_decref(j);
    lc_snapshot_put(s);
}

TEST(render_stats_spool)
{
    static const char *const keys[] = {"enabled",          "bytes",
                                       "max_bytes",        "records",
                                       "segments",         "full",
                                       "paused",           "paused_s",
                                       "corrupt_records",  "torn_bytes",
                                       "appended_records", "appended_bytes",
                                       "metadata",         "checkpoint_bytes",
                                       "writer_failing",   "writer_errors",
                                       "writer_error",     "sync"};
    struct lc_snapshot *s = lc_snapshot_create(0, 0, 1, 0);
    int ok;
    json_t *j, *o0, *sp;
    strcpy(s->outputs[0].name, "files");
    strcpy(s->outputs[0].type, "file");
    s->outputs[0].dead_lettered = 5;
    s->outputs[0].dead_letter_records = 4;
    s->outputs[0].backlog_records = 120;
    s->outputs[0].backlog_bytes = 65536;
    s->outputs[0].oldest_age_s = 42.25;
    s->spool.enabled = 1;
    s->spool.bytes = 805306368;
    s->spool.max_bytes = 1073741824;
    s->spool.records = 1500000;
    s->spool.segments = 12;
    s->spool.full = 0;
    s->spool.paused = 1;
    s->spool.paused_seconds = 12.5;
    s->spool.corrupt_records = 3;
    s->spool.torn_bytes = 117;
    s->spool.appended_records = 2000000;
    s->spool.appended_bytes = 900000000;
    s->spool.sync_buckets[LC_SYNC_BUCKETS - 1] = 37;
    s->spool.sync_count = 38;
    s->spool.sync_seconds_sum = 7.125;
    s->spool.writer_errors = 9;
    s->spool.metadata = 40;
    s->spool.checkpoint_bytes = 12345;
    s->outputs[0].reader_meta_slots = 128;
    j = parse(lc_health_render_stats(s), &ok);
    ASSERT_TRUE(ok);
    o0 = json_array_get(json_object_get(j, "outputs"), 0);
    ASSERT_TRUE(num(o0, "dead_lettered", NULL) == 5);
    ASSERT_TRUE(num(o0, "dead_letter_records", NULL) == 4);
    ASSERT_EQ(json_integer_value(json_object_get(o0, "backlog_records")), 120);
    ASSERT_EQ(json_integer_value(json_object_get(o0, "backlog_bytes")), 65536);
    ASSERT_TRUE(num(o0, "oldest_unacked_age_s", NULL) == 42.25);
    ASSERT_TRUE(num(o0, "reader_meta_slots", NULL) == 128);
    sp = json_object_get(j, "spool");
    ASSERT_TRUE(json_is_object(sp));
    ASSERT_EQ(json_object_size(sp), sizeof(keys) / sizeof(keys[0]));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        ASSERT_TRUE(json_object_get(sp, keys[i]) != NULL);
    }
    ASSERT_TRUE(json_is_true(json_object_get(sp, "enabled")));
    ASSERT_EQ(json_integer_value(json_object_get(sp, "bytes")), 805306368);
    ASSERT_EQ(json_integer_value(json_object_get(sp, "max_bytes")), 1073741824);
    ASSERT_EQ(json_integer_value(json_object_get(sp, "records")), 1500000);
    ASSERT_EQ(json_integer_value(json_object_get(sp, "segments")), 12);
    ASSERT_TRUE(json_is_false(json_object_get(sp, "full")));
    ASSERT_TRUE(json_is_true(json_object_get(sp, "paused")));
    ASSERT_TRUE(num(sp, "paused_s", NULL) == 12.5);
    ASSERT_EQ(json_integer_value(json_object_get(sp, "corrupt_records")), 3);
    ASSERT_EQ(json_integer_value(json_object_get(sp, "torn_bytes")), 117);
    ASSERT_EQ(json_integer_value(json_object_get(sp, "appended_records")), 2000000);
    ASSERT_EQ(json_integer_value(json_object_get(sp, "appended_bytes")), 900000000);
    ASSERT_TRUE(json_is_false(json_object_get(sp, "writer_failing")));
    ASSERT_EQ(json_integer_value(json_object_get(sp, "writer_errors")), 9);
    ASSERT_EQ(json_integer_value(json_object_get(sp, "metadata")), 40);
    ASSERT_EQ(json_integer_value(json_object_get(sp, "checkpoint_bytes")), 12345);
    ASSERT_TRUE(json_is_null(json_object_get(sp, "writer_error")));
    ASSERT_EQ(json_object_size(json_object_get(sp, "sync")), 2);
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(sp, "sync"), "count")), 38);
    ASSERT_TRUE(num(sp, "sync", "seconds_sum") == 7.125);
    json_decref(j);
    /* Before the first snapshot: empty arrays and no spool. */
    j = parse(lc_health_render_stats(NULL), &ok);
    ASSERT_TRUE(ok);
    ASSERT_EQ(json_array_size(json_object_get(j, "outputs")), 0);
    ASSERT_TRUE(json_is_null(json_object_get(j, "spool")));
    json_decref(j);
    lc_snapshot_put(s);
}

TEST(render_version)
{
    char *body = lc_health_render_version("1.2.3");
    ASSERT_STR_EQ(body, "{\"version\":\"1.2.3\",\"api\":1}\n");
    free(body);
}

/* ---- the snapshot box --------------------------------------------------------------- */

TEST(box_publish_get_put)
{
    struct lc_snapshot_box box;
    struct lc_snapshot *a = snap_new(1), *b = snap_new(2), *got;
    lc_snapshot_box_init(&box);
    ASSERT_TRUE(lc_snapshot_get(&box) == NULL);
    lc_snapshot_publish(&box, a);
    got = lc_snapshot_get(&box);
    ASSERT_TRUE(got == a);
    ASSERT_EQ(a->refs, 2);
    lc_snapshot_publish(&box, b); /* A lives on through GOT */
    ASSERT_EQ(a->refs, 1);
    ASSERT_EQ(got->n_tasks, 1);
    lc_snapshot_put(got); /* frees A (ASan would see a leak otherwise) */
    got = lc_snapshot_get(&box);
    ASSERT_TRUE(got == b);
    lc_snapshot_put(got);
    lc_snapshot_put(NULL);
    lc_snapshot_box_close(&box); /* frees B */
}

struct race {
    struct lc_snapshot_box box;
    int stop;
    long reads;
};

static void *reader(void *arg)
{
    struct race *r = arg;
    while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
        struct lc_snapshot *s = lc_snapshot_get(&r->box);
        if (s != NULL) {
            /* Touch the arrays: a snapshot freed under us is an ASan report. */
            volatile size_t n = s->n_tasks;
            for (size_t i = 0; i < n; i++) {
                volatile char c = s->tasks[i].id[0];
                (void)c;
            }
            __atomic_add_fetch(&r->reads, 1, __ATOMIC_RELAXED);
        }
        lc_snapshot_put(s);
    }
    return NULL;
}

TEST(box_publisher_races_readers)
{
    struct race r;
    pthread_t th[3];
    memset(&r, 0, sizeof(r));
    lc_snapshot_box_init(&r.box);
    for (int i = 0; i < 3; i++) {
        pthread_create(&th[i], NULL, reader, &r);
    }
    for (int i = 0; i < 20000 || __atomic_load_n(&r.reads, __ATOMIC_RELAXED) < 1000; i++) {
        lc_snapshot_publish(&r.box, snap_new((size_t)(i % 7)));
    }
    __atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
    }
    ASSERT_TRUE(r.reads >= 1000);
    lc_snapshot_box_close(&r.box);
}

TEST_MAIN(TEST_ENTRY(healthy), TEST_ENTRY(unhealthy_loop_flag),
          TEST_ENTRY(unhealthy_loop_last_turn_old), TEST_ENTRY(unhealthy_docker_unreachable),
          TEST_ENTRY(verdict_ignores_the_wall_clock), TEST_ENTRY(task_timeout_fallbacks),
          TEST_ENTRY(no_snapshot), TEST_ENTRY(degraded_task_states),
          TEST_ENTRY(degraded_recent_restart), TEST_ENTRY(degraded_spool_full),
          TEST_ENTRY(degraded_output_failing), TEST_ENTRY(spool_full_rule_order),
          TEST_ENTRY(unhealthy_spool_writer_failing), TEST_ENTRY(unhealthy_spool_writer_stalled),
          TEST_ENTRY(unhealthy_wins_over_degraded), TEST_ENTRY(names), TEST_ENTRY(render_health),
          TEST_ENTRY(render_health_spool), TEST_ENTRY(render_health_unhealthy_and_brief),
          TEST_ENTRY(render_health_docker_down), TEST_ENTRY(render_health_two_inputs),
          TEST_ENTRY(render_health_without_snapshot), TEST_ENTRY(render_tasks),
          TEST_ENTRY(render_stats), TEST_ENTRY(render_stats_spool), TEST_ENTRY(render_version),
          TEST_ENTRY(box_publish_get_put), TEST_ENTRY(box_publisher_races_readers))
