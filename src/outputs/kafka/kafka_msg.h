/* kafka_msg: one record as a Kafka message: its topic, key and headers rendered from the
 * output's templates, and its value (the record's JSON line or its message). Pure: no
 * librdkafka, so the unit tests and a fuzz target take it alone. */
#ifndef LC_KAFKA_MSG_H
#define LC_KAFKA_MSG_H

#include <stddef.h>

#include "base/buf.h"
#include "config/config_option.h"
#include "core/record.h"

struct lc_kafka_msg_spec {
    const struct lc_template *topic;
    const struct lc_template *key; /* NULL or renders empty: no key */
    const struct lc_template_pair *headers;
    size_t n_headers;
    int value_json; /* 1: the record's JSON (lc_output_add_line); 0: its message */
};

struct lc_kafka_hdr {
    const char *name; /* the spec's */
    size_t off, len;  /* the value, in the message's buffer */
};

/* A rendered message. Its parts are offsets into BUF, which it owns (reused from one
 * record to the next); the topic is NUL-terminated there. */
struct lc_kafka_msg {
    struct lc_buf buf;
    size_t topic_off, topic_len;
    size_t key_off, key_len; /* key_len 0: no key */
    size_t value_off, value_len;
    struct lc_kafka_hdr *hdrs; /* room for the spec's n_headers */
    size_t n_hdrs;             /* the headers that rendered non-empty */
    size_t cap_hdrs;
};

void lc_kafka_msg_init(struct lc_kafka_msg *m);
void lc_kafka_msg_close(struct lc_kafka_msg *m);

/* Renders R into M by S. Returns 0, or -E2BIG when a part does not fit M's buffer (never
 * with the default, unlimited one). */
int lc_kafka_msg_render(const struct lc_kafka_msg_spec *s, const struct lc_record *r,
                        struct lc_kafka_msg *m);

/* The bytes Kafka counts against the message size limit: key, value, header names and
 * values. */
size_t lc_kafka_msg_size(const struct lc_kafka_msg *m);

/* The parts, as pointers into M's buffer (valid until the next render). */
static inline const char *lc_kafka_msg_at(const struct lc_kafka_msg *m, size_t off)
{
    return m->buf.data + off;
}

#endif
