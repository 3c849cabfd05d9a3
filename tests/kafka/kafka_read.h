/* kafka_read: reads a topic back, every partition from its start to the end it has when
 * the reader gets there, for the tests' checks of what arrived (the mock cluster's dump,
 * test_output_kafka's consume). A consumer that assigns every partition at
 * OFFSET_BEGINNING with enable.partition.eof and stops when each partition has reported
 * its end once, or at a deadline. Every function is static: each program has its own copy. */
#ifndef LC_TEST_KAFKA_READ_H
#define LC_TEST_KAFKA_READ_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int64_t kafka_read_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A consumer of BOOTSTRAP that commits nothing and creates no topic, or NULL with ERR set. */
static rd_kafka_t *kafka_read_consumer(const char *bootstrap, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, errlen) ||
        rd_kafka_conf_set(conf, "group.id", "kafka-read", err, errlen) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, errlen) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, errlen) ||
        rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", err, errlen) ||
        rd_kafka_conf_set(conf, "log_level", "3", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

/* The partition count of TOPIC, or -1 with ERR set. */
static int kafka_read_partitions(rd_kafka_t *rk, const char *topic, char *err, size_t errlen)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int n = -1;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);

    if (e) {
        snprintf(err, errlen, "metadata: %s", rd_kafka_err2name(e));
    } else if (md->topic_cnt != 1 || md->topics[0].err) {
        snprintf(err, errlen, "topic %s: %s", topic,
                 md->topic_cnt ? rd_kafka_err2name(md->topics[0].err) : "not in metadata");
    } else {
        n = md->topics[0].partition_cnt;
    }
    if (md) {
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    return n;
}

/* Polls RK (assigned NPARTS partitions) until each reported its end, calling EACH with UD
 * for every message; the count, or -1 with ERR set at the deadline. */
static long kafka_read_loop(rd_kafka_t *rk, int nparts, int deadline_ms,
                            void (*each)(void *ud, const rd_kafka_message_t *m), void *ud,
                            char *err, size_t errlen)
{
    char *eof = calloc((size_t)nparts, 1);
    int eofs = 0;
    long n = 0;
    int64_t deadline = kafka_read_now_ms() + deadline_ms;

    while (eof != NULL && eofs < nparts) {
        rd_kafka_message_t *m;
        if (kafka_read_now_ms() > deadline) {
            snprintf(err, errlen, "deadline: %d of %d partitions at their end after %d ms", eofs,
                     nparts, deadline_ms);
            n = -1;
            break;
        }
        m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL) {
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (m->partition >= 0 && m->partition < nparts && !eof[m->partition]) {
                eof[m->partition] = 1;
                eofs++;
            }
        } else if (m->err) {
            fprintf(stderr, "kafka_read: %s\n", rd_kafka_message_errstr(m));
        } else {
            each(ud, m);
            n++;
        }
        rd_kafka_message_destroy(m);
    }
    free(eof);
    return n;
}

/* Reads every message of TOPIC on BOOTSTRAP (see the top), calling EACH with UD for each.
 * Returns the count, or -1 with ERR set (no such topic, the deadline passed). */
static long kafka_read_topic(const char *bootstrap, const char *topic, int deadline_ms,
                             void (*each)(void *ud, const rd_kafka_message_t *m), void *ud,
                             char *err, size_t errlen)
{
    rd_kafka_t *rk = kafka_read_consumer(bootstrap, err, errlen);
    rd_kafka_topic_partition_list_t *parts;
    rd_kafka_resp_err_t e;
    long n = -1;
    int nparts;

    if (rk == NULL) {
        return -1;
    }
    nparts = kafka_read_partitions(rk, topic, err, errlen);
    if (nparts > 0) {
        parts = rd_kafka_topic_partition_list_new(nparts);
        for (int p = 0; p < nparts; p++) {
            rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        }
        e = rd_kafka_assign(rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        if (e) {
            snprintf(err, errlen, "assign: %s", rd_kafka_err2name(e));
        } else {
            n = kafka_read_loop(rk, nparts, deadline_ms, each, ud, err, errlen);
        }
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return n;
}

#endif
