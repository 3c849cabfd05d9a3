/* test_output_kafka: the Kafka output (outputs/kafka/kafka.c) end to end against
 * librdkafka's mock cluster in this process (3 brokers), its options loaded by the real
 * config loader from YAML. What arrived is read back by a consumer from every partition;
 * each answer's effect is read from the send report (output.h). */
#include "outputs/kafka/kafka.h"

#include <dirent.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../kafka/kafka_read.h"
#include "base/log.h"
#include "base/util.h"
#include "config/config.h"
#include "output_open.h"
#include "test.h"

/* ---- the mock cluster ---- */

struct cluster {
    rd_kafka_t *rk; /* the handle the mock cluster lives on */
    rd_kafka_mock_cluster_t *mc;
    char bootstrap[256];
};

static int cluster_start(struct cluster *k, const char *topic, int partitions)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (k->rk == NULL) {
        return -1;
    }
    k->mc = rd_kafka_mock_cluster_new(k->rk, 3);
    snprintf(k->bootstrap, sizeof k->bootstrap, "%s", rd_kafka_mock_cluster_bootstraps(k->mc));
    if (topic != NULL) {
        rd_kafka_mock_topic_create(k->mc, topic, partitions, 3);
    }
    return 0;
}

static void cluster_stop(struct cluster *k)
{
    rd_kafka_mock_cluster_destroy(k->mc);
    rd_kafka_destroy(k->rk);
}

/* One message read back. */
struct got {
    char key[64];
    int has_key;
    char value[4096];
    char hdr[256]; /* "name=value;" for each header */
    int64_t ts;
    int partition;
};

struct got_list {
    struct got *got;
    size_t n, cap;
};

/* Keeps message M in the struct got_list UD (while there is room). */
static void keep(void *ud, const rd_kafka_message_t *m)
{
    struct got_list *l = ud;
    struct got *g;
    rd_kafka_headers_t *h = NULL;

    if (l->n == l->cap) {
        return;
    }
    g = &l->got[l->n++];
    memset(g, 0, sizeof *g);
    g->has_key = m->key != NULL;
    snprintf(g->key, sizeof g->key, "%.*s", (int)m->key_len, (const char *)m->key);
    snprintf(g->value, sizeof g->value, "%.*s", (int)m->len, (const char *)m->payload);
    g->ts = rd_kafka_message_timestamp(m, NULL);
    g->partition = m->partition;
    if (rd_kafka_message_headers(m, &h) == 0) {
        const char *name;
        const void *v;
        size_t len;
        for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &v, &len) == 0; i++) {
            size_t at = strlen(g->hdr);
            snprintf(g->hdr + at, sizeof g->hdr - at, "%s=%.*s;", name, (int)len, (const char *)v);
        }
    }
}

/* Reads every partition of TOPIC from the start into OUT (up to CAP). Returns the count. */
static size_t consume(const struct cluster *k, const char *topic, struct got *out, size_t cap)
{
    struct got_list l = {out, 0, cap};
    char err[256];

    if (kafka_read_topic(k->bootstrap, topic, 20000, keep, &l, err, sizeof err) < 0) {
        fprintf(stderr, "  consume %s: %s\n", topic, err);
    }
    return l.n;
}

/* ---- an output loaded from YAML ---- */

/* Loads TEXT; returns rc and the errors printed (the caller frees *ERRS). */
static int load(const char *text, struct lc_config *c, char **errs)
{
    return out_load(&lc_output_kafka, text, c, errs);
}

/* Creates the output of `outputs: [{type: kafka, brokers: BOOTSTRAP's, topic: logs,
 * ...KEYS}]`, librdkafka's log off and its reconnect backoff short unless KEYS sets
 * librdkafka: itself. Returns 0, or -1 with the errors printed. */
static int out_open(struct out *o, const char *bootstrap, const char *keys)
{
    char text[4096], list[512];
    size_t at = 0;

    for (const char *p = bootstrap; *p != '\0' && at < sizeof list - 8; p++) {
        at += (size_t)snprintf(list + at, sizeof list - at, *p == ',' ? "\", \"" : "%c", *p);
    }
    snprintf(text, sizeof text,
             "outputs:\n  - type: kafka\n    brokers: [\"%s\"]\n    topic: logs\n%s%s", list,
             strstr(keys, "librdkafka") == NULL
                 ? "    librdkafka: {log_level: \"0\", reconnect.backoff.max.ms: \"500\"}\n"
                 : "",
             keys);
    return out_open_text(o, &lc_output_kafka, text);
}

/* Sends RECS as the delivery engine does: tries until LC_OK (at most TRIES), each try
 * sending only the records no earlier try marked. Returns the last answer. */
static enum lc_send_result out_send_until_ok(struct out *o, struct lc_record **recs, size_t n,
                                             int tries)
{
    struct lc_send_report scratch = {0};
    enum lc_send_result res = LC_RETRY;

    lc_send_report_reset(&o->rep, n);
    for (int t = 0; t < tries && res != LC_OK; t++) {
        lc_send_report_new_try(&o->rep);
        res = lc_output_send_rest(&lc_output_kafka, o->state, recs, n, &o->rep, &scratch);
    }
    lc_send_report_close(&scratch);
    return res;
}

/* N records of containers "web" (even) and "db" (odd): "line I". */
static struct lc_record **records(size_t n, struct lc_meta **web, struct lc_meta **db)
{
    struct lc_record **r = lc_xcalloc(n, sizeof(*r));

    *web = lc_meta_docker_create("aaaa", "web", "nginx", "node-1", NULL, "shop", "web");
    *db = lc_meta_docker_create("bbbb", "db", "postgres", "node-1", NULL, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        char msg[32];
        int len = snprintf(msg, sizeof msg, "line %zu", i);
        r[i] = lc_record_create(i % 2 == 0 ? *web : *db, i % 3 == 2 ? 2 : 1,
                                1795350283000000000LL + (int64_t)i * 1000000, "t", 1, msg,
                                (size_t)len, 0);
    }
    return r;
}

static void records_free(struct lc_record **r, size_t n, struct lc_meta *web, struct lc_meta *db)
{
    for (size_t i = 0; i < n; i++) {
        lc_record_destroy(r[i]);
    }
    free(r);
    lc_meta_unref(web);
    lc_meta_unref(db);
}

/* How many of GOT have the value "line I" exactly (for each I below N); 1 each when
 * every record arrived once. Returns the number of I that did not arrive exactly once. */
static size_t not_once(const struct got *g, size_t n_got, size_t n)
{
    size_t bad = 0;

    for (size_t i = 0; i < n; i++) {
        char want[32];
        int seen = 0;
        snprintf(want, sizeof want, "line %zu", i);
        for (size_t j = 0; j < n_got; j++) {
            seen += strcmp(g[j].value, want) == 0;
        }
        bad += seen != 1;
    }
    return bad;
}

/* ---- tests ---- */

TEST(every_record_arrives_once_with_key_headers_and_value)
{
    struct cluster k;
    struct out o;
    struct lc_meta *web, *db;
    struct lc_record **r = records(200, &web, &db);
    struct got *g = lc_xcalloc(400, sizeof(*g));
    size_t n;
    int web_part = -1;

    ASSERT_EQ(cluster_start(&k, "logs", 3), 0);
    ASSERT_EQ(out_open(&o, k.bootstrap,
                       "    value: message\n    compression: zstd\n"
                       "    headers: {stream: \"{{ stream }}\", project: "
                       "\"{{ compose_project }}\"}\n"),
              0);
    ASSERT_EQ(out_send(&o, r, 100), LC_OK);
    ASSERT_EQ(out_send(&o, r + 100, 100), LC_OK);
    ASSERT_EQ(o.rep.n_rejected, 0);
    n = consume(&k, "logs", g, 400);
    ASSERT_EQ(n, 200);
    ASSERT_EQ(not_once(g, n, 200), 0);
    for (size_t j = 0; j < n; j++) {
        size_t i = (size_t)atoi(g[j].value + 5);
        ASSERT_TRUE(g[j].has_key);
        ASSERT_STR_EQ(g[j].key, i % 2 == 0 ? "web" : "db");
        ASSERT_STR_EQ(g[j].hdr,
                      i % 3 == 2 ? (i % 2 == 0 ? "stream=stderr;project=shop;" : "stream=stderr;")
                                 : (i % 2 == 0 ? "stream=stdout;project=shop;" : "stream=stdout;"));
        ASSERT_EQ(g[j].ts, 1795350283000LL + (int64_t)i);
        if (i % 2 == 0) { /* one key, one partition */
            ASSERT_TRUE(web_part == -1 || web_part == g[j].partition);
            web_part = g[j].partition;
        }
    }
    out_close(&o);
    cluster_stop(&k);
    records_free(r, 200, web, db);
    free(g);
}

TEST(value_json_is_the_file_outputs_line_and_empty_key_is_none)
{
    struct cluster k;
    struct out o;
    struct lc_meta *web, *db;
    struct lc_record **r = records(2, &web, &db);
    struct got g[4];

    ASSERT_EQ(cluster_start(&k, "logs", 1), 0);
    ASSERT_EQ(out_open(&o, k.bootstrap, "    key: \"\"\n    compression: none\n"), 0);
    ASSERT_EQ(out_send(&o, r, 2), LC_OK);
    ASSERT_EQ(consume(&k, "logs", g, 4), 2);
    ASSERT_TRUE(!g[0].has_key);
    ASSERT_TRUE(strncmp(g[0].value, "{\"ts\":", 6) == 0);
    ASSERT_TRUE(strstr(g[0].value, "\"container_name\":\"web\"") != NULL);
    ASSERT_TRUE(strstr(g[0].value, "\"message\":\"line 0\"") != NULL);
    ASSERT_TRUE(g[0].value[strlen(g[0].value) - 1] == '}'); /* no newline */
    out_close(&o);
    cluster_stop(&k);
    records_free(r, 2, web, db);
}

TEST(record_above_message_max_bytes_is_refused_alone)
{
    struct cluster k;
    struct out o;
    struct lc_meta *web, *db;
    struct lc_record **r = records(3, &web, &db);
    struct got g[4];
    char big[3000];

    memset(big, 'x', sizeof big);
    lc_record_destroy(r[1]);
    r[1] = lc_record_create(db, 1, 1, "t", 1, big, sizeof big, 0);
    ASSERT_EQ(cluster_start(&k, "logs", 3), 0);
    ASSERT_EQ(out_open(&o, k.bootstrap, "    value: message\n    message_max_bytes: 2KiB\n"), 0);
    ASSERT_EQ(out_send(&o, r, 3), LC_OK);
    ASSERT_EQ(o.rep.n_rejected, 1);
    ASSERT_TRUE(o.rep.reasons[1] != NULL);
    ASSERT_TRUE(strstr(o.rep.reasons[1], "above message_max_bytes (2KiB)") != NULL);
    ASSERT_EQ(consume(&k, "logs", g, 4), 2);
    out_close(&o);
    cluster_stop(&k);
    records_free(r, 3, web, db);
}

TEST(injected_produce_errors_lose_and_repeat_nothing)
{
    struct cluster k;
    struct out o;
    struct lc_meta *web, *db;
    struct lc_record **r = records(300, &web, &db);
    struct got *g = lc_xcalloc(600, sizeof(*g));
    size_t n;

    ASSERT_EQ(cluster_start(&k, "logs", 3), 0);
    rd_kafka_mock_push_request_errors(
        k.mc, 0 /* Produce */, 6, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
    ASSERT_EQ(out_open(&o, k.bootstrap, "    value: message\n"), 0);
    for (size_t b = 0; b < 3; b++) {
        ASSERT_EQ(out_send(&o, r + b * 100, 100), LC_OK);
    }
    n = consume(&k, "logs", g, 600);
    ASSERT_EQ(n, 300);
    ASSERT_EQ(not_once(g, n, 300), 0);
    out_close(&o);
    cluster_stop(&k);
    records_free(r, 300, web, db);
    free(g);
}

TEST(brokers_down_is_retried_then_delivered_once)
{
    struct cluster k;
    struct out o;
    struct lc_meta *web, *db;
    struct lc_record **r = records(50, &web, &db);
    struct got g[100];
    size_t n;
    enum lc_send_result res;

    ASSERT_EQ(cluster_start(&k, "logs", 3), 0);
    ASSERT_EQ(out_open(&o, k.bootstrap, "    value: message\n    message_timeout: 1500ms\n"), 0);
    ASSERT_EQ(out_send(&o, r, 10), LC_OK); /* connected, metadata known */
    for (int b = 1; b <= 3; b++) {
        rd_kafka_mock_broker_set_down(k.mc, b);
    }
    res = out_send(&o, r + 10, 40);
    ASSERT_EQ(res, LC_RETRY);
    ASSERT_EQ(o.rep.config_fault, 0);
    ASSERT_TRUE(strstr(o.rep.why, "40 of 40 messages not delivered") != NULL);
    for (int b = 1; b <= 3; b++) {
        rd_kafka_mock_broker_set_up(k.mc, b);
    }
    /* librdkafka reconnects with its backoff: the engine's tries go on until it has */
    ASSERT_EQ(out_send_until_ok(&o, r + 10, 40, 20), LC_OK);
    n = consume(&k, "logs", g, 100);
    ASSERT_EQ(n, 50);
    ASSERT_EQ(not_once(g, n, 50), 0);
    out_close(&o);
    cluster_stop(&k);
    records_free(r, 50, web, db);
}

/* A sequence gap is fatal for librdkafka's idempotent producer: the batch is retried and
 * a new producer delivers it, every record once. */
TEST(a_fatal_idempotence_error_replaces_the_producer)
{
    struct cluster k;
    struct out o;
    struct lc_meta *web, *db;
    struct lc_record **r = records(40, &web, &db);
    struct got g[100];
    size_t n;
    enum lc_send_result res;

    ASSERT_EQ(cluster_start(&k, "logs", 1), 0);
    ASSERT_EQ(out_open(&o, k.bootstrap, "    value: message\n"), 0);
    ASSERT_EQ(out_send(&o, r, 10), LC_OK);
    rd_kafka_mock_push_request_errors(k.mc, 0 /* Produce */, 1,
                                      RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    res = out_send(&o, r + 10, 10);
    ASSERT_EQ(res, LC_RETRY);
    ASSERT_TRUE(strstr(o.rep.why, "OUT_OF_ORDER_SEQUENCE_NUMBER") != NULL);
    ASSERT_EQ(o.rep.config_fault, 0);
    /* a fatal producer refuses every produce call: delivering proves it was replaced */
    ASSERT_EQ(out_send_until_ok(&o, r + 10, 30, 10), LC_OK);
    n = consume(&k, "logs", g, 100);
    ASSERT_EQ(not_once(g, n, 40), 0);
    out_close(&o);
    cluster_stop(&k);
    records_free(r, 40, web, db);
}

struct canceller {
    int flag;
    pthread_t t;
};

static void *cancel_later(void *arg)
{
    struct canceller *c = arg;
    usleep(300 * 1000);
    __atomic_store_n(&c->flag, 1, __ATOMIC_RELAXED);
    return NULL;
}

TEST(a_stop_cuts_a_waiting_batch_short_and_acknowledges_nothing)
{
    struct cluster k;
    struct out o;
    struct lc_meta *web, *db;
    struct lc_record **r = records(20, &web, &db);
    struct canceller c = {0};
    uint64_t start;

    ASSERT_EQ(cluster_start(&k, "logs", 3), 0);
    ASSERT_EQ(out_open(&o, k.bootstrap, "    message_timeout: 60s\n"), 0);
    ASSERT_EQ(out_send(&o, r, 10), LC_OK);
    for (int b = 1; b <= 3; b++) {
        rd_kafka_mock_broker_set_down(k.mc, b);
    }
    lc_send_report_reset(&o.rep, 10);
    o.rep.cancel = &c.flag;
    pthread_create(&c.t, NULL, cancel_later, &c);
    start = lc_now_ms();
    ASSERT_EQ(lc_output_kafka.send(o.state, r + 10, 10, &o.rep), LC_RETRY);
    pthread_join(c.t, NULL);
    ASSERT_TRUE(lc_now_ms() - start < 5000);
    ASSERT_EQ(o.rep.n_done, 0);
    ASSERT_EQ(o.rep.n_rejected, 0);
    out_close(&o);
    cluster_stop(&k);
    records_free(r, 20, web, db);
}

/* The threads of this process whose name starts with "rdk:" (librdkafka's). */
static unsigned rdk_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    unsigned n = 0;
    char path[300], comm[32];

    while (d != NULL && (e = readdir(d)) != NULL) {
        FILE *f;
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        f = e->d_name[0] != '.' ? fopen(path, "r") : NULL;
        if (f != NULL) {
            n += fgets(comm, sizeof comm, f) != NULL && strncmp(comm, "rdk:", 4) == 0;
            fclose(f);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return n;
}

TEST(statistics_give_brokers_queue_and_threads)
{
    struct cluster k;
    struct out o;
    struct lc_meta *web, *db;
    struct lc_record **r = records(10, &web, &db);
    struct lc_brokers_snap b = {0};
    uint64_t start;
    int got = 0;
    unsigned before;

    ASSERT_EQ(cluster_start(&k, "logs", 3), 0);
    before = rdk_threads();
    ASSERT_EQ(out_open(&o, k.bootstrap,
                       "    librdkafka: {log_level: \"0\", statistics.interval.ms: \"100\"}\n"),
              0);
    ASSERT_EQ(out_send(&o, r, 10), LC_OK);
    start = lc_now_ms();
    while (lc_now_ms() - start < 5000) {
        if (lc_output_kafka.poll(o.state, &b) == 1 && b.up >= 1) {
            got = 1;
            break;
        }
        usleep(50 * 1000);
    }
    if (!got) {
        fprintf(stderr, "  valid %d up %llu known %llu n %zu threads %u\n", b.valid,
                (unsigned long long)b.up, (unsigned long long)b.known, b.n, b.threads);
    }
    ASSERT_TRUE(got);
    ASSERT_EQ(b.valid, 1);
    ASSERT_EQ(b.known, 3);
    ASSERT_EQ(b.n, 3);
    ASSERT_EQ(b.threads, rdk_threads() - before); /* the producer's own */
    out_close(&o);
    cluster_stop(&k);
    records_free(r, 10, web, db);
}

static int noisy_lines;

static void count_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk, (void)level, (void)fac, (void)buf;
    noisy_lines++;
}

/* How many log lines a producer with librdkafka's debug log on writes while it delivers
 * one message to cluster K. */
static int reference_log_lines(const struct cluster *k, const char *debug)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *p;

    noisy_lines = 0;
    rd_kafka_conf_set(conf, "bootstrap.servers", k->bootstrap, err, sizeof err);
    rd_kafka_conf_set(conf, "debug", debug, err, sizeof err);
    rd_kafka_conf_set_log_cb(conf, count_log);
    p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    rd_kafka_producev(p, RD_KAFKA_V_TOPIC("logs"), RD_KAFKA_V_VALUE("x", 1), RD_KAFKA_V_END);
    rd_kafka_flush(p, 10000);
    rd_kafka_destroy(p);
    return noisy_lines;
}

/* librdkafka's log goes through logcap's, rate-limited: with its debug log on (more than
 * 60 lines for one delivery, as a producer of the test's own counts) and logcap's level
 * debug, the output logs 10 of them (lc_log leaves out the rest of the minute). */
TEST(librdkafka_log_is_rate_limited)
{
    struct cluster k;
    struct out o;
    struct lc_meta *web, *db;
    struct lc_record **r = records(10, &web, &db);
    struct capture cap;
    char *log;
    int lines = 0;

    ASSERT_EQ(cluster_start(&k, "logs", 3), 0);
    ASSERT_TRUE(reference_log_lines(&k, "broker,topic,msg,protocol") > 60);
    lc_log_set_level(LC_LOG_DEBUG);
    capture_start(&cap);
    if (out_open(&o, k.bootstrap, "    librdkafka: {debug: \"broker,topic,msg,protocol\"}\n") ==
        0) {
        out_send(&o, r, 10);
        out_close(&o);
    }
    log = capture_stop(&cap);
    lc_log_set_level(LC_LOG_INFO);
    for (const char *p = log; (p = strstr(p, "[output:kafka] librdkafka debug ")) != NULL; p++) {
        lines++;
    }
    ASSERT_EQ(lines, 10);
    free(log);
    cluster_stop(&k);
    records_free(r, 10, web, db);
}

/* Loads TEXT and checks that it fails with an error holding each of WANT (NULL-ended). */
static int load_fails_with(const char *text, const char *const *want)
{
    struct lc_config c = {0};
    char *errs = NULL;
    int rc = load(text, &c, &errs), ok = rc != 0;

    for (size_t i = 0; ok && want[i] != NULL; i++) {
        ok = strstr(errs, want[i]) != NULL;
    }
    if (!ok) {
        fprintf(stderr, "  rc=%d errors:\n%s", rc, errs);
    }
    free(errs);
    lc_config_free(&c);
    return ok;
}

TEST(config_errors_name_file_line_and_key)
{
    ASSERT_TRUE(load_fails_with(
        "outputs:\n  - type: kafka\n    brokers: [\"127.0.0.1:9092\"]\n"
        "    librdkafka:\n      linger.ms: \"5\"\n      queue.buffering.max.ms: abc\n",
        (const char *const[]){"x.yaml:6:", "librdkafka.queue.buffering.max.ms", "Invalid value",
                              NULL}));
    ASSERT_TRUE(load_fails_with("outputs:\n  - type: kafka\n    brokers: [\"127.0.0.1:9092\"]\n"
                                "    librdkafka: {no.such.property: \"1\"}\n",
                                (const char *const[]){"x.yaml:4:", "librdkafka.no.such.property",
                                                      "No such configuration property", NULL}));
    ASSERT_TRUE(load_fails_with(
        "outputs:\n  - type: kafka\n    brokers: [\"127.0.0.1:9092\"]\n"
        "    librdkafka:\n      bootstrap.servers: \"x:1\"\n",
        (const char *const[]){"x.yaml:5:", "librdkafka.bootstrap.servers", "key brokers", NULL}));
    ASSERT_TRUE(load_fails_with("outputs:\n  - type: kafka\n    brokers: [\"127.0.0.1:9092\"]\n"
                                "    librdkafka: {acks: \"1\"}\n",
                                (const char *const[]){"x.yaml:4:", "librdkafka", "acks", NULL}));
    ASSERT_TRUE(load_fails_with("outputs:\n  - type: kafka\n    topic: logs\n",
                                (const char *const[]){"x.yaml:2:", "brokers", "required", NULL}));
    ASSERT_TRUE(load_fails_with("outputs:\n  - type: kafka\n    brokers: [\"localhost\"]\n",
                                (const char *const[]){"x.yaml:3:", "not a broker address", NULL}));
    ASSERT_TRUE(load_fails_with(
        "outputs:\n  - type: kafka\n    brokers: [\"h:1\"]\n    topic: \"{{ nope }}\"\n",
        (const char *const[]){"x.yaml:4:", "topic", "unknown variable", NULL}));
    ASSERT_TRUE(load_fails_with(
        "outputs:\n  - type: kafka\n    brokers: [\"h:1\"]\n    sasl: {mechanism: PLAIN}\n",
        (const char *const[]){"x.yaml:4:", "sasl", "username", NULL}));
}

TEST_MAIN(TEST_ENTRY(every_record_arrives_once_with_key_headers_and_value),
          TEST_ENTRY(value_json_is_the_file_outputs_line_and_empty_key_is_none),
          TEST_ENTRY(record_above_message_max_bytes_is_refused_alone),
          TEST_ENTRY(injected_produce_errors_lose_and_repeat_nothing),
          TEST_ENTRY(brokers_down_is_retried_then_delivered_once),
          TEST_ENTRY(a_fatal_idempotence_error_replaces_the_producer),
          TEST_ENTRY(a_stop_cuts_a_waiting_batch_short_and_acknowledges_nothing),
          TEST_ENTRY(statistics_give_brokers_queue_and_threads),
          TEST_ENTRY(librdkafka_log_is_rate_limited),
          TEST_ENTRY(config_errors_name_file_line_and_key))
