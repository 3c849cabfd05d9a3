/* ingest: see ingest.h. */
#include "pipeline/ingest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

#define KEY_MAX 512 /* "<name>/<key>": input names and position keys are short */

struct lc_ingest_input {
    struct lc_ingest *in;
    struct lc_ingest_input *next;
    struct lc_ingest_input_cbs cbs;
    char *name;
};

struct processor {
    const struct lc_processor_ops *ops;
    void *state;
};

struct lc_ingest {
    uv_loop_t *loop;
    struct lc_spool *sp;
    struct lc_ingest_input *inputs;
    struct processor procs[LC_INGEST_MAX_PROCESSORS];
    size_t n_procs;
    uv_check_t commit_check; /* commits each loop turn's appends */
    uv_idle_t pause_idle;    /* pauses the inputs on the next turn */
    int paused;
    int pause_pending;
    int stopped;
    int open_handles;
    int destroyed;
};

struct lc_ingest *lc_ingest_create(uv_loop_t *loop, struct lc_spool *spool)
{
    struct lc_ingest *in = lc_xcalloc(1, sizeof(*in));
    in->loop = loop;
    in->sp = spool;
    uv_check_init(loop, &in->commit_check);
    uv_idle_init(loop, &in->pause_idle);
    in->commit_check.data = in;
    in->pause_idle.data = in;
    in->open_handles = 2;
    return in;
}

int lc_ingest_add_processor(struct lc_ingest *in, const struct lc_processor_ops *ops, void *state)
{
    if (in->n_procs == LC_INGEST_MAX_PROCESSORS) {
        return -E2BIG;
    }
    in->procs[in->n_procs++] = (struct processor){.ops = ops, .state = state};
    return 0;
}

struct lc_ingest_input *lc_ingest_attach(struct lc_ingest *in, const char *name,
                                         const struct lc_ingest_input_cbs *cbs)
{
    struct lc_ingest_input *src = lc_xcalloc(1, sizeof(*src));
    src->in = in;
    src->cbs = *cbs;
    src->name = lc_xstrdup(name);
    src->next = in->inputs;
    in->inputs = src;
    return src;
}

void lc_ingest_detach(struct lc_ingest_input *src)
{
    struct lc_ingest_input **pp;
    if (src == NULL) {
        return;
    }
    for (pp = &src->in->inputs; *pp != NULL && *pp != src; pp = &(*pp)->next) {
    }
    if (*pp == src) {
        *pp = src->next;
    }
    free(src->name);
    free(src);
}

json_t *lc_ingest_positions(struct lc_ingest_input *src)
{
    json_t *all = lc_spool_positions(src->in->sp), *mine = json_object(), *v;
    size_t n = strlen(src->name);
    const char *key;
    json_object_foreach(all, key, v)
    {
        if (strncmp(key, src->name, n) == 0 && key[n] == '/') {
            json_object_set(mine, key + n + 1, v);
        }
    }
    json_decref(all);
    return mine;
}

/* ---- pause and resume ---------------------------------------------------------------- */

static void pause_all(struct lc_ingest *in, int pause)
{
    for (struct lc_ingest_input *src = in->inputs; src != NULL; src = src->next) {
        if (src->cbs.pause != NULL) {
            src->cbs.pause(src->cbs.ud, pause);
        }
    }
}

static void pause_idle_cb(uv_idle_t *h)
{
    struct lc_ingest *in = h->data;
    uv_idle_stop(h);
    in->pause_pending = 0;
    if (in->paused && !in->stopped) {
        pause_all(in, 1);
    }
}

/* curl does not allow pausing other transfers from inside a write callback, so the pause
 * reaches the inputs on the next loop turn; their reads until then are bounded. */
static void request_pause(struct lc_ingest *in)
{
    if (in->paused) {
        return;
    }
    in->paused = 1;
    lc_log(LC_LOG_WARN, 0,
           "[ingest] the spool is full; pausing the inputs (Docker keeps the lines "
           "meanwhile)");
    if (!in->pause_pending) {
        in->pause_pending = 1;
        uv_idle_start(&in->pause_idle, pause_idle_cb);
    }
}

void lc_ingest_resume(struct lc_ingest *in)
{
    if (!in->paused) {
        return;
    }
    in->paused = 0;
    lc_log(LC_LOG_INFO, 0, "[ingest] the spool has room again; resuming the inputs");
    if (!in->stopped) {
        pause_all(in, 0);
    }
}

int lc_ingest_paused(const struct lc_ingest *in)
{
    return in->paused;
}

/* ---- appends ------------------------------------------------------------------------- */

void lc_ingest_commit(struct lc_ingest *in)
{
    for (struct lc_ingest_input *src = in->inputs; src != NULL; src = src->next) {
        if (src->cbs.flush != NULL) {
            src->cbs.flush(src->cbs.ud);
        }
    }
    if (lc_spool_txn_bytes(in->sp) > 0 && lc_spool_commit(in->sp)) {
        request_pause(in);
    }
}

void lc_ingest_commit_from(struct lc_ingest_input *src)
{
    lc_ingest_commit(src->in);
}

static void commit_check_cb(uv_check_t *h)
{
    lc_ingest_commit(h->data);
}

int lc_ingest_add(struct lc_ingest_input *src, struct lc_meta *meta,
                  const struct lc_line_view *line)
{
    struct lc_ingest *in = src->in;
    struct lc_line_view view = *line;
    int rc;
    /* A burst is committed before the line that would take it further, not after: the
     * input accounts a line (its position) once this returns, and a commit must carry the
     * positions of every line in it. */
    if (lc_spool_txn_bytes(in->sp) >= LC_SPOOL_TXN_SOFT_MAX) {
        lc_ingest_commit(in);
    }
    for (size_t i = 0; i < in->n_procs; i++) {
        if (in->procs[i].ops->process(in->procs[i].state, meta, &view) == LC_PROCESS_DROP) {
            return 0;
        }
    }
    rc = lc_spool_add_fields(in->sp, meta, view.fields, view.stream, view.ts_ns, view.ts,
                             view.ts_len, view.msg, view.len, view.truncated);
    return rc == 0 ? 1 : rc;
}

void lc_ingest_set_position(struct lc_ingest_input *src, const char *key, const char *value,
                            size_t vlen)
{
    char full[KEY_MAX];
    snprintf(full, sizeof(full), "%s/%s", src->name, key);
    lc_spool_set_position(src->in->sp, full, value, vlen);
}

void lc_ingest_forget_meta(struct lc_ingest_input *src, struct lc_meta *meta)
{
    lc_spool_forget_meta(src->in->sp, meta);
}

/* ---- lifecycle ----------------------------------------------------------------------- */

void lc_ingest_start(struct lc_ingest *in)
{
    uv_check_start(&in->commit_check, commit_check_cb);
    uv_unref((uv_handle_t *)&in->commit_check);
}

void lc_ingest_stop(struct lc_ingest *in)
{
    if (in->stopped) {
        return;
    }
    uv_check_stop(&in->commit_check);
    uv_idle_stop(&in->pause_idle);
    lc_ingest_commit(in); /* the last lines taken, with their positions */
    in->stopped = 1;
}

static void handle_closed(uv_handle_t *h)
{
    struct lc_ingest *in = h->data;
    if (--in->open_handles == 0 && in->destroyed) {
        while (in->inputs != NULL) {
            lc_ingest_detach(in->inputs);
        }
        free(in);
    }
}

void lc_ingest_destroy(struct lc_ingest *in)
{
    if (in == NULL) {
        return;
    }
    lc_ingest_stop(in);
    in->destroyed = 1;
    uv_close((uv_handle_t *)&in->commit_check, handle_closed);
    uv_close((uv_handle_t *)&in->pause_idle, handle_closed);
}
