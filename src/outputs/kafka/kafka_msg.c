/* kafka_msg: a record rendered as a Kafka message (see kafka_msg.h). */
#include "outputs/kafka/kafka_msg.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "core/template.h"
#include "outputs/output.h"

void lc_kafka_msg_init(struct lc_kafka_msg *m)
{
    *m = (struct lc_kafka_msg){0};
    lc_buf_init(&m->buf, 0);
}

void lc_kafka_msg_close(struct lc_kafka_msg *m)
{
    lc_buf_close(&m->buf);
    free(m->hdrs);
    *m = (struct lc_kafka_msg){0};
}

/* Appends T's value for R; *OFF and *LEN say where it is. */
static int render(const struct lc_template *t, const struct lc_record *r, struct lc_buf *b,
                  size_t *off, size_t *len)
{
    int rc;

    *off = b->len;
    rc = lc_template_render(t, r, b);
    *len = b->len - *off;
    return rc;
}

/* The value: the JSON line or the message (made valid UTF-8), without the newline both
 * end with. */
static int render_value(const struct lc_kafka_msg_spec *s, const struct lc_record *r,
                        struct lc_kafka_msg *m)
{
    int rc;

    m->value_off = m->buf.len;
    rc = lc_output_add_line(&m->buf, r, !s->value_json);
    if (rc != 0) {
        return rc;
    }
    m->buf.len--; /* the '\n' */
    m->value_len = m->buf.len - m->value_off;
    return 0;
}

int lc_kafka_msg_render(const struct lc_kafka_msg_spec *s, const struct lc_record *r,
                        struct lc_kafka_msg *m)
{
    int rc;

    lc_buf_reset(&m->buf);
    m->n_hdrs = 0;
    if (m->cap_hdrs < s->n_headers) {
        free(m->hdrs);
        m->hdrs = lc_xcalloc(s->n_headers, sizeof(*m->hdrs));
        m->cap_hdrs = s->n_headers;
    }
    rc = render(s->topic, r, &m->buf, &m->topic_off, &m->topic_len);
    rc = rc != 0 ? rc : lc_buf_addc(&m->buf, '\0');
    m->key_len = 0;
    if (rc == 0 && s->key != NULL) {
        rc = render(s->key, r, &m->buf, &m->key_off, &m->key_len);
    }
    for (size_t i = 0; rc == 0 && i < s->n_headers; i++) {
        struct lc_kafka_hdr *h = &m->hdrs[m->n_hdrs];
        rc = render(s->headers[i].value, r, &m->buf, &h->off, &h->len);
        if (rc == 0 && h->len > 0) {
            h->name = s->headers[i].name;
            m->n_hdrs++;
        }
    }
    return rc != 0 ? rc : render_value(s, r, m);
}

size_t lc_kafka_msg_size(const struct lc_kafka_msg *m)
{
    size_t n = m->key_len + m->value_len;

    for (size_t i = 0; i < m->n_hdrs; i++) {
        n += strlen(m->hdrs[i].name) + m->hdrs[i].len;
    }
    return n;
}
