/* kafka: the Kafka output (see kafka.h for its contract). */
#include "outputs/kafka/kafka.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "outputs/kafka/kafka_msg.h"
#include "outputs/kafka/kafka_report.h"
#include "outputs/kafka/kafka_stats.h"

#define PENDING INT_MIN         /* a message whose report has not come yet */
#define WAIT_STEP_MS 100        /* the cancel flag is looked at this often while waiting */
#define REPORT_GRACE_MS 30000   /* past message_timeout, a report that never came is given up */
#define DRAIN_MS 5000           /* purged messages' reports come within this */
#define TOPIC_CACHE 64          /* topic handles kept for a templated topic */
#define FAIL_LOG_EVERY_MS 60000 /* a failure that lasts is logged again this often */

/* A message's opaque carries the producer generation in its upper 32 bits and the record's
 * index in the batch in the lower 32. */
_Static_assert(sizeof(uintptr_t) >= 8, "the message opaque needs 64-bit pointers");

struct topic_entry {
    char *name;
    rd_kafka_topic_t *rkt;
};

/* One Kafka output. It owns its producer (rk), the topic handles and their names, the
 * batch's codes (errs) and the message buffer; NAME and C are the instance config's, which
 * outlives it. Only the output's thread touches it (librdkafka's callbacks included). */
struct lc_kafka_output {
    const char *name;
    const struct lc_kafka_config *c;
    rd_kafka_t *rk;
    uint32_t gen; /* producer generation: a report of an older one is ignored */
    struct lc_kafka_msg_spec spec;
    struct lc_kafka_msg msg;
    struct topic_entry topics[TOPIC_CACHE];
    size_t n_topics;
    /* the batch in flight */
    int *errs;
    size_t n, cap;
    size_t pending;
    /* from librdkafka's callbacks (served on this thread) */
    const char *renew; /* why the producer must be replaced before the next batch; NULL: no need */
    int client_err;    /* the client's last error since a batch was delivered (0: none) */
    char client_why[256];
    struct lc_brokers_snap stats;
    int stats_new;
    int logged_err; /* the last failure logged and when */
    uint64_t logged_ms;
};

/* ---- librdkafka's callbacks (all served by rd_kafka_poll / rd_kafka_flush on the output's
 * thread: log.queue is on and nothing else is forwarded) ---- */

static void on_report(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct lc_kafka_output *o = opaque;
    uintptr_t tag = (uintptr_t)m->_private;
    size_t i = (size_t)(tag & 0xffffffffu);

    (void)rk;
    if ((uint32_t)(tag >> 32) != o->gen || i >= o->n || o->errs[i] != PENDING) {
        return; /* a report of an earlier producer or batch (never expected) */
    }
    o->errs[i] = (int)m->err;
    o->pending--;
}

static enum lc_log_level level_of(int syslog_level)
{
    return syslog_level <= 3   ? LC_LOG_ERROR
           : syslog_level == 4 ? LC_LOG_WARN
           : syslog_level <= 6 ? LC_LOG_INFO
                               : LC_LOG_DEBUG;
}

/* Logs a line of librdkafka's log (FAC: its facility). Rate limiting is lc_log's: the same
 * format string more than 10 times a minute is left out and counted, so each level has a
 * format of its own, and a flood of debug lines cannot hide a warning or an error. */
static void client_log(const struct lc_kafka_output *o, enum lc_log_level lvl, const char *fac,
                       const char *text)
{
    if (lvl > lc_log_get_level()) {
        return;
    }
    switch (lvl) {
    case LC_LOG_ERROR:
        lc_log(LC_LOG_ERROR, 0, "[output:%s] librdkafka: %s: %s", o->name, fac, text);
        break;
    case LC_LOG_WARN:
        lc_log(LC_LOG_WARN, 0, "[output:%s] librdkafka says %s: %s", o->name, fac, text);
        break;
    case LC_LOG_INFO:
        lc_log(LC_LOG_INFO, 0, "[output:%s] librdkafka (%s): %s", o->name, fac, text);
        break;
    default:
        lc_log(LC_LOG_DEBUG, 0, "[output:%s] librdkafka debug %s: %s", o->name, fac, text);
        break;
    }
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    struct lc_kafka_output *o = rd_kafka_opaque(rk);

    if (o != NULL) {
        client_log(o, level_of(level), fac, buf);
    }
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct lc_kafka_output *o = opaque;
    char text[256];
    int fatal = err == RD_KAFKA_RESP_ERR__FATAL;

    if (fatal) {
        err = rd_kafka_fatal_error(rk, text, sizeof text);
        reason = text;
    }
    o->client_err = err;
    snprintf(o->client_why, sizeof o->client_why, "%.200s (%.40s)", reason,
             rd_kafka_err2name((rd_kafka_resp_err_t)err));
    if (fatal) {
        o->renew = o->client_why;
        lc_log(LC_LOG_ERROR, 0, "[output:%s] librdkafka fatal error: %s", o->name, o->client_why);
    } else {
        lc_log(LC_LOG_WARN, 0, "[output:%s] librdkafka error: %s", o->name, o->client_why);
    }
}

static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    struct lc_kafka_output *o = opaque;

    (void)rk;
    if (lc_kafka_stats_parse(json, len, &o->stats) == 0) {
        o->stats_new = 1;
    }
    return 0; /* librdkafka frees JSON */
}

/* ---- the producer ---- */

static void drop_topics(struct lc_kafka_output *o)
{
    for (size_t i = 0; i < o->n_topics; i++) {
        rd_kafka_topic_destroy(o->topics[i].rkt);
        free(o->topics[i].name);
    }
    o->n_topics = 0;
}

static void producer_destroy(struct lc_kafka_output *o)
{
    drop_topics(o);
    if (o->rk != NULL) {
        rd_kafka_destroy(o->rk);
        o->rk = NULL;
    }
}

/* Creates the producer. Returns 0 or -EINVAL (logged). */
static int producer_create(struct lc_kafka_output *o)
{
    struct lc_kafka_conf_error err;
    rd_kafka_conf_t *conf = lc_kafka_conf_build(o->c, 0, &err);
    char why[512] = "";

    if (conf == NULL) {
        lc_log(LC_LOG_ERROR, 0, "[output:%s] %s: %s", o->name, err.key, err.why);
        return -EINVAL;
    }
    rd_kafka_conf_set_opaque(conf, o);
    rd_kafka_conf_set_dr_msg_cb(conf, on_report);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_stats_cb(conf, on_stats);
    o->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    if (o->rk == NULL) {
        rd_kafka_conf_destroy(conf);
        lc_log(LC_LOG_ERROR, 0, "[output:%s] cannot create the Kafka producer: %s", o->name, why);
        return -EINVAL;
    }
    rd_kafka_set_log_queue(o->rk, NULL); /* the log comes through rd_kafka_poll */
    o->gen++;
    o->renew = NULL;
    return 0;
}

/* The handle of topic NAME (kept for the next records). NULL: too many topics to keep;
 * the message then names its topic itself. */
static rd_kafka_topic_t *topic_of(struct lc_kafka_output *o, const char *name)
{
    for (size_t i = 0; i < o->n_topics; i++) {
        if (strcmp(o->topics[i].name, name) == 0) {
            return o->topics[i].rkt;
        }
    }
    if (o->n_topics == TOPIC_CACHE) {
        return NULL;
    }
    o->topics[o->n_topics].rkt = rd_kafka_topic_new(o->rk, name, NULL);
    if (o->topics[o->n_topics].rkt == NULL) {
        return NULL;
    }
    o->topics[o->n_topics].name = lc_xstrdup(name);
    return o->topics[o->n_topics++].rkt;
}

static int cancelled(const struct lc_send_report *rep)
{
    return rep->cancel != NULL && __atomic_load_n(rep->cancel, __ATOMIC_RELAXED);
}

/* ---- a batch ---- */

/* Produces record I (rendered in O->msg) with the array VU (room for 6 + the headers).
 * Returns 0 when it is queued, else the error that kept it out. A full queue is waited
 * out (serving reports) until it has room or the stop cancels. */
static int produce(struct lc_kafka_output *o, size_t i, const struct lc_record *r,
                   rd_kafka_vu_t *vu, const struct lc_send_report *rep)
{
    const struct lc_kafka_msg *m = &o->msg;
    const char *topic = lc_kafka_msg_at(m, m->topic_off);
    rd_kafka_topic_t *rkt = topic_of(o, topic);
    size_t k = 0;
    rd_kafka_error_t *e;

    vu[k].vtype = rkt != NULL ? RD_KAFKA_VTYPE_RKT : RD_KAFKA_VTYPE_TOPIC;
    if (rkt != NULL) {
        vu[k++].u.rkt = rkt;
    } else {
        vu[k++].u.cstr = topic;
    }
    vu[k].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[k].u.mem.ptr = (void *)lc_kafka_msg_at(m, m->value_off);
    vu[k++].u.mem.size = m->value_len;
    if (m->key_len > 0) {
        vu[k].vtype = RD_KAFKA_VTYPE_KEY;
        vu[k].u.mem.ptr = (void *)lc_kafka_msg_at(m, m->key_off);
        vu[k++].u.mem.size = m->key_len;
    }
    vu[k].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[k++].u.i = RD_KAFKA_MSG_F_COPY;
    vu[k].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
    vu[k++].u.i64 = r->ts_ns / 1000000;
    vu[k].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vu[k++].u.ptr = (void *)((uintptr_t)o->gen << 32 | (uintptr_t)i);
    for (size_t h = 0; h < m->n_hdrs; h++) {
        vu[k].vtype = RD_KAFKA_VTYPE_HEADER;
        vu[k].u.header.name = m->hdrs[h].name;
        vu[k].u.header.val = lc_kafka_msg_at(m, m->hdrs[h].off);
        vu[k++].u.header.size = (ssize_t)m->hdrs[h].len;
    }
    for (;;) {
        int err;
        e = rd_kafka_produceva(o->rk, vu, k);
        if (e == NULL) {
            return 0;
        }
        err = rd_kafka_error_code(e);
        rd_kafka_error_destroy(e);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || cancelled(rep)) {
            return err;
        }
        rd_kafka_poll(o->rk, WAIT_STEP_MS); /* reports make room */
    }
}

/* Renders and produces the N records; those kept out get their error in O->errs. */
static void produce_all(struct lc_kafka_output *o, struct lc_record *const *recs, size_t n,
                        struct lc_send_report *rep)
{
    rd_kafka_vu_t *vu = lc_xcalloc(6 + o->spec.n_headers, sizeof(*vu));
    char a[32];

    for (size_t i = 0; i < n; i++) {
        int rc;
        if (cancelled(rep)) {
            o->errs[i] = RD_KAFKA_RESP_ERR__PURGE_QUEUE; /* not produced: sent again */
            continue;
        }
        rc = lc_kafka_msg_render(&o->spec, recs[i], &o->msg);
        if (rc == 0 && lc_kafka_msg_size(&o->msg) > o->c->message_max_bytes) {
            lc_send_reject(rep, i,
                           "the message is %zu bytes (key, value and headers), above "
                           "message_max_bytes (%s)",
                           lc_kafka_msg_size(&o->msg),
                           lc_config_fmt_size(a, sizeof a, o->c->message_max_bytes));
            o->errs[i] = RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE;
            continue;
        }
        rc = rc != 0 ? RD_KAFKA_RESP_ERR__BAD_MSG : produce(o, i, recs[i], vu, rep);
        if (rc == 0) {
            o->pending++;
        } else {
            o->errs[i] = rc;
        }
    }
    free(vu);
}

/* Purges what is queued or in flight and serves the purged messages' reports. */
static void purge(struct lc_kafka_output *o)
{
    uint64_t start = lc_now_ms();

    rd_kafka_purge(o->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    while (o->pending > 0 && lc_now_ms() - start < DRAIN_MS) {
        rd_kafka_poll(o->rk, WAIT_STEP_MS);
    }
}

/* Waits for every report of the batch, sending at once (rd_kafka_flush ignores linger),
 * until the stop cancels or the reports are overdue. Records whose report never came are
 * answered as retryable, and the producer is replaced so that no late report can land. */
static void wait_reports(struct lc_kafka_output *o, const struct lc_send_report *rep)
{
    uint64_t deadline = lc_now_ms() + o->c->message_timeout_ms + REPORT_GRACE_MS;

    while (o->pending > 0) {
        if (cancelled(rep) || lc_now_ms() >= deadline) {
            if (!cancelled(rep)) {
                lc_log(LC_LOG_ERROR, 0, "[output:%s] %zu delivery reports overdue: purging them",
                       o->name, o->pending);
            }
            purge(o);
            break;
        }
        rd_kafka_flush(o->rk, WAIT_STEP_MS);
    }
    if (o->pending > 0) {
        for (size_t i = 0; i < o->n; i++) {
            o->errs[i] = o->errs[i] == PENDING ? RD_KAFKA_RESP_ERR__TIMED_OUT : o->errs[i];
        }
        o->pending = 0;
        o->renew = "its delivery reports are overdue"; /* the old one holds the messages */
    }
}

/* Logs a failed batch, unless the same error was logged less than a minute ago. */
static void log_failure(struct lc_kafka_output *o, const struct lc_kafka_verdict *v,
                        const struct lc_send_report *rep)
{
    uint64_t now = lc_now_ms();

    if (v->first_err == o->logged_err && now - o->logged_ms < FAIL_LOG_EVERY_MS) {
        return;
    }
    o->logged_err = v->first_err;
    o->logged_ms = now;
    lc_log(rep->config_fault ? LC_LOG_ERROR : LC_LOG_WARN, 0, "[output:%s] %s; %s", o->name,
           rep->why,
           rep->config_fault ? "check the topic, the brokers' ACLs and the credentials (will "
                               "retry; nothing is dropped)"
                             : "will retry");
}

/* What the client's own errors add to a failed batch: a failed login or a missing ACL
 * makes the messages time out, but it is a configuration fault. */
static void blame_client(struct lc_kafka_output *o, struct lc_send_report *rep)
{
    char why[sizeof rep->why];

    if (o->client_err == 0) {
        return;
    }
    if (lc_kafka_classify(o->client_err) == LC_KAFKA_CONFIG_FAULT) {
        rep->config_fault = 1;
    }
    snprintf(why, sizeof why, "%s", rep->why);
    lc_send_why(rep, "%.120s; the client says: %.120s", why, o->client_why);
}

static enum lc_send_result kafka_send(void *state, struct lc_record *const *recs, size_t n,
                                      struct lc_send_report *rep)
{
    struct lc_kafka_output *o = state;
    struct lc_kafka_verdict v;
    enum lc_send_result r;

    if (o->rk == NULL && producer_create(o) != 0) {
        lc_send_why(rep, "cannot create the Kafka producer");
        rep->config_fault = 1;
        return LC_RETRY;
    }
    if (o->cap < n) {
        free(o->errs);
        o->errs = lc_xmalloc(n * sizeof(*o->errs));
        o->cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        o->errs[i] = PENDING;
    }
    o->n = n;
    o->pending = 0;
    produce_all(o, recs, n, rep);
    wait_reports(o, rep);
    r = lc_kafka_answer(o->errs, n, rep, &v);
    o->n = 0;
    if (r != LC_OK) {
        blame_client(o, rep);
        log_failure(o, &v, rep);
    } else {
        o->logged_err = 0;
        o->client_err = 0; /* what the client said before is over */
    }
    if (o->renew != NULL || v.fatal > 0) {
        lc_log(LC_LOG_WARN, 0, "[output:%s] the producer cannot go on (%s): creating a new one",
               o->name, o->renew != NULL ? o->renew : "a fatal error");
        producer_destroy(o); /* the next send creates the new one */
    }
    return r;
}

static int kafka_flush(void *state)
{
    (void)state; /* a batch is answered once Kafka acknowledged it: nothing waits here */
    return 0;
}

static int kafka_poll(void *state, struct lc_brokers_snap *brokers)
{
    struct lc_kafka_output *o = state;

    if (o->rk == NULL) {
        return 0;
    }
    rd_kafka_poll(o->rk, 0);
    if (!o->stats_new) {
        return 0;
    }
    o->stats_new = 0;
    *brokers = o->stats;
    return 1;
}

static void kafka_destroy(void *state)
{
    struct lc_kafka_output *o = state;

    if (o == NULL) {
        return;
    }
    producer_destroy(o); /* nothing is in flight: every send waited for its reports */
    lc_kafka_msg_close(&o->msg);
    free(o->errs);
    free(o);
}

static int kafka_init(void **state, const struct lc_output_config *cfg)
{
    const char *name = cfg->name != NULL ? cfg->name : "kafka";
    const struct lc_kafka_config *c = cfg->opts;
    struct lc_kafka_output *o;

    if (c == NULL || c->n_brokers == 0 || c->topic == NULL) {
        lc_log(LC_LOG_ERROR, 0, "[output:%s] no brokers or topic", name);
        return -EINVAL;
    }
    o = lc_xcalloc(1, sizeof(*o));
    o->name = name;
    o->c = c;
    o->spec = (struct lc_kafka_msg_spec){c->topic, c->key, c->headers, c->n_headers,
                                         c->value == LC_KAFKA_VALUE_JSON};
    lc_kafka_msg_init(&o->msg);
    if (producer_create(o) != 0) {
        kafka_destroy(o);
        return -EINVAL;
    }
    *state = o;
    return 0;
}

const struct lc_output_ops lc_output_kafka = {
    .type = "kafka",
    .config = &lc_kafka_config_plugin,
    .init = kafka_init,
    .send = kafka_send,
    .flush = kafka_flush,
    .destroy = kafka_destroy,
    .poll = kafka_poll,
};
