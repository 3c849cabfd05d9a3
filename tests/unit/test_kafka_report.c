/* test_kafka_report: what delivery reports do to a batch (outputs/kafka/kafka_report.c):
 * each error code's class, and a batch's codes turned into the answer and the marks of the
 * send report. */
#include "outputs/kafka/kafka_report.h"

#include <librdkafka/rdkafka.h>
#include <string.h>

#include "test.h"

TEST(each_code_has_its_class)
{
    ASSERT_EQ(lc_kafka_classify(RD_KAFKA_RESP_ERR_NO_ERROR), LC_KAFKA_DELIVERED);
    /* retried: librdkafka's own timeout, a full queue, purges, transport, leadership,
     * replicas, request timeouts, and codes logcap does not know */
    static const int retry[] = {RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
                                RD_KAFKA_RESP_ERR__QUEUE_FULL,
                                RD_KAFKA_RESP_ERR__PURGE_QUEUE,
                                RD_KAFKA_RESP_ERR__PURGE_INFLIGHT,
                                RD_KAFKA_RESP_ERR__TRANSPORT,
                                RD_KAFKA_RESP_ERR__TIMED_OUT,
                                RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                                RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
                                RD_KAFKA_RESP_ERR_INVALID_MSG,
                                9999};
    for (size_t i = 0; i < sizeof retry / sizeof retry[0]; i++) {
        ASSERT_EQ(lc_kafka_classify(retry[i]), LC_KAFKA_RETRY);
    }
    ASSERT_EQ(lc_kafka_classify(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE), LC_KAFKA_REJECT);
    ASSERT_EQ(lc_kafka_classify(RD_KAFKA_RESP_ERR_INVALID_RECORD), LC_KAFKA_REJECT);
    ASSERT_EQ(lc_kafka_classify(RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION), LC_KAFKA_REJECT);
    ASSERT_EQ(lc_kafka_classify(RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP), LC_KAFKA_REJECT);
    ASSERT_EQ(lc_kafka_classify(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC), LC_KAFKA_CONFIG_FAULT);
    ASSERT_EQ(lc_kafka_classify(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART), LC_KAFKA_CONFIG_FAULT);
    ASSERT_EQ(lc_kafka_classify(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED),
              LC_KAFKA_CONFIG_FAULT);
    ASSERT_EQ(lc_kafka_classify(RD_KAFKA_RESP_ERR__AUTHENTICATION), LC_KAFKA_CONFIG_FAULT);
    ASSERT_EQ(lc_kafka_classify(RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED),
              LC_KAFKA_CONFIG_FAULT);
    ASSERT_EQ(lc_kafka_classify(RD_KAFKA_RESP_ERR__FATAL), LC_KAFKA_FATAL);
    ASSERT_EQ(lc_kafka_classify(RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER), LC_KAFKA_FATAL);
}

/* Answers the N codes with a fresh report in REP. */
static enum lc_send_result answer(const int *errs, size_t n, struct lc_send_report *rep,
                                  struct lc_kafka_verdict *v)
{
    lc_send_report_reset(rep, n);
    lc_send_report_new_try(rep);
    return lc_kafka_answer(errs, n, rep, v);
}

TEST(all_delivered_is_ok_with_no_marks)
{
    struct lc_send_report rep = {0};
    int errs[3] = {0, 0, 0};

    ASSERT_EQ(answer(errs, 3, &rep, NULL), LC_OK);
    ASSERT_EQ(rep.n_done, 0);
    ASSERT_EQ(rep.n_rejected, 0);
    ASSERT_STR_EQ(rep.why, "");
    lc_send_report_close(&rep);
}

TEST(refused_for_good_are_marked_and_the_batch_is_ok)
{
    struct lc_send_report rep = {0};
    int errs[3] = {0, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, 0};

    ASSERT_EQ(answer(errs, 3, &rep, NULL), LC_OK);
    ASSERT_EQ(rep.n_rejected, 1);
    ASSERT_TRUE(rep.reasons[1] != NULL);
    ASSERT_TRUE(strstr(rep.reasons[1], "MSG_SIZE_TOO_LARGE") != NULL);
    ASSERT_EQ(rep.n_done, 0);
    lc_send_report_close(&rep);
}

TEST(a_retryable_failure_marks_the_delivered_done)
{
    struct lc_send_report rep = {0};
    struct lc_kafka_verdict v;
    int errs[4] = {0, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR_INVALID_RECORD,
                   RD_KAFKA_RESP_ERR__PURGE_QUEUE};

    ASSERT_EQ(answer(errs, 4, &rep, &v), LC_RETRY);
    ASSERT_EQ(rep.n_done, 1);
    ASSERT_TRUE(rep.done[0]);
    ASSERT_EQ(rep.n_rejected, 1);
    ASSERT_TRUE(rep.reasons[2] != NULL);
    ASSERT_EQ(rep.config_fault, 0);
    ASSERT_EQ(v.delivered, 1);
    ASSERT_EQ(v.retry, 2);
    ASSERT_EQ(v.rejected, 1);
    ASSERT_EQ(v.first_err, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
    ASSERT_TRUE(strstr(rep.why, "2 of 4 messages not delivered") != NULL);
    ASSERT_TRUE(strstr(rep.why, "_MSG_TIMED_OUT") != NULL);
    lc_send_report_close(&rep);
}

TEST(an_unknown_topic_is_a_config_fault_never_refused)
{
    struct lc_send_report rep = {0};
    int errs[2] = {RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC};

    ASSERT_EQ(answer(errs, 2, &rep, NULL), LC_RETRY);
    ASSERT_EQ(rep.config_fault, 1);
    ASSERT_EQ(rep.n_rejected, 0);
    ASSERT_EQ(rep.n_done, 0);
    lc_send_report_close(&rep);
}

TEST(a_fatal_error_is_counted_and_retried)
{
    struct lc_send_report rep = {0};
    struct lc_kafka_verdict v;
    int errs[3] = {0, RD_KAFKA_RESP_ERR__FATAL, RD_KAFKA_RESP_ERR__FATAL};

    ASSERT_EQ(answer(errs, 3, &rep, &v), LC_RETRY);
    ASSERT_EQ(v.fatal, 2);
    ASSERT_EQ(rep.n_done, 1);
    ASSERT_EQ(rep.config_fault, 0);
    lc_send_report_close(&rep);
}

TEST_MAIN(TEST_ENTRY(each_code_has_its_class), TEST_ENTRY(all_delivered_is_ok_with_no_marks),
          TEST_ENTRY(refused_for_good_are_marked_and_the_batch_is_ok),
          TEST_ENTRY(a_retryable_failure_marks_the_delivered_done),
          TEST_ENTRY(an_unknown_topic_is_a_config_fault_never_refused),
          TEST_ENTRY(a_fatal_error_is_counted_and_retried))
