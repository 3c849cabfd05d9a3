/* delivery: see delivery.h. One mutex guards the counters, the flags and the test fault
 * switch; the threads read the spool and call their outputs without it. A batch's records
 * belong to its thread from the read until the acknowledgement. */
#include "core/delivery.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/deadletter.h"
#include "core/log.h"
#include "core/spool_reader.h"
#include "core/supervisor.h"
#include "core/util.h"

#define MAX_OUTPUTS 64
#define READ_RETRY_MS 1000
#define DEAD_RETRY_MAX_MS 30000
#define JOIN_STEP_MS 10 /* a stopping engine wakes its threads this often */

enum fault { FAULT_OFF = 0, FAULT_RETRY, FAULT_REJECT };

struct out {
    struct lc_delivery *dl;
    const struct lc_output_ops *ops;
    const struct lc_output_config *cfg;
    void *state;
    struct lc_task *task; /* may be NULL (tests) */
    struct lc_spool_consumer *cons;
    struct lc_spool_reader *reader;
    int reinit; /* atomic: the supervisor asked for a fresh output state */
    int replay; /* atomic: a dead-letter replay was asked for */
    pthread_t thread;
    int running;
    int abandoned; /* stuck in its output at stop; joined by destroy if it returns */
    struct lc_record **batch;
    size_t n;
    struct lc_spool_pos end; /* after the batch's last record */
    struct lc_record *carry; /* read but did not fit the batch */
    struct lc_spool_pos carry_end;
    struct lc_send_report rep;
    uint64_t last_flush_ms;
    int unflushed;
    unsigned seed;
    /* under dl->lock */
    struct lc_output_snap st;
    const char *replay_state;
    uint64_t replayed;      /* delivered by the last replay */
    uint64_t refused_again; /* refused again by the last replay (back in the file) */
    enum fault fault;
    char fault_match[256];
};

struct lc_delivery {
    struct lc_spool *sp;
    char *data_dir;
    enum lc_sync_mode sync;
    uint64_t sync_interval_ms;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* backoff waits; woken at abort */
    int stopping;
    int aborting;
    int stopped;
    struct out outs[MAX_OUTPUTS];
    size_t n_outs;
};

struct lc_delivery *lc_delivery_create(struct lc_spool *sp, const char *data_dir,
                                       enum lc_sync_mode sync, uint64_t sync_interval_ms)
{
    struct lc_delivery *dl = lc_xcalloc(1, sizeof(*dl));
    dl->sp = sp;
    dl->data_dir = lc_xstrdup(data_dir);
    dl->sync = sync;
    dl->sync_interval_ms = sync_interval_ms;
    pthread_mutex_init(&dl->lock, NULL);
    pthread_cond_init(&dl->cond, NULL);
    return dl;
}

int lc_delivery_add_output(struct lc_delivery *dl, const struct lc_output_ops *ops,
                           const struct lc_output_config *cfg, struct lc_task *task)
{
    struct out *o;
    struct lc_spool_pos pos;
    uint64_t index;
    int rc;
    if (dl->n_outs == MAX_OUTPUTS) {
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
    lc_dead_recover(dl->data_dir, cfg->name);
    o->st.dead_letter_records = lc_dead_count(dl->data_dir, cfg->name);
    o->batch = lc_xcalloc(cfg->batch.max_records, sizeof(*o->batch));
    dl->n_outs++;
    return 0;
}

/* ---- small helpers ------------------------------------------------------------------------ */

static void beat(struct out *o, int progress)
{
    if (o->task != NULL) {
        if (progress) {
            lc_task_progress(o->task);
        } else {
            lc_task_beat(o->task);
        }
    }
}

static int aborting(struct lc_delivery *dl)
{
    int a;
    pthread_mutex_lock(&dl->lock);
    a = dl->aborting;
    pthread_mutex_unlock(&dl->lock);
    return a;
}

static int stopping(struct lc_delivery *dl)
{
    int s;
    pthread_mutex_lock(&dl->lock);
    s = dl->stopping;
    pthread_mutex_unlock(&dl->lock);
    return s;
}

/* Sleeps MS, beating every second; returns -ECANCELED as soon as the stop aborts. */
static int sleep_beating(struct out *o, uint64_t ms)
{
    struct lc_delivery *dl = o->dl;
    uint64_t until = lc_now_ms() + ms;
    for (;;) {
        struct timespec ts;
        uint64_t now = lc_now_ms(), step;
        if (aborting(dl)) {
            return -ECANCELED;
        }
        if (now >= until) {
            return 0;
        }
        step = until - now < LC_DELIVERY_IDLE_BEAT_MS ? until - now : LC_DELIVERY_IDLE_BEAT_MS;
        lc_deadline_in(&ts, step);
        pthread_mutex_lock(&dl->lock);
        if (!dl->aborting) {
            pthread_cond_timedwait(&dl->cond, &dl->lock, &ts);
        }
        pthread_mutex_unlock(&dl->lock);
        beat(o, 0);
    }
}

/* Exponential backoff with jitter: somewhere in [B/2, B], and at least 1 ms (a zero wait
 * would retry in a busy loop). */
static uint64_t jitter(struct out *o, uint64_t b)
{
    uint64_t j = b / 2 + (b > 1 ? (uint64_t)rand_r(&o->seed) % (b / 2 + 1) : 0);
    return j > 0 ? j : 1;
}

/* The supervisor found this output stalled and restarted it: start from a fresh state (a
 * stuck connection or library state goes with the old one). */
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

/* ---- sending ----------------------------------------------------------------------------------
 */

#ifdef LOGCAP_TEST_HOOKS
/* The test fault switch: an outage, or chosen records refused for good. */
static int apply_fault(struct out *o, struct lc_record **recs, size_t n, enum lc_send_result *res)
{
    struct lc_delivery *dl = o->dl;
    enum fault f;
    char match[256];
    pthread_mutex_lock(&dl->lock);
    f = o->fault;
    memcpy(match, o->fault_match, sizeof(match));
    pthread_mutex_unlock(&dl->lock);
    if (f == FAULT_RETRY) {
        lc_send_why(&o->rep, "test fault: the output is down");
        *res = LC_RETRY;
        return 1;
    }
    if (f == FAULT_REJECT) {
        for (size_t i = 0; i < n; i++) {
            if (match[0] != '\0' && memmem(recs[i]->msg, recs[i]->len, match, strlen(match))) {
                lc_send_reject(&o->rep, i, "test fault: refused (the message contains \"%s\")",
                               match);
            }
        }
    }
    return 0;
}
#endif

/* One send: records already marked refused are left out of what the output sees. */
static enum lc_send_result send_once(struct out *o, struct lc_record **recs, size_t n)
{
    enum lc_send_result res = LC_RETRY;
    struct lc_record **ok = recs;
    size_t n_ok = n;
    lc_send_report_reset(&o->rep, n);
#ifdef LOGCAP_TEST_HOOKS
    if (apply_fault(o, recs, n, &res)) {
        return res;
    }
    if (o->rep.n_rejected > 0) {
        ok = lc_xcalloc(n, sizeof(*ok));
        n_ok = 0;
        for (size_t i = 0; i < n; i++) {
            if (o->rep.reasons[i] == NULL) {
                ok[n_ok++] = recs[i];
            }
        }
    }
#endif
    if (o->state == NULL) {
        lc_send_why(&o->rep, "the output could not be started");
    } else if (n_ok == 0) {
        res = LC_OK;
    } else if (ok == recs) {
        res = o->ops->send(o->state, recs, n, &o->rep);
    } else {
        struct lc_send_report sub = {0};
        lc_send_report_reset(&sub, n_ok);
        res = o->ops->send(o->state, ok, n_ok, &sub);
        memcpy(o->rep.why, sub.why, sizeof(sub.why));
        for (size_t i = 0, j = 0; i < n && res == LC_OK; i++) {
            if (o->rep.reasons[i] == NULL && sub.reasons[j++] != NULL) {
                lc_send_reject(&o->rep, i, "%s", sub.reasons[j - 1]);
            }
        }
        lc_send_report_close(&sub);
    }
    if (ok != recs) {
        free(ok);
    }
    return res;
}

/* Writes the records refused for good (REASONS non-NULL for them), or all with WHY, to
 * the dead-letter file; retried until it works or the stop aborts. REFUSED: the
 * destination refused them (not: given up after max_attempts). */
static int dead_letter(struct out *o, struct lc_record **recs, size_t n, char *const *reasons,
                       const char *why, unsigned attempts, int refused)
{
    struct lc_delivery *dl = o->dl;
    struct lc_record **pick = lc_xcalloc(n, sizeof(*pick));
    char **picked_reasons = lc_xcalloc(n, sizeof(*picked_reasons));
    uint64_t wait = 1000;
    size_t k = 0;
    int rc;
    for (size_t i = 0; i < n; i++) {
        if (reasons == NULL || reasons[i] != NULL) {
            picked_reasons[k] = reasons != NULL ? reasons[i] : NULL;
            pick[k++] = recs[i];
        }
    }
    lc_log(LC_LOG_ERROR, 0,
           "[output:%s] %zu records refused for good (%s); writing them to %s/dead/%s.jsonl",
           o->cfg->name, k, reasons != NULL && k > 0 ? picked_reasons[0] : why, dl->data_dir,
           o->cfg->name);
    while ((rc = lc_dead_append(dl->data_dir, o->cfg->name, pick, k, picked_reasons, why,
                                attempts)) != 0) {
        if (o->task != NULL) {
            lc_task_error(o->task, rc, "cannot write the dead-letter file");
        }
        if (sleep_beating(o, wait) != 0) {
            break;
        }
        wait = wait * 2 > DEAD_RETRY_MAX_MS ? DEAD_RETRY_MAX_MS : wait * 2;
    }
    if (rc == 0) {
        pthread_mutex_lock(&dl->lock);
        o->st.dead_lettered += k;
        o->st.dead_letter_records += k;
        o->st.rejected += refused ? k : 0;
        pthread_mutex_unlock(&dl->lock);
    }
    free(pick);
    free(picked_reasons);
    return rc;
}

static void account(struct out *o, struct lc_record **recs, size_t n)
{
    struct lc_delivery *dl = o->dl;
    uint64_t bytes = 0, records = 0;
    int64_t newest = 0;
    for (size_t i = 0; i < n; i++) {
        if (o->rep.reasons != NULL && o->rep.reasons[i] != NULL) {
            continue;
        }
        records++;
        bytes += recs[i]->len;
        newest = recs[i]->ts_ns > newest ? recs[i]->ts_ns : newest;
    }
    pthread_mutex_lock(&dl->lock);
    if (records > 0) {
        o->st.lag_s = (double)(lc_wall_ns() - newest) / 1e9;
    }
    o->st.records += records;
    o->st.bytes += bytes;
    pthread_mutex_unlock(&dl->lock);
}

static void note_retry(struct out *o, uint64_t backoff)
{
    pthread_mutex_lock(&o->dl->lock);
    o->st.retries++;
    pthread_mutex_unlock(&o->dl->lock);
    if (o->task != NULL) {
        lc_task_error(o->task, 0, "send failed (%s); retrying in %llu ms",
                      o->rep.why[0] ? o->rep.why : "no reason given", (unsigned long long)backoff);
        lc_task_set_state(o->task, LC_TASK_RESTARTING);
    }
}

/* Sends RECS until the destination took them or refused them for good (dead-lettered).
 * Returns 0, or -ECANCELED when the stop aborted it (nothing may be acknowledged). */
static int deliver(struct out *o, struct lc_record **recs, size_t n)
{
    const struct lc_output_config *c = o->cfg;
    /* retry.backoff_min may be 0: start at 1 ms so that the doubling grows */
    uint64_t backoff = c->retry.backoff_min_ms > 0 ? c->retry.backoff_min_ms : 1;
    unsigned attempts = 0;
    for (;;) {
        enum lc_send_result res;
        reinit_if_asked(o);
        res = send_once(o, recs, n);
        attempts++;
        beat(o, res != LC_RETRY);
        if (res == LC_OK || res == LC_REJECT) {
            if (o->task != NULL && attempts > 1) {
                lc_task_ok(o->task);
                lc_task_set_state(o->task, LC_TASK_RUNNING);
            }
            if (res == LC_REJECT) {
                return dead_letter(o, recs, n, NULL, o->rep.why[0] ? o->rep.why : "refused",
                                   attempts, 1);
            }
            account(o, recs, n);
            return o->rep.n_rejected > 0
                       ? dead_letter(o, recs, n, o->rep.reasons, NULL, attempts, 1)
                       : 0;
        }
        if (c->retry.max_attempts > 0 && attempts >= c->retry.max_attempts) {
            char why[400];
            snprintf(why, sizeof(why), "gave up after %u attempts: %s", attempts,
                     o->rep.why[0] ? o->rep.why : "send failed");
            return dead_letter(o, recs, n, NULL, why, attempts, 0);
        }
        note_retry(o, backoff);
        if (sleep_beating(o, jitter(o, backoff)) != 0) {
            return -ECANCELED;
        }
        backoff = backoff * 2 > c->retry.backoff_max_ms ? c->retry.backoff_max_ms : backoff * 2;
        backoff = backoff > 0 ? backoff : 1;
    }
}

/* ---- flushing and acknowledging ----------------------------------------------------------------
 */

static void flush_output(struct out *o)
{
    int rc = o->state != NULL ? o->ops->flush(o->state) : 0;
    o->last_flush_ms = lc_now_ms();
    o->unflushed = 0;
    if (rc != 0) {
        lc_log(LC_LOG_ERROR, rc, "[output:%s] flush failed", o->cfg->name);
        if (o->task != NULL) {
            lc_task_error(o->task, rc, "flush failed");
        }
        return;
    }
    lc_spool_consumer_sync(o->cons);
}

static void maybe_flush(struct out *o)
{
    if (o->unflushed && o->dl->sync == LC_SYNC_INTERVAL &&
        lc_now_ms() - o->last_flush_ms >= o->dl->sync_interval_ms) {
        flush_output(o);
    }
}

static void free_batch(struct out *o)
{
    for (size_t i = 0; i < o->n; i++) {
        lc_record_destroy(o->batch[i]);
    }
    o->n = 0;
}

/* The batch is delivered: the cursor moves past it. */
static void acknowledge(struct out *o)
{
    int sync = o->dl->sync == LC_SYNC_ALWAYS;
    uint64_t index = o->batch[o->n - 1]->seq + 1;
    int rc;
    if (sync && o->state != NULL) {
        rc = o->ops->flush(o->state); /* the data first, then the cursor that points past it */
        if (rc != 0) {
            lc_log(LC_LOG_ERROR, rc, "[output:%s] flush failed", o->cfg->name);
        }
    }
    rc = lc_spool_consumer_ack(o->cons, &o->end, index, o->carry ? o->carry->ts_ns : 0, sync);
    if (rc != 0) {
        lc_log(LC_LOG_ERROR, rc, "[output:%s] cannot save its cursor", o->cfg->name);
    }
    free_batch(o);
    o->unflushed = !sync;
    maybe_flush(o);
}

/* Caught up and idle: a reader that moved into a newer segment (its records all read)
 * moves the cursor too, so the old segment can go. */
static void ack_idle(struct out *o)
{
    struct lc_spool_pos pos, acked;
    uint64_t index;
    lc_spool_reader_pos(o->reader, &pos, &index);
    lc_spool_consumer_pos(o->cons, &acked);
    if (pos.seg != acked.seg || pos.off != acked.off) {
        lc_spool_consumer_ack(o->cons, &pos, index, 0, 0);
        o->unflushed = 1;
    }
}

/* ---- dead-letter replay --------------------------------------------------------------------- */

/* Sends replayed records like any batch; those refused again go back to the dead-letter
 * file, so only the others count as replayed. */
static int replay_send(void *ud, struct lc_record **recs, size_t n)
{
    struct out *o = ud;
    uint64_t dead_before, dead_after;
    int rc;
    pthread_mutex_lock(&o->dl->lock);
    dead_before = o->st.dead_lettered;
    pthread_mutex_unlock(&o->dl->lock);
    rc = deliver(o, recs, n);
    pthread_mutex_lock(&o->dl->lock);
    dead_after = o->st.dead_lettered;
    if (rc == 0) {
        o->replayed += n - (dead_after - dead_before);
        o->refused_again += dead_after - dead_before;
    }
    pthread_mutex_unlock(&o->dl->lock);
    return rc;
}

static void set_replay_state(struct out *o, const char *state)
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

static void replay_if_asked(struct out *o)
{
    struct lc_dead_replay_stats st;
    int rc;
    if (!__atomic_exchange_n(&o->replay, 0, __ATOMIC_ACQ_REL)) {
        return;
    }
    set_replay_state(o, "running");
    rc = lc_dead_replay(o->dl->data_dir, o->cfg->name, o->cfg->batch.max_records, replay_send, o,
                        &st);
    lc_log(rc == 0 || rc == -ENOENT ? LC_LOG_INFO : LC_LOG_ERROR, rc == -ENOENT ? 0 : rc,
           "[output:%s] dead-letter replay: %llu records sent again, %llu lines not records",
           o->cfg->name, (unsigned long long)st.records, (unsigned long long)st.invalid);
    pthread_mutex_lock(&o->dl->lock);
    o->st.dead_letter_records = lc_dead_count(o->dl->data_dir, o->cfg->name);
    pthread_mutex_unlock(&o->dl->lock);
    set_replay_state(o, rc == 0 || rc == -ENOENT ? "done" : "failed");
}

/* ---- the thread ---------------------------------------------------------------------------- */

/* Nothing to read now: beat, run what was asked for, and wait up to MS for records. */
static void idle(struct out *o, uint64_t ms)
{
    struct lc_spool_pos pos;
    uint64_t index;
    beat(o, 0);
    reinit_if_asked(o);
    if (o->n == 0) {
        replay_if_asked(o);
        ack_idle(o);
    }
    maybe_flush(o);
    lc_spool_reader_pos(o->reader, &pos, &index);
    lc_spool_wait(o->dl->sp, &pos, ms);
}

/* Takes the next record (the carried one first). Returns 1, 0 (none now) or -errno. */
static int next_record(struct out *o, struct lc_record **r, struct lc_spool_pos *end)
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
static int read_failed(struct out *o, int err)
{
    lc_log(LC_LOG_ERROR, err, "[output:%s] cannot read the spool (will retry)", o->cfg->name);
    if (o->task != NULL) {
        lc_task_error(o->task, err, "cannot read the spool");
    }
    return sleep_beating(o, READ_RETRY_MS);
}

/* Fills the batch. Returns 1 with a batch to send, 0 to stop. */
static int fill_batch(struct out *o)
{
    const struct lc_output_config *c = o->cfg;
    uint64_t bytes = 0, first_ms = 0, waited;
    for (;;) {
        struct lc_record *r;
        struct lc_spool_pos end;
        int rc = next_record(o, &r, &end);
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
        if (aborting(o->dl)) {
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
    struct out *o = arg;
    o->last_flush_ms = lc_now_ms();
    while (fill_batch(o)) {
        if (deliver(o, o->batch, o->n) != 0) {
            break; /* aborted: nothing acknowledged; it is read again next time */
        }
        acknowledge(o);
    }
    free_batch(o);
    if (!aborting(o->dl)) {
        ack_idle(o);
        flush_output(o);
    }
    return NULL;
}

int lc_delivery_start(struct lc_delivery *dl)
{
    for (size_t i = 0; i < dl->n_outs; i++) {
        struct out *o = &dl->outs[i];
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

void lc_delivery_restart_output(struct lc_delivery *dl, size_t i)
{
    if (i < dl->n_outs) {
        __atomic_store_n(&dl->outs[i].reinit, 1, __ATOMIC_RELEASE);
        lc_spool_wake(dl->sp);
    }
}

static struct out *find(struct lc_delivery *dl, const char *name)
{
    for (size_t i = 0; i < dl->n_outs; i++) {
        if (strcmp(dl->outs[i].cfg->name, name) == 0) {
            return &dl->outs[i];
        }
    }
    return NULL;
}

int lc_delivery_request_replay(struct lc_delivery *dl, const char *name)
{
    struct out *o = find(dl, name);
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

int lc_delivery_fault(struct lc_delivery *dl, const char *name, const char *mode, const char *match)
{
#ifdef LOGCAP_TEST_HOOKS
    struct out *o = find(dl, name);
    enum fault f;
    if (o == NULL) {
        return -ENOENT;
    }
    if (strcmp(mode, "off") == 0) {
        f = FAULT_OFF;
    } else if (strcmp(mode, "retry") == 0) {
        f = FAULT_RETRY;
    } else if (strcmp(mode, "reject") == 0) {
        f = FAULT_REJECT;
    } else {
        return -EINVAL;
    }
    pthread_mutex_lock(&dl->lock);
    o->fault = f;
    snprintf(o->fault_match, sizeof(o->fault_match), "%s", match != NULL ? match : "");
    pthread_mutex_unlock(&dl->lock);
    lc_log(LC_LOG_WARN, 0, "[output:%s] test fault switch: %s%s%s", name, mode,
           match != NULL && match[0] ? " " : "", match != NULL ? match : "");
    return 0;
#else
    (void)dl;
    (void)name;
    (void)mode;
    (void)match;
    return -ENOTSUP;
#endif
}

int lc_delivery_fill(struct lc_delivery *dl, size_t i, struct lc_output_snap *out)
{
    struct out *o;
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
 * lc_spool_wait, where the one wake-up of the stop would be lost. Returns 1 when joined. */
static int join_by(struct lc_delivery *dl, pthread_t t, uint64_t deadline)
{
    for (;;) {
        struct timespec ts;
        uint64_t now = lc_now_ms(), left = deadline > now ? deadline - now : 0;
        lc_deadline_in(&ts, left < JOIN_STEP_MS ? left : JOIN_STEP_MS);
        if (pthread_timedjoin_np(t, NULL, &ts) == 0) {
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
        struct out *o = &dl->outs[i];
        if (!o->running) {
            continue;
        }
        if (!join_by(dl, o->thread, abort_deadline != 0 ? abort_deadline : deadline)) {
            if (abort_deadline == 0) {
                pthread_mutex_lock(&dl->lock);
                dl->aborting = 1;
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
        struct out *o = &dl->outs[i];
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
        struct out *o = &dl->outs[i];
        if (o->state != NULL) {
            o->ops->destroy(o->state);
        }
        lc_record_destroy(o->carry);
        lc_spool_reader_destroy(o->reader);
        lc_spool_consumer_close(o->cons);
        lc_send_report_close(&o->rep);
        free(o->batch);
    }
    pthread_mutex_destroy(&dl->lock);
    pthread_cond_destroy(&dl->cond);
    free(dl->data_dir);
    free(dl);
    return 0;
}
