/* loop: see loop.h. */
#include "core/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/log.h"
#include "core/pipeline.h"
#include "inputs/docker/docker.h"
#include "outputs/output.h"

/* Records in memory between the inputs and the outputs; past it the inputs pause. */
#define QUEUE_MAX_BYTES (2u << 20)
/* SIGTERM must end the process within 10 s; the outputs get most of it. */
#define STOP_OUTPUTS_MS 7000

struct lc_daemon {
    uv_loop_t loop;
    const struct lc_config *cfg;
    struct lc_pipeline *pipeline;
    struct lc_docker *docker;
    uv_signal_t sigterm;
    uv_signal_t sigint;
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

static void stop(struct lc_daemon *d)
{
    if (d->stopping) {
        return;
    }
    d->stopping = 1;
    lc_log(LC_LOG_INFO, 0, "[logcap] stopping: flushing outputs and saving positions");
    if (d->docker != NULL) {
        lc_docker_stop(d->docker);
    }
    lc_pipeline_stop(d->pipeline, STOP_OUTPUTS_MS);
    if (d->docker != NULL) {
        lc_docker_save_positions(d->docker);
        lc_docker_destroy(d->docker);
        d->docker = NULL;
    }
    lc_pipeline_destroy(d->pipeline);
    d->pipeline = NULL;
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->sigint, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct lc_daemon *d = h->data;
    lc_log(LC_LOG_INFO, 0, "[logcap] received %s", strsignal(signum));
    stop(d);
}

static int add_outputs(struct lc_daemon *d)
{
    for (size_t i = 0; i < d->cfg->n_outputs; i++) {
        const struct lc_output_config *oc = &d->cfg->outputs[i];
        const struct lc_output_ops *ops = lc_output_find(oc->type);
        int rc;
        if (ops == NULL) {
            lc_log(LC_LOG_ERROR, 0, "[output:%s] unknown type %s", oc->name, oc->type);
            return -EINVAL;
        }
        rc = lc_pipeline_add_output(d->pipeline, ops, oc);
        if (rc != 0) {
            lc_log(LC_LOG_ERROR, rc, "[output:%s] cannot start", oc->name);
            return rc;
        }
    }
    return 0;
}

static int start(struct lc_daemon *d)
{
    d->pipeline = lc_pipeline_create(&d->loop, QUEUE_MAX_BYTES, on_commit, on_resume, d);
    if (add_outputs(d) != 0 || lc_pipeline_start(d->pipeline) != 0) {
        return -1;
    }
    if (d->cfg->docker.enabled) {
        d->docker = lc_docker_create(&d->loop, d->cfg, d->pipeline);
        if (d->docker == NULL) {
            return -1;
        }
        lc_docker_start(d->docker);
    }
    uv_signal_init(&d->loop, &d->sigterm);
    uv_signal_init(&d->loop, &d->sigint);
    d->sigterm.data = d;
    d->sigint.data = d;
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
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&d.loop);
    if (start(&d) != 0) {
        rc = 1;
        lc_docker_destroy(d.docker);
        d.docker = NULL;
        lc_pipeline_destroy(d.pipeline);
        d.pipeline = NULL;
        if (uv_is_active((uv_handle_t *)&d.sigterm)) {
            uv_close((uv_handle_t *)&d.sigterm, NULL);
            uv_close((uv_handle_t *)&d.sigint, NULL);
        }
    }
    uv_run(&d.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&d.loop) != 0) {
        lc_log(LC_LOG_WARN, 0, "[logcap] event loop closed with handles still open");
    }
    if (rc == 0) {
        lc_log(LC_LOG_INFO, 0, "[logcap] stopped cleanly");
    }
    return rc;
}
