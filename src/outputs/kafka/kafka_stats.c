/* kafka_stats: librdkafka's statistics to broker figures (see kafka_stats.h). */
#include "outputs/kafka/kafka_stats.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static uint64_t uint_of(const json_t *o, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(o, key));
    return v > 0 ? (uint64_t)v : 0;
}

/* One broker entry B (named NAME) into OUT; an internal one (no connection) counts as a
 * thread only. */
static void add_broker(const char *name, const json_t *b, struct lc_brokers_snap *out)
{
    const json_t *rtt = json_object_get(b, "rtt");
    const char *state = json_string_value(json_object_get(b, "state"));
    const char *source = json_string_value(json_object_get(b, "source"));
    struct lc_broker_snap *s;

    out->threads++;
    if (source != NULL && strcmp(source, "internal") == 0) {
        return;
    }
    out->known++;
    out->up += state != NULL && strcmp(state, "UP") == 0;
    if (out->n >= LC_BROKERS_MAX) {
        return;
    }
    s = &out->broker[out->n++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->up = state != NULL && strcmp(state, "UP") == 0;
    s->rtt_avg_s = (double)uint_of(rtt, "avg") / 1e6;
    s->rtt_p99_s = (double)uint_of(rtt, "p99") / 1e6;
    s->tx_errors = uint_of(b, "txerrs");
    s->rx_errors = uint_of(b, "rxerrs");
    s->timeouts = uint_of(b, "req_timeouts");
    s->tx_retries = uint_of(b, "txretries");
}

int lc_kafka_stats_parse(const char *json, size_t len, struct lc_brokers_snap *out)
{
    json_t *root = json_loadb(json, len, 0, NULL);
    const json_t *brokers = json_object_get(root, "brokers");
    const char *name;
    json_t *b;

    memset(out, 0, sizeof *out);
    if (!json_is_object(root) || !json_is_object(brokers)) {
        json_decref(root);
        return -EINVAL;
    }
    out->valid = 1;
    /* The client's main thread and its internal broker thread, which the statistics do not
     * list; then one thread per broker listed (test_output_kafka counts them). */
    out->threads = 2;
    out->queue_messages = uint_of(root, "msg_cnt");
    out->queue_bytes = uint_of(root, "msg_size");
    json_object_foreach((json_t *)brokers, name, b)
    {
        if (json_is_object(b)) {
            add_broker(name, b, out);
        }
    }
    json_decref(root);
    return 0;
}
