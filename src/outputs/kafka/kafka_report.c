/* kafka_report: delivery reports to the batch's answer (see kafka_report.h). */
#include "outputs/kafka/kafka_report.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

/* Codes that refuse the message itself: sending it again can never work. */
static const rd_kafka_resp_err_t rejects[] = {
    RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,    RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE,
    RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE, RD_KAFKA_RESP_ERR_INVALID_RECORD,
    RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION,       RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP,
    RD_KAFKA_RESP_ERR_POLICY_VIOLATION,      RD_KAFKA_RESP_ERR__BAD_MSG,
    RD_KAFKA_RESP_ERR__INVALID_ARG,
};

/* Codes that say logcap's configuration or the cluster's is wrong for every message: the
 * topic does not exist (and is not created for us), we may not write, we cannot log in. */
static const rd_kafka_resp_err_t faults[] = {
    RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
    RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
    RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED,
    RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED,
    RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM,
    RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE,
    RD_KAFKA_RESP_ERR__AUTHENTICATION,
    RD_KAFKA_RESP_ERR__SSL,
    RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS,
    RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT,
    RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION,
};

/* Codes after which the idempotent producer cannot go on (librdkafka raises them as its
 * fatal error, and fails the queued messages with __FATAL). */
static const rd_kafka_resp_err_t fatals[] = {
    RD_KAFKA_RESP_ERR__FATAL,
    RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
    RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID,
    RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH,
    RD_KAFKA_RESP_ERR__INCONSISTENT,
};

static int among(int err, const rd_kafka_resp_err_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((int)list[i] == err) {
            return 1;
        }
    }
    return 0;
}

#define AMONG(err, list) among(err, list, sizeof(list) / sizeof(list[0]))

enum lc_kafka_outcome lc_kafka_classify(int err)
{
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        return LC_KAFKA_DELIVERED;
    }
    if (AMONG(err, rejects)) {
        return LC_KAFKA_REJECT;
    }
    if (AMONG(err, faults)) {
        return LC_KAFKA_CONFIG_FAULT;
    }
    if (AMONG(err, fatals)) {
        return LC_KAFKA_FATAL;
    }
    /* Timeouts, a full queue, purged messages, transport errors, leadership moves, too few
     * replicas and every code logcap does not know: send again. */
    return LC_KAFKA_RETRY;
}

const char *lc_kafka_err_text(int err, char *dst, size_t cap)
{
    snprintf(dst, cap, "%s (%s)", rd_kafka_err2str((rd_kafka_resp_err_t)err),
             rd_kafka_err2name((rd_kafka_resp_err_t)err));
    return dst;
}

/* Counts each outcome into V. */
static void tally(const int *errs, size_t n, struct lc_kafka_verdict *v)
{
    memset(v, 0, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        switch (lc_kafka_classify(errs[i])) {
        case LC_KAFKA_DELIVERED:
            v->delivered++;
            continue;
        case LC_KAFKA_REJECT:
            v->rejected++;
            continue;
        case LC_KAFKA_RETRY:
            v->retry++;
            break;
        case LC_KAFKA_CONFIG_FAULT:
            v->config_fault++;
            break;
        case LC_KAFKA_FATAL:
            v->fatal++;
            break;
        }
        if (v->first_err == 0) {
            v->first_err = errs[i];
        }
    }
}

enum lc_send_result lc_kafka_answer(const int *errs, size_t n, struct lc_send_report *rep,
                                    struct lc_kafka_verdict *v)
{
    struct lc_kafka_verdict local;
    char text[256];
    int failed;

    v = v != NULL ? v : &local;
    tally(errs, n, v);
    failed = v->retry + v->config_fault + v->fatal > 0;
    for (size_t i = 0; i < n; i++) {
        enum lc_kafka_outcome o = lc_kafka_classify(errs[i]);
        if (o == LC_KAFKA_REJECT) {
            lc_send_reject(rep, i, "Kafka refused the message for good: %s",
                           lc_kafka_err_text(errs[i], text, sizeof text));
        } else if (o == LC_KAFKA_DELIVERED && failed) {
            lc_send_done(rep, i); /* not sent again with the failed ones */
        }
    }
    if (!failed) {
        return LC_OK;
    }
    lc_send_why(rep, "%zu of %zu messages not delivered: %s", n - v->delivered - v->rejected, n,
                lc_kafka_err_text(v->first_err, text, sizeof text));
    rep->config_fault = v->config_fault > 0;
    return LC_RETRY;
}
