/* delivery_send: one batch on its way to an output's destination. It is sent until the
 * destination takes it, with exponential backoff and jitter between tries; what the
 * destination refuses for good, and a batch given up after retry.max_attempts, is written
 * to the dead-letter file (retried until that works) before anything is acknowledged. In
 * test builds the fault switch (lc_delivery_fault) stands between the engine and the
 * output. See delivery.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "delivery/deadletter.h"
#include "delivery/delivery_int.h"
#include "base/log.h"
#include "supervisor/supervisor.h"
#include "base/util.h"

#define DEAD_RETRY_MAX_MS 30000
/* The longest wait a destination's Retry-After may impose between two tries: a server that
 * says "come back in a day" is still tried again after this (and so is seen to be back). */
#define RETRY_AFTER_MAX_MS (10ULL * 60 * 1000)

void lc_delivery_out_beat(struct lc_delivery_out *o, int progress)
{
    if (o->task != NULL) {
        if (progress) {
            lc_task_progress(o->task);
        } else {
            lc_task_beat(o->task);
        }
    }
}

int lc_delivery_aborting(struct lc_delivery *dl)
{
    int a;
    pthread_mutex_lock(&dl->lock);
    a = __atomic_load_n(&dl->aborting, __ATOMIC_ACQUIRE);
    pthread_mutex_unlock(&dl->lock);
    return a;
}

/* Sleeps MS, beating every second; returns -ECANCELED as soon as the stop aborts. */
int lc_delivery_out_sleep(struct lc_delivery_out *o, uint64_t ms)
{
    struct lc_delivery *dl = o->dl;
    uint64_t until = lc_now_ms() + ms;
    for (;;) {
        struct timespec ts;
        uint64_t now = lc_now_ms(), step;
        if (lc_delivery_aborting(dl)) {
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
        lc_delivery_out_beat(o, 0);
    }
}

/* Exponential backoff with jitter: somewhere in [B/2, B], and at least 1 ms (a zero wait
 * would retry in a busy loop). */
static uint64_t jitter(struct lc_delivery_out *o, uint64_t b)
{
    uint64_t j = b / 2 + (b > 1 ? (uint64_t)rand_r(&o->seed) % (b / 2 + 1) : 0);
    return j > 0 ? j : 1;
}

/* The supervisor found this output stalled and restarted it: start from a fresh state (a
 * stuck connection or library state goes with the old one). The old state is flushed first:
 * destroy flushes too, but its result is lost with the state, and a failed flush must send
 * again what may be lost (delivery.c). */
void lc_delivery_out_reinit_if_asked(struct lc_delivery_out *o)
{
    int rc;
    if (!__atomic_exchange_n(&o->reinit, 0, __ATOMIC_ACQ_REL)) {
        return;
    }
    if (o->state != NULL && o->sent) {
        lc_delivery_out_flush(o); /* a failure is logged and rewinds */
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
static int apply_fault(struct lc_delivery_out *o, struct lc_record **recs, size_t n,
                       enum lc_send_result *res)
{
    struct lc_delivery *dl = o->dl;
    enum lc_fault f;
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

/* One try of the batch: the records that have no mark yet go to the output.
 *
 * Design (issue 8, item 9): what a failed batch already delivered is remembered here, in
 * the engine (o->rep, the batch's marks from its first try to its end), not in the output's
 * state: the supervisor's restart of a stalled output destroys that state between two tries
 * of the same batch, and an output that forgot what it had delivered (the file output:
 * records in files it rotated away, which it cannot cut back) would deliver it twice.
 * Refused records are left out the same way: one filter for every mark, in every build. */
static enum lc_send_result send_once(struct lc_delivery_out *o, struct lc_record **recs, size_t n)
{
    lc_send_report_new_try(&o->rep);
#ifdef LOGCAP_TEST_HOOKS
    {
        enum lc_send_result res = LC_RETRY;
        if (apply_fault(o, recs, n, &res)) {
            return res;
        }
    }
#endif
    if (o->rep.n_done + o->rep.n_rejected == n) {
        return LC_OK; /* nothing left for the output */
    }
    if (o->state == NULL) {
        lc_send_why(&o->rep, "the output could not be started");
        return LC_RETRY;
    }
    o->sent = 1; /* the output takes records: they need a flush (delivery.c) */
    return lc_output_send_rest(o->ops, o->state, recs, n, &o->rep, &o->sub);
}

/* Writes records of the batch to the dead-letter file; retried until it works or the stop
 * aborts. With WHY NULL, the records refused (o->rep.reasons), each with its reason (an
 * LC_OK answer); else every record not delivered (not marked done), with its own reason
 * when it was refused, else WHY (an LC_REJECT answer, or given up after max_attempts).
 * REFUSED: WHY is the destination's refusal (counted as rejected), not a give-up. */
static int dead_letter(struct lc_delivery_out *o, struct lc_record **recs, size_t n,
                       const char *why, unsigned attempts, int refused)
{
    struct lc_delivery *dl = o->dl;
    struct lc_record **pick = lc_xcalloc(n, sizeof(*pick));
    char **picked_reasons = lc_xcalloc(n, sizeof(*picked_reasons));
    uint64_t wait = 1000, n_refused = 0;
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (!o->rep.done[i] && (why != NULL || o->rep.reasons[i] != NULL)) {
            picked_reasons[k] = o->rep.reasons[i];
            n_refused += o->rep.reasons[i] != NULL || refused;
            pick[k++] = recs[i];
        }
    }
    if (k > 0) {
        lc_log(LC_LOG_ERROR, 0,
               "[output:%s] %zu records refused for good (%s); writing them to %s/dead/%s.jsonl",
               o->cfg->name, k, why != NULL ? why : picked_reasons[0], dl->data_dir, o->cfg->name);
    }
    while (k > 0 && (rc = lc_delivery_dead_append(dl->data_dir, o->cfg->name, pick, k,
                                                  picked_reasons, why, attempts)) != 0) {
        if (o->task != NULL) {
            lc_task_error(o->task, rc, "cannot write the dead-letter file");
        }
        if (lc_delivery_out_sleep(o, wait) != 0) {
            break;
        }
        wait = wait * 2 > DEAD_RETRY_MAX_MS ? DEAD_RETRY_MAX_MS : wait * 2;
    }
    if (rc == 0) {
        pthread_mutex_lock(&dl->lock);
        o->st.dead_lettered += k;
        o->st.dead_letter_records += k;
        o->st.rejected += n_refused;
        pthread_mutex_unlock(&dl->lock);
    }
    free(pick);
    free(picked_reasons);
    return rc;
}

/* Counts the records delivered: those not refused when ALL (an LC_OK answer), else those
 * marked done. */
static void account(struct lc_delivery_out *o, struct lc_record **recs, size_t n, int all)
{
    struct lc_delivery *dl = o->dl;
    uint64_t bytes = 0, records = 0;
    int64_t newest = 0;
    for (size_t i = 0; i < n; i++) {
        if (o->rep.reasons[i] != NULL || !(all || o->rep.done[i])) {
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
    o->st.reader_meta_slots = lc_spool_reader_meta_slots(o->reader);
    pthread_mutex_unlock(&dl->lock);
}

/* Adds what the try said (its requests, its last status, failing or not) to the output's
 * figures. */
static void note_try(struct lc_delivery_out *o, enum lc_send_result res)
{
    struct lc_output_snap *st = &o->st;
    pthread_mutex_lock(&o->dl->lock);
    lc_request_stats_merge(&st->requests, &o->rep.req);
    if (o->rep.status != 0) {
        st->last_status = o->rep.status;
    }
    st->failing = res == LC_RETRY;
    st->config_fault = res == LC_RETRY && o->rep.config_fault;
    if (res == LC_RETRY) {
        /* cut to fit: the reason stays readable, its whole text is in the log */
        if (snprintf(st->error, sizeof(st->error), "output \"%s\": %s%s", o->cfg->name,
                     o->rep.config_fault ? "configuration fault: " : "",
                     o->rep.why[0] ? o->rep.why : "send failed") < 0) {
            st->error[0] = '\0';
        }
    } else {
        st->error[0] = '\0';
    }
    pthread_mutex_unlock(&o->dl->lock);
    memset(&o->rep.req, 0, sizeof(o->rep.req));
}

/* The wait before the next try: the backoff with jitter, or longer when the destination
 * asked for it (Retry-After), up to RETRY_AFTER_MAX_MS. */
static uint64_t next_wait(struct lc_delivery_out *o, uint64_t backoff)
{
    uint64_t wait = jitter(o, backoff);
    uint64_t asked = o->rep.wait_ms < RETRY_AFTER_MAX_MS ? o->rep.wait_ms : RETRY_AFTER_MAX_MS;
    return asked > wait ? asked : wait;
}

static void note_retry(struct lc_delivery_out *o, uint64_t wait)
{
    pthread_mutex_lock(&o->dl->lock);
    o->st.retries++;
    pthread_mutex_unlock(&o->dl->lock);
    if (o->task != NULL) {
        lc_task_error(o->task, 0, "send failed (%s%s); retrying in %llu ms",
                      o->rep.config_fault ? "configuration fault: " : "",
                      o->rep.why[0] ? o->rep.why : "no reason given", (unsigned long long)wait);
        lc_task_set_state(o->task, LC_TASK_RESTARTING);
    }
}

/* Sends RECS until the destination took them or refused them for good (dead-lettered).
 * Returns 0, or -ECANCELED when the stop aborted it (nothing may be acknowledged). */
int lc_delivery_out_send(struct lc_delivery_out *o, struct lc_record **recs, size_t n)
{
    const struct lc_output_config *c = o->cfg;
    /* retry.backoff_min may be 0: start at 1 ms so that the doubling grows */
    uint64_t backoff = c->retry.backoff_min_ms > 0 ? c->retry.backoff_min_ms : 1;
    unsigned attempts = 0, counted = 0; /* every try; those that count toward max_attempts */
    lc_send_report_reset(&o->rep, n);   /* the batch's marks, from its first try to its end */
    o->rep.cancel = &o->dl->aborting;   /* a send blocked in a request gives up at the abort */
    for (;;) {
        enum lc_send_result res;
        uint64_t wait;
        lc_delivery_out_reinit_if_asked(o);
        res = send_once(o, recs, n);
        attempts++;
        note_try(o, res);
        lc_delivery_out_beat(o, res != LC_RETRY);
        if (res == LC_OK || res == LC_REJECT) {
            if (o->task != NULL && attempts > 1) {
                lc_task_ok(o->task);
                lc_task_set_state(o->task, LC_TASK_RUNNING);
            }
            account(o, recs, n, res == LC_OK);
            if (res == LC_REJECT) {
                return dead_letter(o, recs, n, o->rep.why[0] ? o->rep.why : "refused", attempts, 1);
            }
            return o->rep.n_rejected > 0 ? dead_letter(o, recs, n, NULL, attempts, 1) : 0;
        }
        /* A configuration fault is never given up, and a try that met one does not count
         * toward retry.max_attempts either: the records are not at fault, so the batch's
         * first ordinary failure after the fault is fixed is its first, not its Nth. */
        counted += !o->rep.config_fault;
        if (c->retry.max_attempts > 0 && counted >= c->retry.max_attempts && !o->rep.config_fault) {
            char why[400];
            snprintf(why, sizeof(why), "gave up after %u attempts: %s", attempts,
                     o->rep.why[0] ? o->rep.why : "send failed");
            account(o, recs, n, 0);
            return dead_letter(o, recs, n, why, attempts, 0);
        }
        wait = next_wait(o, backoff);
        note_retry(o, wait);
        if (lc_delivery_out_sleep(o, wait) != 0) {
            return -ECANCELED;
        }
        backoff = backoff * 2 > c->retry.backoff_max_ms ? c->retry.backoff_max_ms : backoff * 2;
        backoff = backoff > 0 ? backoff : 1;
    }
}

struct lc_delivery_out *lc_delivery_find(struct lc_delivery *dl, const char *name)
{
    for (size_t i = 0; i < dl->n_outs; i++) {
        if (strcmp(dl->outs[i].cfg->name, name) == 0) {
            return &dl->outs[i];
        }
    }
    return NULL;
}

int lc_delivery_fault(struct lc_delivery *dl, const char *name, const char *mode, const char *match)
{
#ifdef LOGCAP_TEST_HOOKS
    struct lc_delivery_out *o = lc_delivery_find(dl, name);
    enum lc_fault f;
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
