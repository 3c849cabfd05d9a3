/* kafka_report: what librdkafka's delivery reports mean for a batch (output.h's
 * contract). Each message of a batch ends with one error code (rd_kafka_resp_err_t, as an
 * int so that callers need no librdkafka): its delivery report's, or the error that kept
 * it from being produced. lc_kafka_classify says what one code means; lc_kafka_answer
 * turns a batch's codes into the answer and the marks of the send report. */
#ifndef LC_KAFKA_REPORT_H
#define LC_KAFKA_REPORT_H

#include <stddef.h>

#include "outputs/output.h"

enum lc_kafka_outcome {
    LC_KAFKA_DELIVERED = 0, /* acknowledged (acks=all with idempotence) */
    LC_KAFKA_RETRY,         /* send again: not persisted, or maybe (a resend may repeat it) */
    LC_KAFKA_REJECT,        /* refused for good (too large, invalid): dead-letter it */
    LC_KAFKA_CONFIG_FAULT,  /* unknown topic, not authorised: retried, never dead-lettered */
    LC_KAFKA_FATAL,         /* the producer is unusable (a fatal idempotence error): a new
                               producer sends it again */
};

/* What error code ERR means for its message. Unknown codes are LC_KAFKA_RETRY: a code
 * logcap does not know never drops a record. */
enum lc_kafka_outcome lc_kafka_classify(int err);

/* What a batch did: the answer's parts beyond the send report. */
struct lc_kafka_verdict {
    size_t delivered, retry, rejected, config_fault, fatal;
    int first_err; /* the first code that was not delivered nor refused (0: none) */
};

/* The answer of a batch of N messages whose codes are ERRS (the batch's records in order):
 * LC_OK when every message was delivered or refused for good (the refused are marked in
 * REP with librdkafka's reason), else LC_RETRY with the delivered ones marked done (unless
 * none was: nothing to mark), REP's why naming the first error and config_fault set when a
 * configuration fault is among the failures. V (may be NULL) gets the counts. */
enum lc_send_result lc_kafka_answer(const int *errs, size_t n, struct lc_send_report *rep,
                                    struct lc_kafka_verdict *v);

/* "librdkafka's description (CODE_NAME)" of ERR, into DST (CAP bytes). Returns DST. */
const char *lc_kafka_err_text(int err, char *dst, size_t cap);

#endif
