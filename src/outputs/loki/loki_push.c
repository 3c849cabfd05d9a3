/* loki_push: Loki's push bodies, protobuf and JSON (see loki_push.h). */
#include "outputs/loki/loki_push.h"

#include <errno.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "core/json.h"

#define NS_PER_S 1000000000LL

/* protobuf wire types */
#define WT_VARINT 0
#define WT_LEN 2
#define TAG(field, wt) ((char)(((field) << 3) | (wt)))

/* ---- sizes ------------------------------------------------------------------------------ */

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* The length of S once made valid UTF-8; SCRATCH is used for ill-formed text only. */
static size_t text_len(const char *s, size_t n, struct lc_buf *scratch)
{
    if (lc_json_utf8_valid(s, n)) {
        return n;
    }
    lc_buf_reset(scratch);
    lc_json_add_utf8(scratch, s, n);
    return scratch->len;
}

/* A length-delimited field of payload size N: tag, length, payload. */
static size_t field_len(size_t n)
{
    return 1 + varint_len(n) + n;
}

/* google.protobuf.Timestamp of TS_NS, zero fields left out as proto3 does. */
static void split_ts(int64_t ts_ns, int64_t *sec, int32_t *nanos)
{
    *sec = ts_ns / NS_PER_S;
    *nanos = (int32_t)(ts_ns % NS_PER_S);
    if (*nanos < 0) { /* floor, so that nanos is in [0, 1e9) as the message requires */
        *nanos += (int32_t)NS_PER_S;
        (*sec)--;
    }
}

static size_t ts_len(int64_t ts_ns)
{
    int64_t sec;
    int32_t nanos;
    split_ts(ts_ns, &sec, &nanos);
    return (sec != 0 ? 1 + varint_len((uint64_t)sec) : 0) +
           (nanos != 0 ? 1 + varint_len((uint64_t)nanos) : 0);
}

static size_t pair_len(const struct lc_attr *a, struct lc_buf *scratch)
{
    return field_len(text_len(a->key, strlen(a->key), scratch)) +
           field_len(text_len(a->value, strlen(a->value), scratch));
}

/* An entry's payload size. *LINE_OK says whether its line is valid UTF-8 as it is, so that
 * put_entry copies it without looking at it again: the line is most of a body, and checking
 * it once instead of four times (two sizes, the field's length, the copy) cut the protobuf
 * body's cost by about a third. */
static size_t entry_len(const struct lc_loki_entry *e, int *line_ok, struct lc_buf *scratch)
{
    size_t line = e->len, n;
    *line_ok = lc_json_utf8_valid(e->line, e->len);
    if (!*line_ok) {
        line = text_len(e->line, e->len, scratch);
    }
    n = field_len(ts_len(e->ts_ns)) + field_len(line);
    for (size_t i = 0; i < e->n_meta; i++) {
        n += field_len(pair_len(&e->meta[i], scratch));
    }
    return n;
}

/* One entry's size, computed once for the stream's length and used again to write it. */
struct entry_size {
    size_t len;
    int line_ok;
};

/* The stream's payload size; SIZES (S->n of them) get each entry's. */
static size_t stream_len(const struct lc_loki_stream *s, struct entry_size *sizes,
                         struct lc_buf *scratch)
{
    size_t n = field_len(text_len(s->labels, s->labels_len, scratch));
    for (size_t i = 0; i < s->n; i++) {
        sizes[i].len = entry_len(&s->entries[i], &sizes[i].line_ok, scratch);
        n += field_len(sizes[i].len);
    }
    return n;
}

/* ---- writing ---------------------------------------------------------------------------- */

/* Writes V as a varint at P; returns the end. */
static char *varint_at(char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (char)v;
    return p;
}

/* Tag and length of a length-delimited FIELD of payload size N, at P (at most 11 bytes). */
static char *head_at(char *p, int field, size_t n)
{
    *p++ = TAG(field, WT_LEN);
    return varint_at(p, n);
}

/* Tag and length of a length-delimited FIELD of payload size N. */
static int put_head(struct lc_buf *b, int field, size_t n)
{
    char tmp[16];
    return lc_buf_add(b, tmp, (size_t)(head_at(tmp, field, n) - tmp));
}

static int put_text(struct lc_buf *b, int field, const char *s, size_t n, struct lc_buf *scratch)
{
    int rc = put_head(b, field, text_len(s, n, scratch));
    return rc != 0 ? rc : lc_json_add_utf8(b, s, n);
}

/* The timestamp field at P (at most 11 + 11 + 6 bytes). */
static char *ts_at(char *p, int64_t ts_ns)
{
    int64_t sec;
    int32_t nanos;
    p = head_at(p, 1, ts_len(ts_ns));
    split_ts(ts_ns, &sec, &nanos);
    if (sec != 0) {
        *p++ = TAG(1, WT_VARINT);
        p = varint_at(p, (uint64_t)sec);
    }
    if (nanos != 0) {
        *p++ = TAG(2, WT_VARINT);
        p = varint_at(p, (uint64_t)nanos);
    }
    return p;
}

/* An entry: its fixed part (tag and length, timestamp, the line's tag and length: at most
 * 50 bytes) is built on the stack and appended at once, then the line. Appending each of
 * those eight pieces on its own cost about as much as checking the line. */
static int put_entry(struct lc_buf *b, const struct lc_loki_entry *e, const struct entry_size *sz,
                     struct lc_buf *scratch)
{
    char head[64], *p = ts_at(head_at(head, 2, sz->len), e->ts_ns);
    int rc;
    if (sz->line_ok) {
        p = head_at(p, 2, e->len);
        rc = lc_buf_add(b, head, (size_t)(p - head));
        rc = rc != 0 ? rc : lc_buf_add(b, e->line, e->len);
    } else {
        rc = lc_buf_add(b, head, (size_t)(p - head));
        rc = rc != 0 ? rc : put_text(b, 2, e->line, e->len, scratch);
    }
    for (size_t i = 0; rc == 0 && i < e->n_meta; i++) {
        const struct lc_attr *a = &e->meta[i];
        rc = put_head(b, 3, pair_len(a, scratch));
        rc = rc != 0 ? rc : put_text(b, 1, a->key, strlen(a->key), scratch);
        rc = rc != 0 ? rc : put_text(b, 2, a->value, strlen(a->value), scratch);
    }
    return rc;
}

int lc_loki_push_proto(struct lc_buf *b, const struct lc_loki_stream *streams, size_t n)
{
    struct lc_buf scratch;
    struct entry_size *sizes;
    size_t start = b->len, most = 1;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        most = streams[i].n > most ? streams[i].n : most;
    }
    sizes = lc_xmalloc(most * sizeof(*sizes));
    lc_buf_init(&scratch, 0);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct lc_loki_stream *s = &streams[i];
        rc = put_head(b, 1, stream_len(s, sizes, &scratch));
        rc = rc != 0 ? rc : put_text(b, 1, s->labels, s->labels_len, &scratch);
        for (size_t k = 0; rc == 0 && k < s->n; k++) {
            rc = put_entry(b, &s->entries[k], &sizes[k], &scratch);
        }
    }
    lc_buf_close(&scratch);
    free(sizes);
    if (rc != 0) {
        b->len = start;
    }
    return rc;
}

/* ---- labels and JSON -------------------------------------------------------------------- */

/* Appends S made valid UTF-8 with `\`, `"` and newline escaped (a label value). */
static int put_label_value(struct lc_buf *b, const char *s, struct lc_buf *scratch)
{
    int rc = 0;
    lc_buf_reset(scratch);
    lc_json_add_utf8(scratch, s, strlen(s));
    for (size_t i = 0; rc == 0 && i < scratch->len; i++) {
        char c = scratch->data[i];
        if (c == '\\' || c == '"') {
            char e[2] = {'\\', c};
            rc = lc_buf_add(b, e, 2);
        } else if (c == '\n') {
            rc = lc_buf_add(b, "\\n", 2);
        } else {
            rc = lc_buf_addc(b, c);
        }
    }
    return rc;
}

int lc_loki_labels_format(struct lc_buf *b, const struct lc_attr *labels, size_t n)
{
    struct lc_buf scratch;
    size_t start = b->len;
    int rc = lc_buf_addc(b, '{'), first = 1;
    lc_buf_init(&scratch, 0);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (labels[i].value == NULL || labels[i].value[0] == '\0') {
            continue;
        }
        rc = first ? 0 : lc_buf_add(b, ", ", 2);
        rc = rc != 0 ? rc : lc_buf_adds(b, labels[i].key);
        rc = rc != 0 ? rc : lc_buf_add(b, "=\"", 2);
        rc = rc != 0 ? rc : put_label_value(b, labels[i].value, &scratch);
        rc = rc != 0 ? rc : lc_buf_addc(b, '"');
        first = 0;
    }
    rc = rc != 0 ? rc : lc_buf_addc(b, '}');
    lc_buf_close(&scratch);
    if (rc != 0) {
        b->len = start;
    }
    return rc;
}

/* {"name":"value",...} of the N pairs; with SKIP_EMPTY without those whose value is
 * empty (labels: Loki drops them). */
static int put_json_pairs(struct lc_buf *b, const struct lc_attr *a, size_t n, int skip_empty)
{
    int rc = lc_buf_addc(b, '{'), first = 1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (skip_empty && (a[i].value == NULL || a[i].value[0] == '\0')) {
            continue;
        }
        rc = first ? 0 : lc_buf_addc(b, ',');
        rc = rc != 0 ? rc : lc_json_add_string(b, a[i].key, strlen(a[i].key));
        rc = rc != 0 ? rc : lc_buf_addc(b, ':');
        rc = rc != 0 ? rc : lc_json_add_string(b, a[i].value, strlen(a[i].value));
        first = 0;
    }
    return rc != 0 ? rc : lc_buf_addc(b, '}');
}

/* Appends `["TS",` (TS in decimal). By hand: snprintf cost as much as the rest of the
 * JSON entry together. */
static int put_json_ts(struct lc_buf *b, int64_t ts)
{
    char tmp[32], *p = tmp + sizeof tmp;
    uint64_t u = ts < 0 ? 0 - (uint64_t)ts : (uint64_t)ts;
    *--p = ',';
    *--p = '"';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (ts < 0) {
        *--p = '-';
    }
    *--p = '"';
    *--p = '[';
    return lc_buf_add(b, p, (size_t)(tmp + sizeof tmp - p));
}

static int put_json_entry(struct lc_buf *b, const struct lc_loki_entry *e)
{
    int rc = put_json_ts(b, e->ts_ns);
    rc = rc != 0 ? rc : lc_json_add_string(b, e->line, e->len);
    if (rc == 0 && e->n_meta > 0) {
        rc = lc_buf_addc(b, ',');
        rc = rc != 0 ? rc : put_json_pairs(b, e->meta, e->n_meta, 0);
    }
    return rc != 0 ? rc : lc_buf_addc(b, ']');
}

int lc_loki_push_json(struct lc_buf *b, const struct lc_loki_stream *streams, size_t n)
{
    size_t start = b->len;
    int rc = lc_buf_adds(b, "{\"streams\":[");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct lc_loki_stream *s = &streams[i];
        rc = lc_buf_adds(b, i == 0 ? "{\"stream\":" : ",{\"stream\":");
        rc = rc != 0 ? rc : put_json_pairs(b, s->pairs, s->n_pairs, 1);
        rc = rc != 0 ? rc : lc_buf_adds(b, ",\"values\":[");
        for (size_t k = 0; rc == 0 && k < s->n; k++) {
            rc = k == 0 ? 0 : lc_buf_addc(b, ',');
            rc = rc != 0 ? rc : put_json_entry(b, &s->entries[k]);
        }
        rc = rc != 0 ? rc : lc_buf_adds(b, "]}");
    }
    rc = rc != 0 ? rc : lc_buf_adds(b, "]}");
    if (rc != 0) {
        b->len = start;
    }
    return rc;
}

int lc_loki_snappy(struct lc_buf *dst, const char *src, size_t len)
{
    size_t out = snappy_max_compressed_length(len);
    int rc = lc_buf_reserve(dst, out);
    if (rc != 0) {
        return rc;
    }
    if (snappy_compress(src, len, dst->data + dst->len, &out) != SNAPPY_OK) {
        return -EIO;
    }
    dst->len += out;
    dst->data[dst->len] = '\0';
    return 0;
}
