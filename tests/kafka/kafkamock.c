/* kafkamock: librdkafka's mock Kafka cluster for the integration tests, driven over stdin.
 *
 *   kafkamock cluster [--brokers N] [--partitions P] [--topic NAME]... [--absent NAME]...
 *   kafkamock consume BOOTSTRAP TOPIC PATH
 *   kafkamock produce BOOTSTRAP TOPIC N [--key K] [--conf NAME=VALUE]...
 *
 * cluster: starts a mock cluster of N brokers (default 3) on 127.0.0.1, creates each --topic
 * with P partitions (default 3) and replication N, prints one line "bootstrap HOST:PORT,..."
 * and then answers every command line on stdin with one line, "ok [detail]" or
 * "error <reason>" (tests/integration/kafkamock.py has the list). EOF on stdin is "quit".
 *
 * consume: the "dump" command against any bootstrap. produce: N idempotent messages
 * "msg-<i>" with headers {"i": "<i>", "src": "kafkamock"}, key K (none without --key); prints
 * "failed <i> <ERR_NAME> <ERR_CODE> <ms>" for every failed delivery report (ms since the first
 * produce call) and last "delivered D failed F ms T"; exits 0 when every message was delivered.
 *
 * dump/consume write one JSON object per message, in offset order within a partition
 * (partitions interleaved as the consumer got them):
 *   {"partition":p,"offset":o,"timestamp":ms,"key":KEY,"headers":{name:VALUE,...},"value":VALUE}
 * KEY is null when the message has none; a key, value or header value that is not valid UTF-8
 * is {"hex":"..."}; a header without a value is null. Headers are an object: when a name comes
 * more than once, its value is the list of its values in order (logcap's headers are a map, so
 * the tests see plain strings). The reader assigns every partition at OFFSET_BEGINNING with
 * enable.partition.eof and stops when each partition has reported EOF once (60 s deadline).
 *
 * What librdkafka 2.0.2's mock cluster does (its source, and experiments with the produce mode;
 * tests/integration/test_kafkamock.py keeps them):
 * - Topic creation happens on a Metadata request for an unknown topic when the request allows
 *   it (AllowAutoTopicCreation, Metadata v4+), with the mock's default of 4 partitions. The mock
 *   advertises Metadata v0..v2 only, where that flag does not exist and counts as "allowed": a
 *   producer with allow.auto.create.topics=false still got its topic created ("noauto with 4
 *   partitions"). kafkamock therefore advertises v0..v8 (the mock's handler reads and writes
 *   them); then the client's allow.auto.create.topics decides, as with a real broker:
 *   librdkafka's producer default (true) creates the topic, false leaves it unknown.
 * - A Produce request for a topic the mock does not know is answered UNKNOWN_TOPIC_OR_PART; a
 *   producer never sends one (it waits for metadata).
 * - Unknown topic, producer side (idempotent, defaults otherwise): every message's delivery
 *   report is UNKNOWN_TOPIC_OR_PART (the broker error, code 3, not the local _UNKNOWN_TOPIC)
 *   30.0 s after produce (topic.metadata.propagation.max.ms, 30000; 1000 -> 1.0 s). With
 *   message.timeout.ms=5000 it is _MSG_TIMED_OUT (-192) after 6.0 s (the timeout scan runs each
 *   second). When the topic is created meanwhile, the queued messages are delivered at once
 *   (created 8 s and 10 s after produce: delivered at 8.0 s and 10.0 s).
 * - There is no broker-side auto.create.topics.enable=false in the mock. A test gets "unknown
 *   topic, then the topic is created" in one of two ways:
 *   1. the client sets allow.auto.create.topics=false, and the test later runs "topic NAME P";
 *   2. the test marks the name absent (--absent NAME or "absent NAME P"): the topic is made with
 *      P partitions and the topic error UNKNOWN_TOPIC_OR_PART, which every Metadata answer for it
 *      carries whatever the client allows; "topic NAME P" then clears the error (the partition
 *      count stays the one given to "absent"). Same delivery reports as above.
 * - "errors 0 5 NOT_ENOUGH_REPLICAS" (or NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT): the mock
 *   stores nothing for an errored request; the idempotent producer retries (retry.backoff.ms
 *   100: 200 messages of one key took 6 Produce requests and 508 ms instead of 1 request and
 *   ~6 ms) and every message is stored exactly once, in order. INVALID_RECORD (87),
 *   TOPIC_AUTHORIZATION_FAILED (29) are reported at once; MSG_SIZE_TOO_LARGE (10) after ~1 s.
 * - "down" of the leader: connections are refused, the mock does not elect another leader, the
 *   idempotent producer keeps the messages (no delivery report with the default
 *   message.timeout.ms of 300 s) and delivers each exactly once after "up": 1.0 s after up when
 *   down for 3 s, 4.2 s (down 10 s), 2.3 s (down 20 s): reconnect.backoff.max.ms is 10 s.
 *   With message.timeout.ms=2000 the messages fail with _MSG_TIMED_OUT instead.
 * - The mock does NOT deduplicate an idempotent producer's retries (no sequence check): with
 *   "broker_errors LEADER 0 NONE 3000 1" (the next Produce is stored, its answer held 3 s) and
 *   the producer's socket.timeout.ms=1000, the request times out ("1 request(s) timed out:
 *   disconnect"), the batch is sent again and stored twice: 20 messages of one key are at
 *   offsets 0..19 and again 20..39, with enable.idempotence true as with false (all 20 delivery
 *   reports successful, 2.1 s). A real broker drops the retry. "rtt ID MS" alone (all answers
 *   late) with request.timeout.ms=1000 did not time requests out: socket.timeout.ms (60 s)
 *   governs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "kafka_read.h"

#define KM_MAX_ABSENT 64
#define KM_DUMP_DEADLINE_MS 60000

struct km {
    rd_kafka_t *rk; /* the dummy producer handle that owns the mock cluster */
    rd_kafka_mock_cluster_t *mc;
    const char *bootstrap;
    int brokers;
    int partitions;
    char *absent[KM_MAX_ABSENT]; /* topics made with UNKNOWN_TOPIC_OR_PART, not yet "topic" */
};

static void reply(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* Names the tests use that librdkafka spells differently (Kafka renamed error 6). */
static const struct {
    const char *alias;
    rd_kafka_resp_err_t err;
} err_aliases[] = {
    {"NOT_LEADER_FOR_PARTITION", RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION},
    {"NOT_LEADER_OR_FOLLOWER", RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION},
    {"NONE", RD_KAFKA_RESP_ERR_NO_ERROR},
};

/* An error by number or by name (with or without RD_KAFKA_RESP_ERR_); -1 if unknown. */
static int parse_err(const char *s, rd_kafka_resp_err_t *out)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (*s && !*end) {
        *out = (rd_kafka_resp_err_t)n;
        return 0;
    }
    if (!strncmp(s, "RD_KAFKA_RESP_ERR_", 18))
        s += 18;
    for (size_t i = 0; i < sizeof(err_aliases) / sizeof(err_aliases[0]); i++) {
        if (!strcmp(s, err_aliases[i].alias)) {
            *out = err_aliases[i].err;
            return 0;
        }
    }
    const struct rd_kafka_err_desc *descs;
    size_t cnt;
    rd_kafka_get_err_descs(&descs, &cnt);
    for (size_t i = 0; i < cnt; i++) {
        if (descs[i].name && !strcmp(descs[i].name, s)) {
            *out = descs[i].code;
            return 0;
        }
    }
    return -1;
}

static int parse_int(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (!*s || *end || errno || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

/* ---------------------------------------------------------------------------- reading back */

static json_t *bytes_json(const void *p, size_t len)
{
    json_t *s = json_stringn((const char *)p, len); /* NULL when not valid UTF-8 */
    if (s)
        return s;
    char *hex = malloc(len * 2 + 1);
    if (!hex)
        return NULL;
    for (size_t i = 0; i < len; i++)
        sprintf(hex + 2 * i, "%02x", ((const unsigned char *)p)[i]);
    hex[len * 2] = '\0';
    json_t *o = json_pack("{s:s}", "hex", hex);
    free(hex);
    return o;
}

static json_t *headers_json(rd_kafka_message_t *m)
{
    json_t *o = json_object();
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return o;
    const char *name;
    const void *val;
    size_t len;
    for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &val, &len); i++) {
        json_t *v = val ? bytes_json(val, len) : json_null();
        json_t *old = json_object_get(o, name);
        if (!old) {
            json_object_set_new(o, name, v);
        } else if (json_is_array(old)) {
            json_array_append_new(old, v);
        } else {
            json_t *list = json_pack("[O,o]", old, v);
            json_object_set_new(o, name, list);
        }
    }
    return o;
}

static json_t *message_json(rd_kafka_message_t *m)
{
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    json_t *key = m->key ? bytes_json(m->key, m->key_len) : json_null();
    json_t *value = m->payload ? bytes_json(m->payload, m->len) : json_null();
    return json_pack("{s:i,s:I,s:I,s:o,s:o,s:o}", "partition", (int)m->partition, "offset",
                     (json_int_t)m->offset, "timestamp", (json_int_t)ts, "key", key, "headers",
                     headers_json(m), "value", value);
}

/* Writes message M as one JSON line to the FILE * UD. */
static void dump_one(void *ud, const rd_kafka_message_t *m)
{
    json_t *j = message_json((rd_kafka_message_t *)m);
    char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (line)
        fprintf(ud, "%s\n", line);
    free(line);
    json_decref(j);
}

/* Writes every message of TOPIC to PATH as JSON lines; the count, or -1 with err set. */
static long dump_topic(const char *bootstrap, const char *topic, const char *path, char *err,
                       size_t errlen)
{
    FILE *out = fopen(path, "w");
    long n;
    if (!out) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    n = kafka_read_topic(bootstrap, topic, KM_DUMP_DEADLINE_MS, dump_one, out, err, errlen);
    if (fclose(out) && n >= 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        n = -1;
    }
    return n;
}

/* The sum over partitions of high - low watermark: the messages the topic holds; with
 * WRITTEN, of the high watermark: every message ever written (the mock drops a partition's
 * oldest log segments past its size limit, which moves the low watermark, so a large
 * volume is counted this way). */
static long count_topic(const char *bootstrap, const char *topic, int written, char *err,
                        size_t errlen)
{
    rd_kafka_t *rk = kafka_read_consumer(bootstrap, err, errlen);
    if (!rk)
        return -1;
    long total = 0;
    int nparts = kafka_read_partitions(rk, topic, err, errlen);
    if (nparts < 0)
        total = -1;
    for (int p = 0; p < nparts; p++) {
        int64_t lo, hi;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000);
        if (e) {
            snprintf(err, errlen, "watermarks of %s [%d]: %s", topic, p, rd_kafka_err2name(e));
            total = -1;
            break;
        }
        total += (long)(written ? hi : hi - lo);
    }
    rd_kafka_destroy(rk);
    return total;
}

/* ------------------------------------------------------------------------------- commands */

static int absent_find(struct km *km, const char *topic)
{
    for (int i = 0; i < KM_MAX_ABSENT; i++)
        if (km->absent[i] && !strcmp(km->absent[i], topic))
            return i;
    return -1;
}

/* Creates TOPIC with the error UNKNOWN_TOPIC_OR_PART until "topic" clears it. */
static int absent_add(struct km *km, const char *topic, long parts, char *err, size_t errlen)
{
    int slot = 0;
    while (slot < KM_MAX_ABSENT && km->absent[slot])
        slot++;
    if (slot == KM_MAX_ABSENT) {
        snprintf(err, errlen, "too many absent topics");
        return -1;
    }
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(km->mc, topic, (int)parts, km->brokers);
    if (e) {
        snprintf(err, errlen, "%s", rd_kafka_err2name(e));
        return -1;
    }
    rd_kafka_mock_topic_set_error(km->mc, topic, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    km->absent[slot] = strdup(topic);
    return 0;
}

static void cmd_absent(struct km *km, const char *topic, long parts)
{
    char err[256];
    if (absent_add(km, topic, parts, err, sizeof(err)))
        reply("error %s", err);
    else
        reply("ok");
}

static void cmd_topic(struct km *km, const char *topic, long parts)
{
    int i = absent_find(km, topic);
    if (i >= 0) { /* made by "absent": it appears now, with the partitions it was made with */
        rd_kafka_mock_topic_set_error(km->mc, topic, RD_KAFKA_RESP_ERR_NO_ERROR);
        free(km->absent[i]);
        km->absent[i] = NULL;
        reply("ok was absent");
        return;
    }
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(km->mc, topic, (int)parts, km->brokers);
    if (e)
        reply("error %s", rd_kafka_err2name(e));
    else
        reply("ok");
}

static void cmd_errors(struct km *km, char **argv, int argc)
{
    long apikey, count;
    if (argc < 4 || parse_int(argv[1], 0, 32767, &apikey) ||
        parse_int(argv[2], 1, 100000, &count) || argc - 3 > count) {
        reply("error usage: errors APIKEY COUNT ERR [ERR...]");
        return;
    }
    rd_kafka_resp_err_t *errs = calloc((size_t)count, sizeof(*errs));
    int given = argc - 3;
    for (long i = 0; errs && i < count; i++) {
        /* Fewer names than COUNT: the last one repeats. */
        const char *name = argv[3 + (i < given ? i : given - 1)];
        if (parse_err(name, &errs[i])) {
            reply("error unknown error name %s", name);
            free(errs);
            return;
        }
    }
    if (!errs) {
        reply("error out of memory");
        return;
    }
    rd_kafka_mock_push_request_errors_array(km->mc, (int16_t)apikey, (size_t)count, errs);
    free(errs);
    reply("ok %ld", count);
}

static void cmd_broker_errors(struct km *km, char **argv, int argc)
{
    long id, apikey, rtt, count;
    rd_kafka_resp_err_t err;
    if (argc != 6 || parse_int(argv[1], 0, INT32_MAX, &id) ||
        parse_int(argv[2], 0, 32767, &apikey) || parse_err(argv[3], &err) ||
        parse_int(argv[4], 0, 3600000, &rtt) || parse_int(argv[5], 1, 100000, &count)) {
        reply("error usage: broker_errors ID APIKEY ERR RTT_MS COUNT");
        return;
    }
    for (long i = 0; i < count; i++) {
        rd_kafka_resp_err_t e = rd_kafka_mock_broker_push_request_error_rtts(
            km->mc, (int32_t)id, (int16_t)apikey, 1, err, (int)rtt);
        if (e) {
            reply("error %s", rd_kafka_err2name(e));
            return;
        }
    }
    reply("ok %ld", count);
}

/* down/up/rtt/leader: one call that answers an error code. */
static void cmd_broker(struct km *km, char **argv, int argc)
{
    const char *c = argv[0];
    long id, n, part;
    rd_kafka_resp_err_t e;
    if ((!strcmp(c, "down") || !strcmp(c, "up")) && argc == 2 &&
        !parse_int(argv[1], 0, INT32_MAX, &id)) {
        e = !strcmp(c, "down") ? rd_kafka_mock_broker_set_down(km->mc, (int32_t)id)
                               : rd_kafka_mock_broker_set_up(km->mc, (int32_t)id);
    } else if (!strcmp(c, "rtt") && argc == 3 && !parse_int(argv[1], 0, INT32_MAX, &id) &&
               !parse_int(argv[2], 0, 3600000, &n)) {
        e = rd_kafka_mock_broker_set_rtt(km->mc, (int32_t)id, (int)n);
    } else if (!strcmp(c, "leader") && argc == 4 && !parse_int(argv[2], 0, INT32_MAX, &part) &&
               !parse_int(argv[3], -1, INT32_MAX, &id)) {
        e = rd_kafka_mock_partition_set_leader(km->mc, argv[1], (int32_t)part, (int32_t)id);
    } else {
        reply("error usage: down ID | up ID | rtt ID MS | leader TOPIC PARTITION ID");
        return;
    }
    if (e)
        reply("error %s", rd_kafka_err2name(e));
    else
        reply("ok");
}

static void cmd_read(struct km *km, char **argv, int argc)
{
    char err[512] = "";
    long n;
    if (!strcmp(argv[0], "dump") && argc == 3)
        n = dump_topic(km->bootstrap, argv[1], argv[2], err, sizeof(err));
    else if ((!strcmp(argv[0], "count") || !strcmp(argv[0], "written")) && argc == 2)
        n = count_topic(km->bootstrap, argv[1], !strcmp(argv[0], "written"), err, sizeof(err));
    else {
        reply("error usage: dump TOPIC PATH | count TOPIC | written TOPIC");
        return;
    }
    if (n < 0)
        reply("error %s", err[0] ? err : "failed");
    else
        reply("ok %ld", n);
}

/* One command line; returns 1 on quit. */
static int command(struct km *km, char *line)
{
    char *argv[64];
    int argc = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok && argc < 64; tok = strtok(NULL, " \t\r\n"))
        argv[argc++] = tok;
    if (argc == 0) {
        reply("error empty command");
        return 0;
    }
    const char *c = argv[0];
    long parts, minv, maxv;
    rd_kafka_resp_err_t err;
    if (!strcmp(c, "quit")) {
        reply("ok");
        return 1;
    } else if (!strcmp(c, "errors")) {
        cmd_errors(km, argv, argc);
    } else if (!strcmp(c, "broker_errors")) {
        cmd_broker_errors(km, argv, argc);
    } else if (!strcmp(c, "dump") || !strcmp(c, "count") || !strcmp(c, "written")) {
        cmd_read(km, argv, argc);
    } else if ((!strcmp(c, "topic") || !strcmp(c, "absent")) && argc == 3 &&
               !parse_int(argv[2], 1, 100000, &parts)) {
        if (!strcmp(c, "topic"))
            cmd_topic(km, argv[1], parts);
        else
            cmd_absent(km, argv[1], parts);
    } else if (!strcmp(c, "apiversion") && argc == 4 && !parse_int(argv[1], 0, 32767, &parts) &&
               !parse_int(argv[2], -1, 32767, &minv) && !parse_int(argv[3], -1, 32767, &maxv)) {
        err = rd_kafka_mock_set_apiversion(km->mc, (int16_t)parts, (int16_t)minv, (int16_t)maxv);
        reply(err ? "error %s" : "ok", rd_kafka_err2name(err));
    } else if (!strcmp(c, "broker_pending") && argc == 3 &&
               !parse_int(argv[1], 0, INT32_MAX, &minv) && !parse_int(argv[2], 0, 32767, &parts)) {
        size_t cnt = 0;
        err = rd_kafka_mock_broker_error_stack_cnt(km->mc, (int32_t)minv, (int16_t)parts, &cnt);
        if (err)
            reply("error %s", rd_kafka_err2name(err));
        else
            reply("ok %zu", cnt);
    } else if (!strcmp(c, "topic_error") && argc == 3 && !parse_err(argv[2], &err)) {
        rd_kafka_mock_topic_set_error(km->mc, argv[1], err);
        reply("ok");
    } else if (!strcmp(c, "topic") || !strcmp(c, "absent") || !strcmp(c, "topic_error")) {
        reply("error usage: topic NAME PARTITIONS | absent NAME PARTITIONS | topic_error NAME ERR");
    } else {
        cmd_broker(km, argv, argc);
    }
    return 0;
}

/* -------------------------------------------------------------------------------- modes */

static int usage(void)
{
    fprintf(stderr,
            "usage: kafkamock cluster [--brokers N] [--partitions P] [--topic NAME]... "
            "[--absent NAME]...\n"
            "       kafkamock consume BOOTSTRAP TOPIC PATH\n"
            "       kafkamock produce BOOTSTRAP TOPIC N [--key K] [--conf NAME=VALUE]...\n");
    return 2;
}

static int start_cluster(struct km *km)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    km->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!km->rk) {
        fprintf(stderr, "kafkamock: rd_kafka_new: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    km->mc = rd_kafka_mock_cluster_new(km->rk, km->brokers);
    if (!km->mc) {
        fprintf(stderr, "kafkamock: rd_kafka_mock_cluster_new failed\n");
        return -1;
    }
    /* The mock advertises Metadata v0..v2 only, a version without AllowAutoTopicCreation, and
     * then auto-creates every topic a client asks for. Its handler reads and writes up to v8:
     * advertised, the client's allow.auto.create.topics is honoured as by a real broker. */
    rd_kafka_mock_set_apiversion(km->mc, 3 /* Metadata */, 0, 8);
    km->bootstrap = rd_kafka_mock_cluster_bootstraps(km->mc);
    return 0;
}

static int run_cluster(int argc, char **argv)
{
    struct km km = {.brokers = 3, .partitions = 3};
    long n;
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc)
            return usage();
        if (!strcmp(argv[i], "--brokers") && !parse_int(argv[i + 1], 1, 64, &n))
            km.brokers = (int)n;
        else if (!strcmp(argv[i], "--partitions") && !parse_int(argv[i + 1], 1, 10000, &n))
            km.partitions = (int)n;
        else if (strcmp(argv[i], "--topic") && strcmp(argv[i], "--absent"))
            return usage();
    }
    if (start_cluster(&km))
        return 1;
    for (int i = 2; i < argc; i += 2) {
        char err[256] = "";
        if (!strcmp(argv[i], "--absent")) {
            absent_add(&km, argv[i + 1], km.partitions, err, sizeof(err));
        } else if (!strcmp(argv[i], "--topic")) {
            rd_kafka_resp_err_t e =
                rd_kafka_mock_topic_create(km.mc, argv[i + 1], km.partitions, km.brokers);
            if (e)
                snprintf(err, sizeof(err), "%s", rd_kafka_err2name(e));
        }
        if (err[0]) {
            fprintf(stderr, "kafkamock: topic %s: %s\n", argv[i + 1], err);
            return 1;
        }
    }
    reply("bootstrap %s", km.bootstrap);
    char line[4096];
    while (fgets(line, sizeof(line), stdin))
        if (command(&km, line))
            break;
    rd_kafka_mock_cluster_destroy(km.mc);
    rd_kafka_destroy(km.rk);
    for (int i = 0; i < KM_MAX_ABSENT; i++)
        free(km.absent[i]);
    return 0;
}

struct produce_state {
    int64_t start_ms;
    long delivered, failed;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct produce_state *st = opaque;
    (void)rk;
    if (m->err) {
        st->failed++;
        printf("failed %ld %s %d %" PRId64 "\n", (long)(intptr_t)m->_private,
               rd_kafka_err2name(m->err), (int)m->err, kafka_read_now_ms() - st->start_ms);
        fflush(stdout);
    } else {
        st->delivered++;
    }
}

static rd_kafka_t *new_producer(int argc, char **argv, struct produce_state *st, const char **key)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int bad = rd_kafka_conf_set(conf, "bootstrap.servers", argv[2], err, sizeof(err)) ||
              rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err));
    for (int i = 5; i < argc && !bad; i += 2) {
        char *eq = i + 1 < argc ? strchr(argv[i + 1], '=') : NULL;
        if (!strcmp(argv[i], "--key") && i + 1 < argc) {
            *key = argv[i + 1];
        } else if (!strcmp(argv[i], "--conf") && eq) {
            *eq = '\0';
            bad = rd_kafka_conf_set(conf, argv[i + 1], eq + 1, err, sizeof(err)) != 0;
        } else {
            snprintf(err, sizeof(err), "bad argument %s", argv[i]);
            bad = 1;
        }
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, st);
    rd_kafka_t *rk = bad ? NULL : rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "kafkamock: producer: %s\n", err);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

static int run_produce(int argc, char **argv)
{
    long count;
    struct produce_state st = {0};
    const char *key = NULL;
    if (argc < 5 || parse_int(argv[4], 0, 100000000, &count))
        return usage();
    rd_kafka_t *rk = new_producer(argc, argv, &st, &key);
    if (!rk)
        return 2;
    st.start_ms = kafka_read_now_ms();
    for (long i = 0; i < count; i++) {
        char value[32], num[24];
        snprintf(value, sizeof(value), "msg-%ld", i);
        snprintf(num, sizeof(num), "%ld", i);
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(
                    rk, RD_KAFKA_V_TOPIC(argv[3]), RD_KAFKA_V_VALUE(value, strlen(value)),
                    RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADER("i", num, -1),
                    RD_KAFKA_V_HEADER("src", "kafkamock", -1),
                    RD_KAFKA_V_OPAQUE((void *)(intptr_t)i), RD_KAFKA_V_END)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 100);
        if (e) {
            printf("failed %ld %s %d 0\n", i, rd_kafka_err2name(e), (int)e);
            st.failed++;
        }
        rd_kafka_poll(rk, 0);
    }
    while (st.delivered + st.failed < count)
        rd_kafka_poll(rk, 100);
    printf("delivered %ld failed %ld ms %" PRId64 "\n", st.delivered, st.failed,
           kafka_read_now_ms() - st.start_ms);
    fflush(stdout);
    rd_kafka_flush(rk, 10000);
    rd_kafka_destroy(rk);
    return st.failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "cluster"))
        return run_cluster(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "produce"))
        return run_produce(argc, argv);
    if (argc == 5 && !strcmp(argv[1], "consume")) {
        char err[512] = "";
        long n = dump_topic(argv[2], argv[3], argv[4], err, sizeof(err));
        if (n < 0) {
            fprintf(stderr, "kafkamock: consume: %s\n", err);
            return 1;
        }
        printf("ok %ld\n", n);
        return 0;
    }
    return usage();
}
