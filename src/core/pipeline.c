/* pipeline: see pipeline.h. One mutex guards the queue and every cursor; outputs do their
 * I/O without it. Records stay in the list until every output has sent them, so a batch
 * taken under the lock stays valid while it is sent. */
#include "core/pipeline.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/supervisor.h"
#include "core/util.h"

#define MAX_OUTPUTS 16
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 5000

struct out {
    struct lc_pipeline *p;
    const struct lc_output_ops *ops;
    const struct lc_output_config *cfg;
    void *state;
    struct lc_task *task; /* may be NULL (tests) */
    int reinit;           /* atomic: the supervisor asked for a fresh output state */
    pthread_t thread;
    int running;
    int abandoned;          /* stuck in send or flush at stop; joined by destroy if it returns */
    struct lc_record *next; /* next record to send; NULL when caught up */
    uint64_t sent_seq;
    uint64_t acked_seq;
    uint64_t unflushed; /* records sent since the last flush */
    uint64_t last_flush_ms;
    struct lc_output_stats stats;
};

struct lc_pipeline {
    uv_loop_t *loop;
    uv_async_t commit_async;
    uv_async_t resume_async;
    uv_prepare_t wake; /* wakes idle outputs once per loop turn, not per record */
    int need_wake;
    int asyncs_open;
    lc_pipeline_commit_cb commit_cb;
    lc_pipeline_resume_cb resume_cb;
    void *ud;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct lc_record *head, *tail;
    size_t bytes;
    size_t max_bytes;
    int full;
    int stopping;
    int aborting;
    uint64_t last_seq;
    uint64_t committed_seq; /* min acked over outputs */
    uint64_t reported_seq;  /* last committed_seq given to commit_cb (loop thread) */

    struct out outs[MAX_OUTPUTS];
    size_t n_outs;
    int started;
    int stopped;
};

static void commit_async_cb(uv_async_t *a)
{
    struct lc_pipeline *p = a->data;
    uint64_t seq;
    pthread_mutex_lock(&p->lock);
    seq = p->committed_seq;
    pthread_mutex_unlock(&p->lock);
    if (seq > p->reported_seq) {
        p->reported_seq = seq;
        p->commit_cb(p->ud, seq);
    }
}

static void wake_cb(uv_prepare_t *h)
{
    struct lc_pipeline *p = h->data;
    if (p->need_wake) {
        p->need_wake = 0;
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
    }
}

static void resume_async_cb(uv_async_t *a)
{
    struct lc_pipeline *p = a->data;
    p->resume_cb(p->ud);
}

struct lc_pipeline *lc_pipeline_create(uv_loop_t *loop, size_t max_bytes,
                                       lc_pipeline_commit_cb commit_cb,
                                       lc_pipeline_resume_cb resume_cb, void *ud)
{
    struct lc_pipeline *p = lc_xcalloc(1, sizeof(*p));
    p->loop = loop;
    p->max_bytes = max_bytes;
    p->commit_cb = commit_cb;
    p->resume_cb = resume_cb;
    p->ud = ud;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    uv_async_init(loop, &p->commit_async, commit_async_cb);
    uv_async_init(loop, &p->resume_async, resume_async_cb);
    uv_prepare_init(loop, &p->wake);
    uv_prepare_start(&p->wake, wake_cb);
    uv_unref((uv_handle_t *)&p->wake);
    p->commit_async.data = p;
    p->resume_async.data = p;
    p->wake.data = p;
    p->asyncs_open = 3;
    return p;
}

int lc_pipeline_add_output(struct lc_pipeline *p, const struct lc_output_ops *ops,
                           const struct lc_output_config *cfg, struct lc_task *task)
{
    struct out *o;
    int rc;
    if (p->n_outs == MAX_OUTPUTS) {
        return -E2BIG;
    }
    o = &p->outs[p->n_outs];
    memset(o, 0, sizeof(*o));
    o->p = p;
    o->ops = ops;
    o->cfg = cfg;
    o->task = task;
    rc = ops->init(&o->state, cfg);
    if (rc != 0) {
        return rc;
    }
    p->n_outs++;
    return 0;
}

/* ---- delivery thread -------------------------------------------------------------- */

static void beat(struct out *o, int progress)
{
    if (o->task == NULL) {
        return;
    }
    if (progress) {
        lc_task_progress(o->task);
    } else {
        lc_task_beat(o->task);
    }
}

/* The supervisor found this output stalled and restarted it: start from a fresh state
 * (a stuck connection or library state goes with the old one). */
static void reinit_if_asked(struct out *o)
{
    int rc;
    if (!__atomic_exchange_n(&o->reinit, 0, __ATOMIC_ACQ_REL)) {
        return;
    }
    o->ops->destroy(o->state);
    o->state = NULL;
    rc = o->ops->init(&o->state, o->cfg);
    if (rc != 0) {
        lc_log(LC_LOG_ERROR, rc, "[output:%s] cannot restart", o->cfg->name);
        if (o->task != NULL) {
            lc_task_error(o->task, rc, "restart failed");
        }
        __atomic_store_n(&o->reinit, 1, __ATOMIC_RELEASE); /* try again next turn */
    } else if (o->task != NULL) {
        lc_task_set_state(o->task, LC_TASK_RUNNING);
    }
}

void lc_pipeline_restart_output(struct lc_pipeline *p, size_t i)
{
    if (i < p->n_outs) {
        __atomic_store_n(&p->outs[i].reinit, 1, __ATOMIC_RELEASE);
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
    }
}

/* Frees records every output has sent. Lock held. */
static void reclaim(struct lc_pipeline *p)
{
    uint64_t min = UINT64_MAX;
    for (size_t i = 0; i < p->n_outs; i++) {
        if (p->outs[i].sent_seq < min) {
            min = p->outs[i].sent_seq;
        }
    }
    while (p->head != NULL && p->head->seq <= min) {
        struct lc_record *r = p->head;
        p->head = r->next;
        p->bytes -= lc_record_size(r);
        lc_record_destroy(r);
    }
    if (p->head == NULL) {
        p->tail = NULL;
    }
    if (p->full && p->bytes < p->max_bytes / 2 && !p->aborting) {
        p->full = 0;
        uv_async_send(&p->resume_async);
    }
}

/* Publishes a flush of output O. Lock held. */
static void publish_ack(struct lc_pipeline *p, struct out *o)
{
    uint64_t min = UINT64_MAX;
    o->acked_seq = o->sent_seq;
    for (size_t i = 0; i < p->n_outs; i++) {
        if (p->outs[i].acked_seq < min) {
            min = p->outs[i].acked_seq;
        }
    }
    if (min > p->committed_seq && !p->aborting) {
        p->committed_seq = min;
        uv_async_send(&p->commit_async);
    }
}

static void flush_output(struct out *o)
{
    struct lc_pipeline *p = o->p;
    int rc = o->state != NULL ? o->ops->flush(o->state) : -EIO;
    beat(o, 0);
    o->last_flush_ms = lc_now_ms();
    pthread_mutex_lock(&p->lock);
    if (rc == 0) {
        o->unflushed = 0;
        publish_ack(p, o);
    }
    pthread_mutex_unlock(&p->lock);
    if (rc != 0) {
        lc_log(LC_LOG_ERROR, rc, "[output:%s] flush failed", o->cfg->name);
    }
}

static void deadline_in(struct timespec *ts, uint64_t ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void wait_ms(struct lc_pipeline *p, uint64_t ms)
{
    struct timespec ts;
    deadline_in(&ts, ms);
    pthread_cond_timedwait(&p->cond, &p->lock, &ts);
}

/* Sends one batch until it is accepted or rejected; gives up only when aborting. Returns
 * 0 when the batch is done with, -ECANCELED when aborted. */
static int send_batch(struct out *o, struct lc_record **batch, size_t n)
{
    struct lc_pipeline *p = o->p;
    uint64_t backoff = RETRY_MIN_MS;
    for (;;) {
        enum lc_send_result res;
        reinit_if_asked(o);
        res = o->state != NULL ? o->ops->send(o->state, batch, n) : LC_RETRY;
        beat(o, res != LC_RETRY);
        if (res == LC_OK) {
            if (o->task != NULL && backoff != RETRY_MIN_MS) {
                lc_task_set_state(o->task, LC_TASK_RUNNING);
            }
            return 0;
        }
        if (o->task != NULL && res == LC_RETRY) {
            lc_task_error(o->task, 0, "send failed; retrying in %llu ms",
                          (unsigned long long)backoff);
            lc_task_set_state(o->task, LC_TASK_RESTARTING);
        }
        if (res == LC_REJECT) {
            lc_log(LC_LOG_ERROR, 0, "[output:%s] rejected %zu records", o->cfg->name, n);
            pthread_mutex_lock(&p->lock);
            o->stats.rejected += n;
            pthread_mutex_unlock(&p->lock);
            return 0;
        }
        pthread_mutex_lock(&p->lock);
        o->stats.retries++;
        if (p->aborting) {
            pthread_mutex_unlock(&p->lock);
            return -ECANCELED;
        }
        wait_ms(p, backoff);
        pthread_mutex_unlock(&p->lock);
        backoff = backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : backoff * 2;
    }
}

/* Takes up to LC_PIPELINE_BATCH records from O's cursor. Lock held. */
static size_t take_batch(struct out *o, struct lc_record **batch)
{
    size_t n = 0;
    for (struct lc_record *r = o->next; r != NULL && n < LC_PIPELINE_BATCH; r = r->next) {
        batch[n++] = r;
    }
    return n;
}

static void account(struct out *o, struct lc_record **batch, size_t n)
{
    struct lc_pipeline *p = o->p;
    uint64_t bytes = 0;
    int64_t newest = 0;
    for (size_t i = 0; i < n; i++) {
        bytes += batch[i]->len;
        newest = batch[i]->ts_ns > newest ? batch[i]->ts_ns : newest;
    }
    pthread_mutex_lock(&p->lock);
    o->stats.lag_s = (double)(lc_wall_ns() - newest) / 1e9;
    o->stats.records += n;
    o->stats.bytes += bytes;
    o->sent_seq = batch[n - 1]->seq;
    o->next = batch[n - 1]->next;
    o->unflushed += n;
    reclaim(p);
    pthread_mutex_unlock(&p->lock);
}

static void *output_main(void *arg)
{
    struct out *o = arg;
    struct lc_pipeline *p = o->p;
    struct lc_record **batch = lc_xmalloc(LC_PIPELINE_BATCH * sizeof(*batch));

    pthread_mutex_lock(&p->lock);
    for (;;) {
        size_t n;
        while (o->next == NULL && !p->stopping) {
            uint64_t now = lc_now_ms(), due = o->last_flush_ms + LC_PIPELINE_FLUSH_MS;
            if (o->unflushed == 0) {
                /* Idle: wake now and then to beat, so a quiet output never looks dead. */
                wait_ms(p, LC_PIPELINE_IDLE_BEAT_MS);
                pthread_mutex_unlock(&p->lock);
                beat(o, 0);
                reinit_if_asked(o);
                pthread_mutex_lock(&p->lock);
            } else if (now < due) {
                /* Caught up: flush when due, so a trickle of lines costs at most one
                 * fsync per LC_PIPELINE_FLUSH_MS. */
                wait_ms(p, due - now);
            } else {
                pthread_mutex_unlock(&p->lock);
                flush_output(o);
                pthread_mutex_lock(&p->lock);
            }
        }
        if (o->next == NULL || p->aborting) {
            break; /* stopping and caught up */
        }
        n = take_batch(o, batch);
        pthread_mutex_unlock(&p->lock);
        if (send_batch(o, batch, n) != 0) {
            pthread_mutex_lock(&p->lock);
            break;
        }
        account(o, batch, n);
        if (lc_now_ms() - o->last_flush_ms >= LC_PIPELINE_FLUSH_MS) {
            flush_output(o);
        }
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    if (o->unflushed > 0) {
        flush_output(o);
    }
    free(batch);
    return NULL;
}

int lc_pipeline_start(struct lc_pipeline *p)
{
    for (size_t i = 0; i < p->n_outs; i++) {
        struct out *o = &p->outs[i];
        int rc;
        o->last_flush_ms = lc_now_ms();
        rc = pthread_create(&o->thread, NULL, output_main, o);
        if (rc != 0) {
            lc_log(LC_LOG_ERROR, rc, "[output:%s] cannot start thread", o->cfg->name);
            lc_pipeline_stop(p, 0);
            return -rc;
        }
        o->running = 1;
    }
    p->started = 1;
    return 0;
}

/* ---- loop side -------------------------------------------------------------------- */

int lc_pipeline_push(struct lc_pipeline *p, struct lc_record *r)
{
    int full;
    pthread_mutex_lock(&p->lock);
    r->seq = ++p->last_seq;
    r->next = NULL;
    if (p->tail != NULL) {
        p->tail->next = r;
    } else {
        p->head = r;
    }
    p->tail = r;
    p->bytes += lc_record_size(r);
    for (size_t i = 0; i < p->n_outs; i++) {
        if (p->outs[i].next == NULL) {
            p->outs[i].next = r;
            p->need_wake = 1;
        }
    }
    if (p->n_outs == 0) {
        reclaim(p);
    }
    if (p->bytes > p->max_bytes) {
        p->full = 1;
    }
    full = p->full;
    pthread_mutex_unlock(&p->lock);
    return full;
}

uint64_t lc_pipeline_last_seq(const struct lc_pipeline *p)
{
    return p->last_seq;
}

size_t lc_pipeline_queued_bytes(struct lc_pipeline *p)
{
    size_t b;
    pthread_mutex_lock(&p->lock);
    b = p->bytes;
    pthread_mutex_unlock(&p->lock);
    return b;
}

int lc_pipeline_output_stats(struct lc_pipeline *p, size_t i, struct lc_output_stats *out)
{
    if (i >= p->n_outs) {
        return -ENOENT;
    }
    pthread_mutex_lock(&p->lock);
    *out = p->outs[i].stats;
    pthread_mutex_unlock(&p->lock);
    return 0;
}

/* Joins every delivery thread. Past TIMEOUT_MS the threads are told to abort; one that is
 * still blocked inside its output's send or flush a little later cannot be interrupted,
 * so it is detached and abandoned: the stop must finish (SIGTERM promises an exit within
 * 10 s), and what it did not write is not committed, so it is read again next start. */
static void join_outputs(struct lc_pipeline *p, uint64_t timeout_ms)
{
    uint64_t deadline = lc_now_ms() + timeout_ms;
    for (size_t i = 0; i < p->n_outs; i++) {
        struct out *o = &p->outs[i];
        struct timespec ts;
        uint64_t now = lc_now_ms();
        if (!o->running) {
            continue;
        }
        deadline_in(&ts, deadline > now ? deadline - now : 0);
        if (pthread_timedjoin_np(o->thread, NULL, &ts) != 0) {
            pthread_mutex_lock(&p->lock);
            p->aborting = 1;
            pthread_cond_broadcast(&p->cond);
            pthread_mutex_unlock(&p->lock);
            deadline_in(&ts, LC_PIPELINE_ABORT_MS);
            if (pthread_timedjoin_np(o->thread, NULL, &ts) != 0) {
                lc_log(LC_LOG_ERROR, 0,
                       "[output:%s] stuck and did not stop in time; abandoning it (its "
                       "unwritten lines are read again at the next start)",
                       o->cfg->name);
                o->abandoned = 1;
                continue; /* still running: joined by destroy if it ever returns */
            }
        }
        o->running = 0;
    }
}

/* Gives abandoned threads one more chance to finish. Returns 1 when none is left. */
static int reap_abandoned(struct lc_pipeline *p)
{
    int left = 0;
    for (size_t i = 0; i < p->n_outs; i++) {
        struct out *o = &p->outs[i];
        struct timespec ts;
        if (!o->abandoned) {
            continue;
        }
        deadline_in(&ts, LC_PIPELINE_ABORT_MS);
        if (pthread_timedjoin_np(o->thread, NULL, &ts) == 0) {
            o->abandoned = 0;
            o->running = 0;
        } else {
            left = 1;
        }
    }
    return !left;
}

void lc_pipeline_stop(struct lc_pipeline *p, uint64_t timeout_ms)
{
    if (p->stopped) {
        return;
    }
    p->stopped = 1;
    p->need_wake = 0;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    join_outputs(p, timeout_ms);
    commit_async_cb(&p->commit_async);
}

static void async_closed(uv_handle_t *h)
{
    struct lc_pipeline *p = h->data;
    if (--p->asyncs_open == 0) {
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        free(p);
    }
}

int lc_pipeline_destroy(struct lc_pipeline *p)
{
    if (p == NULL) {
        return 0;
    }
    lc_pipeline_stop(p, 0);
    if (!reap_abandoned(p)) {
        /* A thread stuck in its output may still use the outputs, the records and P
         * itself: they are left to the exiting process. The async handles must still be
         * closed, or the loop never ends. The threads never touch them again: they send
         * only under the lock and only while not aborting, which join_outputs set before
         * abandoning them. */
        uv_close((uv_handle_t *)&p->commit_async, NULL);
        uv_close((uv_handle_t *)&p->resume_async, NULL);
        uv_close((uv_handle_t *)&p->wake, NULL);
        return 1;
    }
    for (size_t i = 0; i < p->n_outs; i++) {
        if (p->outs[i].state != NULL) {
            p->outs[i].ops->destroy(p->outs[i].state);
        }
    }
    while (p->head != NULL) {
        struct lc_record *r = p->head;
        p->head = r->next;
        lc_record_destroy(r);
    }
    uv_close((uv_handle_t *)&p->commit_async, async_closed);
    uv_close((uv_handle_t *)&p->resume_async, async_closed);
    uv_close((uv_handle_t *)&p->wake, async_closed);
    return 0;
}
