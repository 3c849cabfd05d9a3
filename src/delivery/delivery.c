/* delivery: the engine and each output's thread: batches read from the spool, their
 * acknowledgement (cursor), flushes, dead-letter replays, restarts and the stop; sending
 * one batch is in delivery_send.c. See delivery.h. One mutex guards the counters, the
 * flags and the test fault switch; the threads read the spool and call their outputs
 * without it. A batch's records belong to its thread from the read until the
 * acknowledgement. */
#include "delivery/delivery.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "delivery/deadletter.h"
#include "delivery/delivery_int.h"
#include "base/log.h"
#include "spool/spool_reader.h"
#include "supervisor/supervisor.h"
#include "base/util.h"

#define READ_RETRY_MS 1000
#define JOIN_STEP_MS 10 /* a stopping engine wakes its threads this often */

struct lc_delivery *lc_delivery_create(struct lc_spool *sp, const char *data_dir,
                                       enum lc_sync_mode sync, uint64_t sync_interval_ms)
{
    struct lc_delivery *dl = lc_xcalloc(1, sizeof(*dl));
    dl->sp = sp;
    dl->data_dir = lc_xstrdup(data_dir);
    dl->sync = sync;
    dl->sync_interval_ms = sync_interval_ms;
    pthread_mutex_init(&dl->lock, NULL);
    lc_cond_init(&dl->cond);
    return dl;
}

int lc_delivery_add_output(struct lc_delivery *dl, const struct lc_output_ops *ops,
                           const struct lc_output_config *cfg, struct lc_task *task)
{
    struct lc_delivery_out *o;
    struct lc_spool_pos pos;
    uint64_t index;
    int rc;
    if (dl->n_outs == LC_DELIVERY_MAX_OUTPUTS) {
        return -E2BIG;
    }
    o = &dl->outs[dl->n_outs];
    memset(o, 0, sizeof(*o));
    o->dl = dl;
    o->ops = ops;
    o->cfg = cfg;
    o->task = task;
    o->replay_state = "idle";
    o->seed = (unsigned)lc_wall_ns() ^ (unsigned)dl->n_outs;
    rc = ops->init(&o->state, cfg);
    if (rc != 0) {
        return rc;
    }
    rc = lc_spool_consumer_open(dl->sp, cfg->name, cfg->start_oldest, &o->cons);
    if (rc != 0) {
        ops->destroy(o->state);
        return rc;
    }
    lc_spool_consumer_pos(o->cons, &pos);
    o->reader = lc_spool_reader_create(dl->sp, &pos);
    lc_spool_reader_pos(o->reader, &pos, &index);
    lc_spool_consumer_ack(o->cons, &pos, index, 0, 0);
    o->durable = pos; /* nothing taken yet */
    lc_delivery_dead_recover(dl->data_dir, cfg->name);
    o->st.dead_letter_records = lc_delivery_dead_count(dl->data_dir, cfg->name);
    o->batch = lc_xcalloc(cfg->batch.max_records, sizeof(*o->batch));
    dl->n_outs++;
    return 0;
}

static int stopping(struct lc_delivery *dl)
{
    int s;
    pthread_mutex_lock(&dl->lock);
    s = dl->stopping;
    pthread_mutex_unlock(&dl->lock);
    return s;
}

/* ---- flushing and acknowledging ----------------------------------------------------------------
 *
 * Design (issue 8, item 7): a failed flush means that what the output took since its last
 * successful flush may be lost, and a second flush cannot tell: Linux reports a writeback
 * error once, and the next fsync may claim success for data that never reached the disk.
 * So the cursor must not stay past those records. The engine keeps DURABLE, the place before
 * which everything the output took was flushed. After a failed flush the cursor file is
 * written back to DURABLE (synced), the reader is re-created there, and what follows is sent
 * again after a backoff: the destination may then hold some records twice, the price of
 * losing none. With sync: always a batch is acknowledged only after its flush, so DURABLE is
 * the cursor and the same batch is sent again. With sync: interval the cursor runs ahead of
 * DURABLE between flushes, but never into another segment while records are unflushed (the
 * flush comes first, once per segment): the writer deletes a segment only once every cursor
 * is past it, so the records DURABLE points to are still in the spool. sync: never promises
 * nothing for a power loss; a failed flush is logged and counted there, nothing more. */

static void flush_failed(struct lc_delivery_out *o, int err)
{
    int again = o->dl->sync != LC_SYNC_NEVER;
    lc_log(LC_LOG_ERROR, err, "[output:%s] flush failed%s", o->cfg->name,
           again ? "; what it took since its last flush is sent again" : "");
    if (o->task != NULL) {
        lc_task_error(o->task, err, "flush failed%s",
                      again ? "; what it took since its last flush is sent again" : "");
    }
    pthread_mutex_lock(&o->dl->lock);
    o->st.flush_failures++;
    pthread_mutex_unlock(&o->dl->lock);
    o->rewind = again;
}

int lc_delivery_out_flush(struct lc_delivery_out *o)
{
    int rc = o->state != NULL ? o->ops->flush(o->state) : 0;
    if (rc != 0) {
        flush_failed(o, rc);
        return rc;
    }
    o->sent = 0;
    o->flush_backoff = 0;
    return 0;
}

/* The output's data, then the cursor that points past it: the interval's sync, and the
 * stop's. */
static void flush_output(struct lc_delivery_out *o)
{
    struct lc_spool_pos pos;
    o->last_flush_ms = lc_now_ms();
    o->unflushed = 0;
    lc_spool_consumer_pos(o->cons, &pos);
    if (lc_delivery_out_flush(o) == 0) {
        lc_spool_consumer_sync(o->cons);
        o->durable = pos;
    }
}

static void maybe_flush(struct lc_delivery_out *o)
{
    if (o->unflushed && o->dl->sync == LC_SYNC_INTERVAL &&
        lc_now_ms() - o->last_flush_ms >= o->dl->sync_interval_ms) {
        flush_output(o);
    }
}

static void free_batch(struct lc_delivery_out *o)
{
    for (size_t i = 0; i < o->n; i++) {
        lc_record_destroy(o->batch[i]);
    }
    o->n = 0;
}

/* Moves the cursor to POS (INDEX and OLDEST_TS as lc_spool_consumer_ack). With sync:
 * always, the output is flushed first and the cursor synced; with sync: interval, a cursor
 * about to leave DURABLE's segment while the output holds unflushed records flushes first
 * (see above). Returns 0, or -EIO when that flush failed (the cursor did not move). */
static int move_cursor(struct lc_delivery_out *o, const struct lc_spool_pos *pos, uint64_t index,
                       int64_t oldest_ts)
{
    enum lc_sync_mode mode = o->dl->sync;
    int sync = mode == LC_SYNC_ALWAYS ||
               (mode == LC_SYNC_INTERVAL && o->sent && pos->seg != o->durable.seg);
    int rc;
    if (sync && o->sent && lc_delivery_out_flush(o) != 0) {
        return -EIO;
    }
    rc = lc_spool_consumer_ack(o->cons, pos, index, oldest_ts, sync);
    if (rc != 0) {
        lc_log(LC_LOG_ERROR, rc, "[output:%s] cannot save its cursor", o->cfg->name);
    }
    if (!o->sent) {
        o->durable = *pos;
    }
    o->unflushed = !sync; /* synced: nothing left for the interval */
    return 0;
}

/* The batch is delivered: the cursor moves past it. With nothing read beyond the batch,
 * past the frames that follow its last record too (the positions of its append), where the
 * reader stands: ack_idle then has nothing to write again. A batch whose flush failed is
 * not acknowledged: it is sent again (rewind, at the next turn). */
static void acknowledge(struct lc_delivery_out *o)
{
    struct lc_spool_pos pos = o->end;
    uint64_t index = o->batch[o->n - 1]->seq + 1;
    if (o->carry == NULL) {
        lc_spool_reader_pos(o->reader, &pos, &index);
    }
    if (o->rewind || move_cursor(o, &pos, index, o->carry ? o->carry->ts_ns : 0) != 0) {
        return;
    }
    free_batch(o);
    maybe_flush(o);
}

/* Caught up and idle: a reader that moved into a newer segment (its records all read)
 * moves the cursor too, so the old segment can go. */
static void ack_idle(struct lc_delivery_out *o)
{
    struct lc_spool_pos pos, acked;
    uint64_t index;
    lc_spool_reader_pos(o->reader, &pos, &index);
    lc_spool_consumer_pos(o->cons, &acked);
    if (!o->rewind && (pos.seg != acked.seg || pos.off != acked.off)) {
        move_cursor(o, &pos, index, 0); /* a failed flush: rewind, at the next turn */
    }
}

/* After a failed flush: back to DURABLE (see above). The batch, the record carried over and
 * the reader go; the cursor file says DURABLE again, synced, so a crash now also starts
 * there; the records after it are read again, after a backoff when WAIT. Returns 0, or
 * -ECANCELED when the stop aborted the wait. */
static int rewind_to_durable(struct lc_delivery_out *o, int wait)
{
    const struct lc_output_config *c = o->cfg;
    uint64_t backoff = o->flush_backoff > 0          ? o->flush_backoff
                       : c->retry.backoff_min_ms > 0 ? c->retry.backoff_min_ms
                                                     : 1;
    struct lc_spool_pos pos;
    uint64_t index;
    int rc;
    o->rewind = 0;
    free_batch(o);
    lc_record_destroy(o->carry);
    o->carry = NULL;
    lc_spool_reader_destroy(o->reader);
    o->reader = lc_spool_reader_create(o->dl->sp, &o->durable);
    lc_spool_reader_pos(o->reader, &pos, &index);
    rc = lc_spool_consumer_ack(o->cons, &pos, index, 0, 1);
    if (rc != 0) {
        lc_log(LC_LOG_ERROR, rc, "[output:%s] cannot write its cursor back", c->name);
    }
    o->durable = pos;
    o->sent = 0;
    o->unflushed = 0;
    o->last_flush_ms = lc_now_ms();
    o->flush_backoff =
        backoff * 2 < c->retry.backoff_max_ms ? backoff * 2 : c->retry.backoff_max_ms;
    return wait ? lc_delivery_out_sleep(o, backoff) : 0;
}

/* ---- dead-letter replay --------------------------------------------------------------------- */

/* Sends replayed records like any batch; those refused again go back to the dead-letter
 * file, so only the others count as replayed. */
static int replay_send(void *ud, struct lc_record **recs, size_t n)
{
    struct lc_delivery_out *o = ud;
    uint64_t dead_before, dead_after;
    int rc;
    pthread_mutex_lock(&o->dl->lock);
    dead_before = o->st.dead_lettered;
    pthread_mutex_unlock(&o->dl->lock);
    rc = lc_delivery_out_send(o, recs, n);
    /* durable before the replay file, which holds them, is removed; after a failed flush
     * they go back to the dead-letter file (the destination may then hold them twice) */
    if (rc == 0 && o->dl->sync != LC_SYNC_NEVER && lc_delivery_out_flush(o) != 0) {
        rc = -EIO;
    }
    pthread_mutex_lock(&o->dl->lock);
    dead_after = o->st.dead_lettered;
    if (rc == 0) {
        o->replayed += n - (dead_after - dead_before);
        o->refused_again += dead_after - dead_before;
    }
    pthread_mutex_unlock(&o->dl->lock);
    return rc;
}

static void set_replay_state(struct lc_delivery_out *o, const char *state)
{
    pthread_mutex_lock(&o->dl->lock);
    o->replay_state = state;
    if (strcmp(state, "running") == 0) {
        o->replayed = 0;
        o->refused_again = 0;
        o->st.dead_letter_records = 0; /* moved to the replay file; refusals add back */
    }
    pthread_mutex_unlock(&o->dl->lock);
}

static void replay_if_asked(struct lc_delivery_out *o)
{
    struct lc_delivery_dead_replay_stats st;
    int rc;
    if (!__atomic_exchange_n(&o->replay, 0, __ATOMIC_ACQ_REL)) {
        return;
    }
    set_replay_state(o, "running");
    rc = lc_delivery_dead_replay(o->dl->data_dir, o->cfg->name, o->cfg->batch.max_records,
                                 replay_send, o, &st);
    lc_log(rc == 0 || rc == -ENOENT ? LC_LOG_INFO : LC_LOG_ERROR, rc == -ENOENT ? 0 : rc,
           "[output:%s] dead-letter replay: %llu records sent again, %llu lines not records",
           o->cfg->name, (unsigned long long)st.records, (unsigned long long)st.invalid);
    pthread_mutex_lock(&o->dl->lock);
    o->st.dead_letter_records = lc_delivery_dead_count(o->dl->data_dir, o->cfg->name);
    pthread_mutex_unlock(&o->dl->lock);
    set_replay_state(o, rc == 0 || rc == -ENOENT ? "done" : "failed");
}

/* ---- the thread ---------------------------------------------------------------------------- */

/* Lets the output serve its client library's events; its broker figures, when new, go to
 * its snapshot. */
static void poll_output(struct lc_delivery_out *o)
{
    struct lc_brokers_snap b;

    if (o->ops->poll == NULL || o->state == NULL || o->ops->poll(o->state, &b) == 0) {
        return;
    }
    pthread_mutex_lock(&o->dl->lock);
    o->st.brokers = b;
    pthread_mutex_unlock(&o->dl->lock);
}

/* Nothing to read now: beat, run what was asked for, and wait up to MS for records. */
static void idle(struct lc_delivery_out *o, uint64_t ms)
{
    struct lc_spool_pos pos;
    uint64_t index;
    lc_delivery_out_beat(o, 0);
    poll_output(o);
    lc_delivery_out_reinit_if_asked(o);
    if (o->n == 0) {
        replay_if_asked(o);
        ack_idle(o);
    }
    maybe_flush(o);
    lc_spool_reader_pos(o->reader, &pos, &index);
    lc_spool_wait(o->dl->sp, &pos, ms);
}

/* Takes the next record (the carried one first). Returns 1, 0 (none now) or -errno. */
static int next_record(struct lc_delivery_out *o, struct lc_record **r, struct lc_spool_pos *end)
{
    if (o->carry != NULL) {
        *r = o->carry;
        *end = o->carry_end;
        o->carry = NULL;
        return 1;
    }
    return lc_spool_reader_next(o->reader, r, end);
}

/* A read failed: logs it and waits. Returns 0, or -ECANCELED when the stop aborts. */
static int read_failed(struct lc_delivery_out *o, int err)
{
    lc_log(LC_LOG_ERROR, err, "[output:%s] cannot read the spool (will retry)", o->cfg->name);
    if (o->task != NULL) {
        lc_task_error(o->task, err, "cannot read the spool");
    }
    return lc_delivery_out_sleep(o, READ_RETRY_MS);
}

/* Fills the batch. Returns 1 with a batch to send, 0 to stop. */
static int fill_batch(struct lc_delivery_out *o)
{
    const struct lc_output_config *c = o->cfg;
    uint64_t bytes = 0, first_ms = 0, waited;
    for (;;) {
        struct lc_record *r;
        struct lc_spool_pos end;
        int rc;
        if (o->rewind) { /* a flush failed: what follows DURABLE goes again */
            if (rewind_to_durable(o, 1) != 0) {
                return 0;
            }
            bytes = 0;
            continue;
        }
        rc = next_record(o, &r, &end);
        if (rc == 1 && o->n > 0 && bytes + r->len > c->batch.max_bytes) {
            o->carry = r;
            o->carry_end = end;
            return 1;
        }
        if (rc == 1) {
            o->batch[o->n++] = r;
            o->end = end;
            bytes += r->len;
            if (o->n == 1) {
                first_ms = lc_now_ms();
                lc_spool_consumer_set_oldest(o->cons, r->ts_ns);
            }
            /* Full: nothing more fits (a record above max_bytes goes alone, and at once). */
            if (o->n >= c->batch.max_records || bytes >= c->batch.max_bytes) {
                return 1;
            }
            continue;
        }
        if (rc < 0) {
            if (read_failed(o, rc) != 0) {
                return 0;
            }
            continue;
        }
        if (lc_delivery_aborting(o->dl)) {
            return 0;
        }
        /* One clock reading for the test and the wait: a second one could be past
         * max_wait, and the remaining wait would wrap around to forever. */
        waited = lc_now_ms() - first_ms;
        if (o->n > 0 && (stopping(o->dl) || waited >= c->batch.max_wait_ms)) {
            return 1;
        }
        if (o->n == 0 && stopping(o->dl)) {
            return 0; /* everything the spool held at the stop is delivered */
        }
        idle(o, o->n > 0 ? c->batch.max_wait_ms - waited : LC_DELIVERY_IDLE_BEAT_MS);
    }
}

static void *output_main(void *arg)
{
    struct lc_delivery_out *o = arg;
    o->last_flush_ms = lc_now_ms();
    while (fill_batch(o)) {
        if (lc_delivery_out_send(o, o->batch, o->n) != 0) {
            break; /* aborted: nothing acknowledged; it is read again next time */
        }
        acknowledge(o);
        poll_output(o);
    }
    free_batch(o);
    if (!lc_delivery_aborting(o->dl)) {
        ack_idle(o);
        flush_output(o);
        if (o->rewind) {
            rewind_to_durable(o, 0); /* the next start sends it again */
        }
    }
    return NULL;
}

int lc_delivery_start(struct lc_delivery *dl)
{
    for (size_t i = 0; i < dl->n_outs; i++) {
        struct lc_delivery_out *o = &dl->outs[i];
        int rc = pthread_create(&o->thread, NULL, output_main, o);
        if (rc != 0) {
            lc_log(LC_LOG_ERROR, rc, "[output:%s] cannot start its thread", o->cfg->name);
            lc_delivery_stop(dl, 0);
            return -rc;
        }
        o->running = 1;
    }
    return 0;
}

/* ---- requests from other threads ---------------------------------------------------------------
 */

int lc_delivery_restart_output(struct lc_delivery *dl, const char *name)
{
    struct lc_delivery_out *o = lc_delivery_find(dl, name);
    if (o == NULL) {
        return -ENOENT;
    }
    __atomic_store_n(&o->reinit, 1, __ATOMIC_RELEASE);
    lc_spool_wake(dl->sp);
    return 0;
}

int lc_delivery_request_replay(struct lc_delivery *dl, const char *name)
{
    struct lc_delivery_out *o = lc_delivery_find(dl, name);
    if (o == NULL) {
        return -ENOENT;
    }
    pthread_mutex_lock(&dl->lock);
    o->replay_state = "requested";
    pthread_mutex_unlock(&dl->lock);
    __atomic_store_n(&o->replay, 1, __ATOMIC_RELEASE);
    lc_spool_wake(dl->sp);
    return 0;
}

int lc_delivery_fill(struct lc_delivery *dl, size_t i, struct lc_output_snap *out)
{
    struct lc_delivery_out *o;
    if (i >= dl->n_outs) {
        return -ENOENT;
    }
    o = &dl->outs[i];
    pthread_mutex_lock(&dl->lock);
    *out = o->st;
    pthread_mutex_unlock(&dl->lock);
    snprintf(out->name, sizeof(out->name), "%s", o->cfg->name);
    snprintf(out->type, sizeof(out->type), "%s", o->cfg->type);
    lc_spool_consumer_backlog(o->cons, &out->backlog_records, &out->backlog_bytes,
                              &out->oldest_age_s);
    return 0;
}

int lc_delivery_replay_state(struct lc_delivery *dl, size_t i, const char **state,
                             uint64_t *replayed, uint64_t *refused, uint64_t *in_file)
{
    if (i >= dl->n_outs) {
        return -ENOENT;
    }
    pthread_mutex_lock(&dl->lock);
    *state = dl->outs[i].replay_state;
    *replayed = dl->outs[i].replayed;
    *refused = dl->outs[i].refused_again;
    *in_file = dl->outs[i].st.dead_letter_records;
    pthread_mutex_unlock(&dl->lock);
    return 0;
}

/* ---- stop ------------------------------------------------------------------------------------ */

/* Joins T by the lc_now_ms() time DEADLINE, waking the threads every JOIN_STEP_MS: a
 * thread that looked at the stop flags just before they changed may be on its way into
 * lc_spool_wait, where the one wake-up of the stop would be lost. Returns 1 when joined.
 * pthread_clockjoin_np on CLOCK_MONOTONIC (glibc 2.34): pthread_timedjoin_np measures its
 * deadline on the wall clock, which a step moves. */
static int join_by(struct lc_delivery *dl, pthread_t t, uint64_t deadline)
{
    for (;;) {
        struct timespec ts;
        uint64_t now = lc_now_ms(), left = deadline > now ? deadline - now : 0;
        lc_deadline_in(&ts, left < JOIN_STEP_MS ? left : JOIN_STEP_MS);
        if (pthread_clockjoin_np(t, NULL, CLOCK_MONOTONIC, &ts) == 0) {
            return 1;
        }
        if (lc_now_ms() >= deadline) {
            return 0;
        }
        lc_spool_wake(dl->sp);
    }
}

/* Joins every thread. Past TIMEOUT_MS the threads are told to abort; one still blocked in
 * its output's send or flush a little later (one LC_DELIVERY_ABORT_MS for them all, not
 * one each) cannot be interrupted, so it is abandoned: the stop must finish (SIGTERM
 * promises an exit within 10 s), and what it did not acknowledge is read again at the next
 * start. */
static void join_outputs(struct lc_delivery *dl, uint64_t timeout_ms)
{
    uint64_t deadline = lc_now_ms() + timeout_ms, abort_deadline = 0;
    for (size_t i = 0; i < dl->n_outs; i++) {
        struct lc_delivery_out *o = &dl->outs[i];
        if (!o->running) {
            continue;
        }
        if (!join_by(dl, o->thread, abort_deadline != 0 ? abort_deadline : deadline)) {
            if (abort_deadline == 0) {
                pthread_mutex_lock(&dl->lock);
                __atomic_store_n(&dl->aborting, 1, __ATOMIC_RELEASE); /* read unlocked too */
                pthread_cond_broadcast(&dl->cond);
                pthread_mutex_unlock(&dl->lock);
                abort_deadline = lc_now_ms() + LC_DELIVERY_ABORT_MS;
            }
            if (!join_by(dl, o->thread, abort_deadline)) {
                lc_log(LC_LOG_ERROR, 0,
                       "[output:%s] stuck and did not stop in time; abandoning it (what it did "
                       "not acknowledge is sent again at the next start)",
                       o->cfg->name);
                o->abandoned = 1;
                continue;
            }
        }
        o->running = 0;
    }
}

void lc_delivery_stop(struct lc_delivery *dl, uint64_t timeout_ms)
{
    if (dl->stopped) {
        return;
    }
    dl->stopped = 1;
    pthread_mutex_lock(&dl->lock);
    dl->stopping = 1;
    pthread_cond_broadcast(&dl->cond);
    pthread_mutex_unlock(&dl->lock);
    lc_spool_wake(dl->sp);
    join_outputs(dl, timeout_ms);
}

/* Gives abandoned threads one more chance to finish (one LC_DELIVERY_ABORT_MS for them
 * all). Returns 1 when none is left. */
static int reap_abandoned(struct lc_delivery *dl)
{
    uint64_t deadline = lc_now_ms() + LC_DELIVERY_ABORT_MS;
    int left = 0;
    for (size_t i = 0; i < dl->n_outs; i++) {
        struct lc_delivery_out *o = &dl->outs[i];
        if (!o->abandoned) {
            continue;
        }
        if (join_by(dl, o->thread, deadline)) {
            o->abandoned = 0;
            o->running = 0;
        } else {
            left = 1;
        }
    }
    return !left;
}

int lc_delivery_destroy(struct lc_delivery *dl)
{
    if (dl == NULL) {
        return 0;
    }
    lc_delivery_stop(dl, 0);
    if (!reap_abandoned(dl)) {
        return 1; /* a stuck thread may still use the engine, its output and its task */
    }
    for (size_t i = 0; i < dl->n_outs; i++) {
        struct lc_delivery_out *o = &dl->outs[i];
        if (o->state != NULL) {
            o->ops->destroy(o->state);
        }
        lc_record_destroy(o->carry);
        lc_spool_reader_destroy(o->reader);
        lc_spool_consumer_close(o->cons);
        lc_send_report_close(&o->rep);
        lc_send_report_close(&o->sub);
        free(o->batch);
    }
    pthread_mutex_destroy(&dl->lock);
    pthread_cond_destroy(&dl->cond);
    free(dl->data_dir);
    free(dl);
    return 0;
}
