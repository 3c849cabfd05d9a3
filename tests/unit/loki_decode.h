/* loki_decode: a reader of Loki's push bodies for the tests and the fuzz target, written
 * from Loki's push.proto independently of the encoder. Each body is turned into one
 * canonical text, so a test compares what a body says with what was meant:
 *   S <labels>\n           a stream (protobuf: its label string; JSON: name="value", ...)
 *   E <ts_ns> <line>\n     an entry
 *   M <name>=<value>\n     one structured metadata pair of the entry before */
#ifndef LC_LOKI_DECODE_H
#define LC_LOKI_DECODE_H

#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

struct pbr {
    const unsigned char *p, *end;
};

static inline int pbr_varint(struct pbr *r, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && r->p < r->end; shift += 7) {
        unsigned char c = *r->p++;
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            return 0;
        }
    }
    return -1;
}

/* The next field: its number, and for a length-delimited one its payload in SUB. Only the
 * wire types the push messages use (varint, length-delimited) are accepted. */
static inline int pbr_field(struct pbr *r, int *field, struct pbr *sub, uint64_t *v)
{
    uint64_t tag, len;
    *field = 0;
    *v = 0;
    sub->p = sub->end = NULL;
    if (pbr_varint(r, &tag) != 0) {
        return -1;
    }
    *field = (int)(tag >> 3);
    if ((tag & 7) == 0) {
        return pbr_varint(r, v);
    }
    if ((tag & 7) != 2 || pbr_varint(r, &len) != 0 || len > (uint64_t)(r->end - r->p)) {
        return -1;
    }
    sub->p = r->p;
    sub->end = r->p + len;
    r->p += len;
    return 0;
}

static inline int loki_decode_entry(struct pbr e, struct lc_buf *out)
{
    int64_t sec = 0, nanos = 0;
    struct pbr line = {0}, sub;
    struct lc_buf meta;
    int field, rc = 0;
    uint64_t v;
    lc_buf_init(&meta, 0);
    while (rc == 0 && e.p < e.end) {
        rc = pbr_field(&e, &field, &sub, &v);
        if (rc == 0 && field == 1) {
            while (rc == 0 && sub.p < sub.end) {
                struct pbr none;
                int f;
                rc = pbr_field(&sub, &f, &none, &v);
                if (f == 1) {
                    sec = (int64_t)v;
                } else if (f == 2) {
                    nanos = (int64_t)v;
                }
            }
        } else if (rc == 0 && field == 2) {
            line = sub;
        } else if (rc == 0 && field == 3) {
            struct pbr name = {0}, value = {0}, x;
            int f;
            while (rc == 0 && sub.p < sub.end) {
                rc = pbr_field(&sub, &f, &x, &v);
                if (f == 1) {
                    name = x;
                } else if (f == 2) {
                    value = x;
                }
            }
            lc_buf_adds(&meta, "M ");
            lc_buf_add(&meta, name.p, (size_t)(name.end - name.p));
            lc_buf_addc(&meta, '=');
            lc_buf_add(&meta, value.p, (size_t)(value.end - value.p));
            lc_buf_addc(&meta, '\n');
        }
    }
    lc_buf_printf(out, "E %" PRId64 " ", (int64_t)(sec * 1000000000LL + nanos));
    lc_buf_add(out, line.p, (size_t)(line.end - line.p));
    lc_buf_addc(out, '\n');
    lc_buf_add(out, meta.data, meta.len);
    lc_buf_close(&meta);
    return rc;
}

/* Protobuf PushRequest (not compressed) -> canonical text in OUT. Returns 0 or -1. */
static inline int loki_decode_proto(const void *body, size_t len, struct lc_buf *out)
{
    struct pbr r = {body, (const unsigned char *)body + len}, s, sub;
    int field, rc = 0;
    uint64_t v;
    while (rc == 0 && r.p < r.end) {
        rc = pbr_field(&r, &field, &s, &v);
        while (rc == 0 && field == 1 && s.p < s.end) {
            int f;
            rc = pbr_field(&s, &f, &sub, &v);
            if (rc == 0 && f == 1) {
                lc_buf_adds(out, "S ");
                lc_buf_add(out, sub.p, (size_t)(sub.end - sub.p));
                lc_buf_addc(out, '\n');
            } else if (rc == 0 && f == 2) {
                rc = loki_decode_entry(sub, out);
            }
        }
    }
    return rc;
}

/* JSON push body -> canonical text in OUT. Returns 0 or -1. */
static inline int loki_decode_json(const char *body, size_t len, struct lc_buf *out)
{
    json_t *root = json_loadb(body, len, JSON_ALLOW_NUL, NULL),
           *streams = json_object_get(root, "streams");
    size_t i, k;
    json_t *st;
    if (!json_is_array(streams)) {
        json_decref(root);
        return -1;
    }
    json_array_foreach(streams, i, st)
    {
        const char *name;
        json_t *v, *e, *labels = json_object_get(st, "stream");
        int first = 1;
        lc_buf_adds(out, "S ");
        json_object_foreach(labels, name, v)
        {
            lc_buf_printf(out, "%s%s=\"", first ? "" : ", ", name);
            lc_buf_add(out, json_string_value(v), json_string_length(v));
            lc_buf_addc(out, '"');
            first = 0;
        }
        lc_buf_addc(out, '\n');
        json_array_foreach(json_object_get(st, "values"), k, e)
        {
            json_t *meta = json_array_get(e, 2), *line = json_array_get(e, 1);
            lc_buf_printf(out, "E %s ", json_string_value(json_array_get(e, 0)));
            lc_buf_add(out, json_string_value(line), json_string_length(line));
            lc_buf_addc(out, '\n');
            json_object_foreach(meta, name, v)
            {
                lc_buf_printf(out, "M %s=", name);
                lc_buf_add(out, json_string_value(v), json_string_length(v));
                lc_buf_addc(out, '\n');
            }
        }
    }
    json_decref(root);
    return 0;
}

#endif
