/* loop: see loop.h. */
#include "daemon/loop.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "api/api.h"
#include "base/log.h"
#include "delivery/delivery.h"
#include "core/snapshot.h"
#include "spool/spool.h"
#include "supervisor/supervisor.h"
#include "base/util.h"
#include "inputs/registry.h"
#include "outputs/registry.h"
#include "pipeline/ingest.h"

/* SIGTERM must end the process within 10 s; the outputs get most of it. */
#define STOP_OUTPUTS_MS 7000

#define SNAPSHOT_MS 1000
#define MAX_OUTPUT_TASKS 64
#define MAX_INPUTS 64 /* as many as the config takes (inputs: entries) */

struct lc_daemon;

/* One input instance: its type's operations, its state and its handle on the ingest. */
struct input {
    const struct lc_input_ops *ops;
    void *state;
    const char *name; /* its config section's (d->sections) */
    struct lc_ingest_input *src;
    int64_t down_mono_ns; /* first snapshot that saw its source unreachable; 0: connected */
};

/* An output instance as the daemon knows it: by name (the delivery engine addresses it so). */
struct output_task {
    struct lc_daemon *d;
    struct lc_task *task;
    struct lc_output_config cfg; /* the output's own copy of its config section (its name) */
};

struct lc_daemon {
    uv_loop_t loop;
    const struct lc_config *cfg;
    int64_t started_mono_ns;
    struct lc_snapshot_box box;
    struct lc_supervisor *sup;
    struct lc_spool *spool;
    struct lc_task *spool_task;
    int spool_failing; /* atomic: the writer's task shows a write failure */
    struct lc_delivery *delivery;
    struct lc_ingest *ingest;
    struct input inputs[MAX_INPUTS];
    /* Each input's own copy of its config section; freed once the loop closed its handles. */
    struct lc_input_config sections[MAX_INPUTS];
    size_t n_sections;
    size_t n_inputs;
    struct lc_api *api;
    struct output_task outputs[MAX_OUTPUT_TASKS];
    size_t n_outputs;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    uv_timer_t snapshot_timer;
    uv_async_t wedge_async;
    uv_async_t room_async; /* the spool writer says there is room again */
    pthread_mutex_t wedge_lock;
    char wedge_id[LC_SNAP_ID_MAX]; /* a test hook request from the API thread */
    int handles_open;
    int stopping;
};

static void room_async_cb(uv_async_t *a)
{
    struct lc_daemon *d = a->data;
    if (d->ingest != NULL && !d->stopping) {
        lc_ingest_resume(d->ingest);
    }
}

/* ---- the spool writer's hooks (writer thread) ------------------------------------------ */

static void spool_room(void *ud)
{
    struct lc_daemon *d = ud;
    uv_async_send(&d->room_async);
}

/* The writer's task is failed while its writes fail (it beats all the while: it retries
 * every second), with the errno as last_error, and running again after the first write
 * that works. /health judges the writer from the spool's figures, not from this. */
static void spool_beat(void *ud, int progress)
{
    struct lc_daemon *d = ud;
    if (!progress) {
        lc_task_beat(d->spool_task);
        return;
    }
    lc_task_progress(d->spool_task);
    if (__atomic_exchange_n(&d->spool_failing, 0, __ATOMIC_ACQ_REL)) {
        lc_task_ok(d->spool_task);
        lc_task_set_state(d->spool_task, LC_TASK_RUNNING);
    }
}

static void spool_error(void *ud, int err, const char *what)
{
    struct lc_daemon *d = ud;
    lc_task_error(d->spool_task, err, "%s", what);
    lc_task_set_state(d->spool_task, LC_TASK_FAILED);
    __atomic_store_n(&d->spool_failing, 1, __ATOMIC_RELEASE);
}

static void close_handles(struct lc_daemon *d)
{
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->sigint, NULL);
    uv_close((uv_handle_t *)&d->snapshot_timer, NULL);
    uv_close((uv_handle_t *)&d->wedge_async, NULL);
    uv_close((uv_handle_t *)&d->room_async, NULL);
}

/* ---- snapshots for the API ---------------------------------------------------------- */

static void fill_outputs(struct lc_daemon *d, struct lc_snapshot *snap)
{
    free(snap->outputs); /* replaces what lc_snapshot_create sized */
    snap->outputs = lc_xcalloc(d->cfg->n_outputs ? d->cfg->n_outputs : 1, sizeof(*snap->outputs));
    for (size_t i = 0; d->delivery != NULL && i < d->cfg->n_outputs; i++) {
        if (lc_delivery_fill(d->delivery, i, &snap->outputs[i]) != 0) {
            break;
        }
        snap->n_outputs = i + 1;
    }
    if (d->spool != NULL) {
        lc_spool_fill(d->spool, &snap->spool);
    }
}

/* How long an input's source (Docker) has been unreachable is judged on the monotonic clock
 * (/health turns unhealthy past task_timeout). The input keeps the wall-clock time it lost
 * its source, for showing; the publisher notes the monotonic time of the first snapshot
 * that saw it unreachable (at most one snapshot interval late, against limits of minutes),
 * so a step of the wall clock neither fires nor hides that verdict. */
static void fill_input(struct input *in, struct lc_snapshot *snap)
{
    struct lc_input_snap *self = lc_snapshot_add_input(snap, in->name, in->ops->type);
    in->ops->snapshot(in->state, snap, self);
    if (self->connected) {
        in->down_mono_ns = 0;
    } else if (in->down_mono_ns == 0) {
        in->down_mono_ns = snap->taken_mono_ns;
    }
    self->unreachable_mono_ns = in->down_mono_ns;
}

static void publish_snapshot(struct lc_daemon *d)
{
    struct lc_snapshot *snap = lc_snapshot_create(0, 0, 0, 0);
    snap->taken_mono_ns = lc_mono_ns();
    snap->started_mono_ns = d->started_mono_ns;
    snap->version = LOGCAP_VERSION;
    snap->task_timeout_ms = d->cfg->supervisor.task_timeout_ms;
    lc_supervisor_fill(d->sup, snap);
    for (size_t i = 0; i < d->n_inputs; i++) {
        fill_input(&d->inputs[i], snap);
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
    for (size_t i = 0; i < d->n_inputs; i++) {
        const struct input *in = &d->inputs[i];
        if (in->ops->wedge != NULL && in->ops->wedge(in->state, id) == 0) {
            return;
        }
    }
    lc_supervisor_wedge(d->sup, id);
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

/* API thread: the test fault switch of an output. */
static int fault_cb(void *ud, const char *name, const char *mode, const char *match)
{
    struct lc_daemon *d = ud;
    return lc_delivery_fault(d->delivery, name, mode, match);
}

/* API thread: POST /dead/replay. */
static int replay_cb(void *ud, const char *output)
{
    struct lc_daemon *d = ud;
    return lc_delivery_request_replay(d->delivery, output);
}

/* API thread: GET /dead,
 * {"outputs":[{"name":..,"records":..,"replay":..,"replayed":..,"refused":..}]}. */
static json_t *dead_cb(void *ud)
{
    struct lc_daemon *d = ud;
    json_t *outs = json_array(), *root = json_object();
    for (size_t i = 0; i < d->n_outputs; i++) {
        const char *state;
        uint64_t replayed, refused, in_file;
        if (lc_delivery_replay_state(d->delivery, i, &state, &replayed, &refused, &in_file) != 0) {
            break;
        }
        json_array_append_new(outs,
                              json_pack("{s:s,s:I,s:s,s:I,s:I}", "name", d->outputs[i].cfg.name,
                                        "records", (json_int_t)in_file, "replay", state, "replayed",
                                        (json_int_t)replayed, "refused", (json_int_t)refused));
    }
    json_object_set_new(root, "outputs", outs);
    return root;
}

/* ---- start and stop ------------------------------------------------------------------ */

static void destroy_inputs(struct lc_daemon *d)
{
    for (size_t i = 0; i < d->n_inputs; i++) {
        struct input *in = &d->inputs[i];
        in->ops->destroy(in->state);
    }
    d->n_inputs = 0;
    lc_ingest_destroy(d->ingest); /* detaches the inputs' handles */
    d->ingest = NULL;
}

static void stop(struct lc_daemon *d)
{
    if (d->stopping) {
        return;
    }
    d->stopping = 1;
    lc_log(LC_LOG_INFO, 0,
           "[logcap] stopping: syncing the spool; the outputs deliver what it holds");
    uv_timer_stop(&d->snapshot_timer);
    lc_api_stop(d->api);
    d->api = NULL;
    if (d->sup != NULL) {
        lc_supervisor_stop(d->sup);
    }
    for (size_t i = 0; i < d->n_inputs; i++) {
        d->inputs[i].ops->stop(d->inputs[i].state);
    }
    if (d->ingest != NULL) {
        lc_ingest_stop(d->ingest); /* commits the inputs' last lines and positions */
    }
    if (d->spool != NULL) {
        lc_spool_stop(d->spool); /* writes and syncs them */
    }
    if (d->delivery != NULL) {
        lc_delivery_stop(d->delivery, STOP_OUTPUTS_MS); /* the outputs catch up with it */
    }
    destroy_inputs(d);
    if (lc_delivery_destroy(d->delivery) == 0) {
        for (size_t i = 0; i < d->n_outputs; i++) {
            lc_task_destroy(d->outputs[i].task);
            lc_config_output_free(&d->outputs[i].cfg);
        }
        lc_spool_close(d->spool);
        lc_task_destroy(d->spool_task);
    } /* else abandoned delivery threads still use the spool and hold their tasks */
    d->delivery = NULL;
    d->spool = NULL;
    d->spool_task = NULL;
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
    lc_delivery_restart_output(ot->d->delivery, ot->cfg.name);
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
        ot->task = lc_task_create(d->sup, id, "output", &ops_task, ot);
        lc_task_set_owner(ot->task, oc->name);
        lc_config_output_copy(&ot->cfg, oc);
        d->n_outputs = i + 1;
        lc_task_set_state(ot->task, LC_TASK_RUNNING);
        rc = lc_delivery_add_output(d->delivery, ops, &ot->cfg, ot->task);
        if (rc != 0) {
            lc_log(LC_LOG_ERROR, rc, "[output:%s] cannot start", oc->name);
            return rc;
        }
    }
    return 0;
}

/* The ingest stage's callbacks, bridged to the instance's operations. */
static void input_pause(void *ud, int pause)
{
    struct input *in = ud;
    if (pause) {
        in->ops->pause(in->state);
    } else {
        in->ops->resume(in->state);
    }
}

static void input_flush(void *ud)
{
    struct input *in = ud;
    if (in->state != NULL) {
        in->ops->positions(in->state);
    }
}

/* Creates an instance of the input IC on the ingest stage, with its own copy of IC. */
static int add_input(struct lc_daemon *d, const struct lc_input_config *ic)
{
    struct input *in = &d->inputs[d->n_inputs];
    struct lc_ingest_input_cbs cbs = {.pause = input_pause, .flush = input_flush, .ud = in};
    struct lc_input_config *section;
    struct lc_input_ctx ctx;
    if (d->n_inputs == MAX_INPUTS) {
        lc_log(LC_LOG_ERROR, 0, "[input:%s] more than %d inputs", ic->name, MAX_INPUTS);
        return -E2BIG;
    }
    in->ops = lc_input_find(ic->type);
    if (in->ops == NULL) {
        lc_log(LC_LOG_ERROR, 0, "[input:%s] unknown type %s", ic->name, ic->type);
        return -EINVAL;
    }
    section = &d->sections[d->n_sections++];
    lc_config_input_copy(section, ic);
    in->name = section->name;
    in->src = lc_ingest_attach(d->ingest, ic->name, &cbs);
    ctx = (struct lc_input_ctx){.loop = &d->loop,
                                .name = section->name,
                                .cfg = d->cfg,
                                .section = section,
                                .src = in->src,
                                .sup = d->sup};
    in->state = in->ops->create(&ctx);
    if (in->state == NULL) {
        lc_ingest_detach(in->src);
        return -EIO;
    }
    d->n_inputs++;
    return 0;
}

/* The ingest stage and one instance per configured input that is enabled (the top-level
 * docker: section is the input named docker; the config loader assembled the list). */
static int add_inputs(struct lc_daemon *d)
{
    d->ingest = lc_ingest_create(&d->loop, d->spool);
    for (size_t i = 0; i < d->cfg->n_inputs; i++) {
        int rc;
        if (!d->cfg->inputs[i].enabled) {
            continue;
        }
        rc = add_input(d, &d->cfg->inputs[i]);
        if (rc != 0) {
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
    uv_async_init(&d->loop, &d->room_async, room_async_cb);
    d->room_async.data = d;
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
    struct lc_api_hooks hooks = {
        .wedge = wedge_cb, .fault = fault_cb, .replay = replay_cb, .dead = dead_cb, .ud = d};
    d->api = lc_api_start(&ac, &d->box, &hooks);
    return d->api != NULL ? 0 : -1;
}

/* Opens (recovering) the spool in data_dir/spool; its writer is a task. */
static int open_spool(struct lc_daemon *d)
{
    const struct lc_config *c = d->cfg;
    size_t n = strlen(c->data_dir) + 16;
    char *dir = lc_xmalloc(n);
    struct lc_spool_recovery rec;
    struct lc_spool_options opt = {
        .dir = dir,
        .segment_bytes = c->spool.segment_bytes,
        .max_bytes = c->spool.max_bytes,
        .sync = c->spool.sync,
        .sync_interval_ms = c->spool.sync_interval_ms,
        .hooks = {.room = spool_room, .beat = spool_beat, .error = spool_error, .ud = d},
    };
    int rc;
    snprintf(dir, n, "%s/spool", c->data_dir);
    d->spool_task = lc_task_create(d->sup, "spool_writer", "spool", NULL, NULL);
    rc = lc_spool_open(&opt, &d->spool, &rec);
    free(dir);
    if (rc != 0) {
        return rc;
    }
    lc_task_set_state(d->spool_task, LC_TASK_RUNNING);
    if (!rec.fresh) {
        lc_log(LC_LOG_INFO, 0, "[spool] recovered %llu records in %llu segments (%llu bytes)",
               (unsigned long long)rec.records, (unsigned long long)rec.segments,
               (unsigned long long)rec.bytes);
    }
    d->delivery =
        lc_delivery_create(d->spool, c->data_dir, c->spool.sync, c->spool.sync_interval_ms);
    return 0;
}

static int start(struct lc_daemon *d)
{
    init_handles(d);
    d->sup = create_supervisor(d);
    if (open_spool(d) != 0 || add_outputs(d) != 0) {
        return -1;
    }
    if (add_inputs(d) != 0) {
        return -1;
    }
    if (lc_spool_start(d->spool) != 0 || lc_delivery_start(d->delivery) != 0) {
        return -1;
    }
    lc_ingest_start(d->ingest);
    for (size_t i = 0; i < d->n_inputs; i++) {
        d->inputs[i].ops->start(d->inputs[i].state);
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
    d.started_mono_ns = lc_mono_ns();
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
    for (size_t i = 0; i < d.n_sections; i++) {
        lc_config_input_free(&d.sections[i]);
    }
    if (rc == 0) {
        lc_log(LC_LOG_INFO, 0, "[logcap] stopped cleanly");
    }
    return rc;
}
