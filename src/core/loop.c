/* loop: see loop.h. */
#include "core/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "api/api.h"
#include "core/log.h"
#include "core/pipeline.h"
#include "core/snapshot.h"
#include "core/supervisor.h"
#include "core/util.h"
#include "inputs/docker/docker.h"
#include "outputs/output.h"

/* Records in memory between the inputs and the outputs; past it the inputs pause. */
#define QUEUE_MAX_BYTES (2u << 20)
/* SIGTERM must end the process within 10 s; the outputs get most of it. */
#define STOP_OUTPUTS_MS 7000

#define SNAPSHOT_MS 1000
#define MAX_OUTPUT_TASKS 64

struct lc_daemon;

struct output_task {
    struct lc_daemon *d;
    size_t index;
    struct lc_task *task;
};

struct lc_daemon {
    uv_loop_t loop;
    const struct lc_config *cfg;
    int64_t started_ns;
    struct lc_snapshot_box box;
    struct lc_supervisor *sup;
    struct lc_pipeline *pipeline;
    struct lc_docker *docker;
    struct lc_api *api;
    struct output_task outputs[MAX_OUTPUT_TASKS];
    size_t n_outputs;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    uv_timer_t snapshot_timer;
    uv_async_t wedge_async;
    pthread_mutex_t wedge_lock;
    char wedge_id[LC_SNAP_ID_MAX]; /* a test hook request from the API thread */
    int handles_open;
    int stopping;
};

static void on_commit(void *ud, uint64_t seq)
{
    struct lc_daemon *d = ud;
    if (d->docker != NULL) {
        lc_docker_on_commit(d->docker, seq);
    }
}

static void on_resume(void *ud)
{
    struct lc_daemon *d = ud;
    if (d->docker != NULL) {
        lc_docker_on_resume(d->docker);
    }
}

static void close_handles(struct lc_daemon *d)
{
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->sigint, NULL);
    uv_close((uv_handle_t *)&d->snapshot_timer, NULL);
    uv_close((uv_handle_t *)&d->wedge_async, NULL);
}

/* ---- snapshots for the API ---------------------------------------------------------- */

static void fill_outputs(struct lc_daemon *d, struct lc_snapshot *snap)
{
    free(snap->outputs); /* replaces what lc_snapshot_create sized */
    snap->outputs = lc_xcalloc(d->cfg->n_outputs ? d->cfg->n_outputs : 1, sizeof(*snap->outputs));
    for (size_t i = 0; i < d->cfg->n_outputs; i++) {
        struct lc_output_snap *os = &snap->outputs[i];
        struct lc_output_stats st;
        if (lc_pipeline_output_stats(d->pipeline, i, &st) != 0) {
            break;
        }
        snprintf(os->name, sizeof(os->name), "%s", d->cfg->outputs[i].name);
        snprintf(os->type, sizeof(os->type), "%s", d->cfg->outputs[i].type);
        os->records = st.records;
        os->bytes = st.bytes;
        os->retries = st.retries;
        os->rejected = st.rejected;
        os->lag_s = st.lag_s;
        snap->n_outputs = i + 1;
    }
}

static void publish_snapshot(struct lc_daemon *d)
{
    struct lc_snapshot *snap = lc_snapshot_create(0, 0, 0, 0);
    snap->taken_ns = lc_wall_ns();
    snap->started_ns = d->started_ns;
    snap->version = LOGCAP_VERSION;
    snap->task_timeout_ms = d->cfg->supervisor.task_timeout_ms;
    lc_supervisor_fill(d->sup, snap);
    if (d->docker != NULL) {
        lc_docker_fill(d->docker, snap);
    }
    fill_outputs(d, snap);
    lc_snapshot_publish(&d->box, snap);
}

static void snapshot_cb(uv_timer_t *t)
{
    publish_snapshot(t->data);
}

/* ---- test hook: the API thread asks, the loop wedges --------------------------------- */

static void wedge_async_cb(uv_async_t *a)
{
    struct lc_daemon *d = a->data;
    char id[LC_SNAP_ID_MAX];
    pthread_mutex_lock(&d->wedge_lock);
    memcpy(id, d->wedge_id, sizeof(id));
    d->wedge_id[0] = '\0';
    pthread_mutex_unlock(&d->wedge_lock);
    if (id[0] == '\0' || d->stopping) {
        return;
    }
    if (d->docker == NULL || lc_docker_wedge(d->docker, id) != 0) {
        lc_supervisor_wedge(d->sup, id);
    }
}

/* API thread: answers from the published task list (404 for an unknown id). */
static int wedge_cb(void *ud, const char *task_id)
{
    struct lc_daemon *d = ud;
    struct lc_snapshot *snap = lc_snapshot_get(&d->box);
    int found = 0;
    for (size_t i = 0; snap != NULL && i < snap->n_tasks; i++) {
        found |= strcmp(snap->tasks[i].id, task_id) == 0;
    }
    lc_snapshot_put(snap);
    if (!found) {
        return -ENOENT;
    }
    pthread_mutex_lock(&d->wedge_lock);
    snprintf(d->wedge_id, sizeof(d->wedge_id), "%s", task_id);
    pthread_mutex_unlock(&d->wedge_lock);
    uv_async_send(&d->wedge_async);
    return 0;
}

/* ---- start and stop ------------------------------------------------------------------ */

static void stop(struct lc_daemon *d)
{
    if (d->stopping) {
        return;
    }
    d->stopping = 1;
    lc_log(LC_LOG_INFO, 0, "[logcap] stopping: flushing outputs and saving positions");
    uv_timer_stop(&d->snapshot_timer);
    lc_api_stop(d->api);
    d->api = NULL;
    if (d->sup != NULL) {
        lc_supervisor_stop(d->sup);
    }
    if (d->docker != NULL) {
        lc_docker_stop(d->docker);
    }
    if (d->pipeline != NULL) {
        lc_pipeline_stop(d->pipeline, STOP_OUTPUTS_MS);
    }
    if (d->docker != NULL) {
        lc_docker_save_positions(d->docker);
        lc_docker_destroy(d->docker);
        d->docker = NULL;
    }
    if (lc_pipeline_destroy(d->pipeline) == 0) {
        for (size_t i = 0; i < d->n_outputs; i++) {
            lc_task_destroy(d->outputs[i].task);
        }
    } /* else abandoned delivery threads still hold their tasks */
    d->pipeline = NULL;
    d->n_outputs = 0;
    lc_supervisor_destroy(d->sup);
    d->sup = NULL;
    close_handles(d);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct lc_daemon *d = h->data;
    lc_log(LC_LOG_INFO, 0, "[logcap] received %s", strsignal(signum));
    stop(d);
}

static void restart_output(void *ud)
{
    struct output_task *ot = ud;
    lc_pipeline_restart_output(ot->d->pipeline, ot->index);
}

static int add_outputs(struct lc_daemon *d)
{
    static const struct lc_task_ops ops_task = {.restart = restart_output};
    for (size_t i = 0; i < d->cfg->n_outputs && i < MAX_OUTPUT_TASKS; i++) {
        const struct lc_output_config *oc = &d->cfg->outputs[i];
        const struct lc_output_ops *ops = lc_output_find(oc->type);
        struct output_task *ot = &d->outputs[i];
        char id[LC_SNAP_ID_MAX];
        int rc;
        if (ops == NULL) {
            lc_log(LC_LOG_ERROR, 0, "[output:%s] unknown type %s", oc->name, oc->type);
            return -EINVAL;
        }
        snprintf(id, sizeof(id), "output_%s", oc->name);
        ot->d = d;
        ot->index = i;
        ot->task = lc_task_create(d->sup, id, "output", &ops_task, ot);
        d->n_outputs = i + 1;
        lc_task_set_state(ot->task, LC_TASK_RUNNING);
        rc = lc_pipeline_add_output(d->pipeline, ops, oc, ot->task);
        if (rc != 0) {
            lc_log(LC_LOG_ERROR, rc, "[output:%s] cannot start", oc->name);
            return rc;
        }
    }
    return 0;
}

static void init_handles(struct lc_daemon *d)
{
    uv_signal_init(&d->loop, &d->sigterm);
    uv_signal_init(&d->loop, &d->sigint);
    uv_timer_init(&d->loop, &d->snapshot_timer);
    uv_async_init(&d->loop, &d->wedge_async, wedge_async_cb);
    d->sigterm.data = d;
    d->sigint.data = d;
    d->snapshot_timer.data = d;
    d->wedge_async.data = d;
}

static struct lc_supervisor *create_supervisor(struct lc_daemon *d)
{
    const struct lc_config *c = d->cfg;
    struct lc_supervisor_config sc = {
        .check_interval_ms = c->supervisor.check_interval_ms,
        .task_timeout_ms = c->supervisor.task_timeout_ms,
        .backoff_min_ms = c->supervisor.restart_backoff_min_ms,
        .backoff_max_ms = c->supervisor.restart_backoff_max_ms,
        .loop_stall_timeout_ms = c->supervisor.loop_stall_timeout_ms,
    };
    return lc_supervisor_create(&d->loop, &sc, &d->box);
}

static int start_api(struct lc_daemon *d)
{
    struct lc_api_config ac = {
        .listen = d->cfg->api_listen,
        .token = d->cfg->api_token,
        .task_timeout_ms = d->cfg->supervisor.task_timeout_ms,
        .loop_stall_timeout_ms = d->cfg->supervisor.loop_stall_timeout_ms,
#ifdef LOGCAP_TEST_HOOKS
        .test_hooks = 1,
#endif
    };
    d->api = lc_api_start(&ac, &d->box, wedge_cb, d);
    return d->api != NULL ? 0 : -1;
}

static int start(struct lc_daemon *d)
{
    init_handles(d);
    d->sup = create_supervisor(d);
    d->pipeline = lc_pipeline_create(&d->loop, QUEUE_MAX_BYTES, on_commit, on_resume, d);
    if (add_outputs(d) != 0 || lc_pipeline_start(d->pipeline) != 0) {
        return -1;
    }
    if (d->cfg->docker.enabled) {
        d->docker = lc_docker_create(&d->loop, d->cfg, d->pipeline, d->sup);
        if (d->docker == NULL) {
            return -1;
        }
        lc_docker_start(d->docker);
    }
    publish_snapshot(d);
    if (start_api(d) != 0 || lc_supervisor_start(d->sup) != 0) {
        return -1;
    }
    uv_timer_start(&d->snapshot_timer, snapshot_cb, SNAPSHOT_MS, SNAPSHOT_MS);
    uv_signal_start(&d->sigterm, on_signal, SIGTERM);
    uv_signal_start(&d->sigint, on_signal, SIGINT);
    lc_log(LC_LOG_INFO, 0, "[logcap] started (version %s, data_dir %s)", LOGCAP_VERSION,
           d->cfg->data_dir);
    return 0;
}

int lc_loop_run(const struct lc_config *cfg)
{
    struct lc_daemon d;
    int rc = 0;

    memset(&d, 0, sizeof(d));
    d.cfg = cfg;
    d.started_ns = lc_wall_ns();
    signal(SIGPIPE, SIG_IGN);
    lc_snapshot_box_init(&d.box);
    pthread_mutex_init(&d.wedge_lock, NULL);
    uv_loop_init(&d.loop);
    if (start(&d) != 0) {
        rc = 1;
        d.stopping = 0;
        stop(&d); /* tears down whatever did start, in order */
    }
    uv_run(&d.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&d.loop) != 0) {
        lc_log(LC_LOG_WARN, 0, "[logcap] event loop closed with handles still open");
    }
    lc_snapshot_box_close(&d.box);
    pthread_mutex_destroy(&d.wedge_lock);
    if (rc == 0) {
        lc_log(LC_LOG_INFO, 0, "[logcap] stopped cleanly");
    }
    return rc;
}
