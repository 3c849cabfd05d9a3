/* fuzz_kafka: the Kafka output's parser and encoder on arbitrary bytes. The first byte
 * chooses:
 *  - even: the input is librdkafka statistics JSON (kafka_stats.c): it parses or says
 *    -EINVAL, and what it fills stays within its bounds (at most LC_BROKERS_MAX entries,
 *    names terminated, no more up than known);
 *  - odd: the input is a container's line (kafka_msg.c): rendered with templated topic,
 *    key and headers and both value forms, every part lies inside the buffer, the topic is
 *    terminated, no header is empty, the size adds up, a message value is valid UTF-8 with
 *    the line's length or more, and a JSON value parses with jansson to the same message. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/record.h"
#include "core/template.h"
#include "outputs/kafka/kafka_msg.h"
#include "outputs/kafka/kafka_stats.h"

static void stats(const uint8_t *data, size_t size)
{
    struct lc_brokers_snap b;
    int rc = lc_kafka_stats_parse((const char *)data, size, &b);

    if (rc != 0 && (rc != -EINVAL || b.valid)) {
        abort();
    }
    if (rc == 0 &&
        (b.n > LC_BROKERS_MAX || b.up > b.known || b.n > b.known || b.threads < 2 + b.known)) {
        abort();
    }
    for (size_t i = 0; i < b.n; i++) {
        if (memchr(b.broker[i].name, '\0', sizeof b.broker[i].name) == NULL) {
            abort();
        }
    }
}

static struct lc_template *tpl(const char *s)
{
    struct lc_template *t = NULL;
    char err[LC_TEMPLATE_ERR_CAP];

    if (lc_template_parse(s, strlen(s), &t, err, sizeof err) != 0) {
        abort();
    }
    return t;
}

static void check_parts(const struct lc_kafka_msg *m)
{
    size_t n = m->key_len + m->value_len;

    if (m->topic_off + m->topic_len >= m->buf.len || m->buf.data[m->topic_off + m->topic_len] ||
        m->key_off + m->key_len > m->buf.len || m->value_off + m->value_len > m->buf.len) {
        abort();
    }
    for (size_t i = 0; i < m->n_hdrs; i++) {
        if (m->hdrs[i].len == 0 || m->hdrs[i].off + m->hdrs[i].len > m->buf.len) {
            abort();
        }
        n += strlen(m->hdrs[i].name) + m->hdrs[i].len;
    }
    if (n != lc_kafka_msg_size(m)) {
        abort();
    }
}

static void message(const uint8_t *data, size_t size)
{
    struct lc_meta *meta =
        lc_meta_docker_create("aaaa", "web", "nginx", "node-1", NULL, "shop", NULL);
    struct lc_record *r = lc_record_create(meta, 1 + (size & 1), 1795350283000000000LL, "t", 1,
                                           (const char *)data, size, 0);
    struct lc_template_pair hdrs[2] = {{"stream", tpl("{{ stream }}")},
                                       {"svc", tpl("{{ compose_service }}")}};
    struct lc_kafka_msg_spec s = {tpl("logs-{{ compose_project }}"), tpl("{{ container_name }}"),
                                  hdrs, 2, 0};
    struct lc_kafka_msg m;
    json_t *j;

    lc_kafka_msg_init(&m);
    if (lc_kafka_msg_render(&s, r, &m) != 0) {
        abort();
    }
    check_parts(&m);
    if (m.value_len < size || !lc_json_utf8_valid(lc_kafka_msg_at(&m, m.value_off), m.value_len)) {
        abort();
    }
    s.value_json = 1;
    if (lc_kafka_msg_render(&s, r, &m) != 0) {
        abort();
    }
    check_parts(&m);
    j = json_loadb(lc_kafka_msg_at(&m, m.value_off), m.value_len, JSON_ALLOW_NUL, NULL);
    if (j == NULL || !json_is_string(json_object_get(j, "message"))) {
        abort();
    }
    json_decref(j);
    lc_kafka_msg_close(&m);
    lc_template_destroy((struct lc_template *)s.topic);
    lc_template_destroy((struct lc_template *)s.key);
    lc_template_destroy(hdrs[0].value);
    lc_template_destroy(hdrs[1].value);
    lc_record_destroy(r);
    lc_meta_unref(meta);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    if (data[0] % 2 == 0) {
        stats(data + 1, size - 1);
    } else {
        message(data + 1, size - 1);
    }
    return 0;
}
