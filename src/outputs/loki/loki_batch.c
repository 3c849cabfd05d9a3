/* loki_batch: records -> Loki streams (see loki_batch.h).
 *
 * Everything rendered goes into one text arena (an lc_buf that may move while it grows),
 * so while building, strings are kept as offsets into it; the pointers of the streams,
 * entries and attributes are set once at the end. Two small open-addressing tables find
 * a record's stream: (metadata, stream) -> stream, valid for the batch because its records
 * hold their metadata; and label string -> stream, since different metadata can render the
 * same label set. */
#include "outputs/loki/loki_batch.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "core/json.h"
#include "core/template.h"

#include "outputs/loki/loki_config.h"

#define NONE SIZE_MAX
#define UNLABELLED (SIZE_MAX - 1) /* a record whose labels all render empty: no stream */

struct slot {
    const void *meta; /* NULL: empty slot (key of the meta table) */
    int stream;
    uint64_t hash; /* key of the label table */
    size_t idx;    /* the stream's index, NONE when empty */
};

struct build {
    struct lc_loki_batch *b;
    const struct lc_loki_batch_opts *o;
    size_t n_tab; /* both tables' size: a power of two, at least 2 x records */
    struct slot *by_meta, *by_labels;
    size_t *label_off, *label_len; /* per stream: its label string in the arena */
    size_t *attr_off;              /* per attribute: its value in the arena */
    size_t *line_off;              /* per entry: its line in the arena, NONE for the message */
    struct lc_buf vals, str;       /* scratch: one record's label values, its label string */
    size_t *val_at;                /* scratch: where each label value starts in vals */
};

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    }
    return h;
}

static int uses_fields(const struct lc_template_pair *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (lc_template_uses(t[i].value) & LC_TEMPLATE_USES_FIELDS) {
            return 1;
        }
    }
    return 0;
}

/* The length of the longest prefix of S, at most MAX bytes, that does not end inside a
 * UTF-8 sequence (continuation bytes 10xxxxxx are not cut from their lead byte). */
static size_t utf8_cut(const char *s, size_t max)
{
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
        n--;
    }
    return n;
}

/* Makes the value rendered at AT.. of X->vals valid UTF-8 (ill-formed bytes become
 * U+FFFD, 3 bytes each), so that the length cut next is the length Loki receives: cut
 * first, a value of 2048 ill-formed bytes would reach Loki as 6144 and fail the whole
 * request. X->str is free while the values are rendered: it is the scratch. */
static int make_valid(struct build *x, size_t at)
{
    int rc;
    if (lc_json_utf8_valid(x->vals.data + at, x->vals.len - at)) {
        return 0;
    }
    lc_buf_reset(&x->str);
    rc = lc_buf_add(&x->str, x->vals.data + at, x->vals.len - at);
    x->vals.len = at;
    rc = rc != 0 ? rc : lc_json_add_utf8(&x->vals, x->str.data, x->str.len);
    lc_buf_reset(&x->str);
    return rc;
}

/* Renders R's label values (each NUL-terminated in VALS) and label string (in STR). */
static int render_labels(struct build *x, const struct lc_record *r, struct lc_attr *pairs)
{
    size_t *at = x->val_at;
    int rc = 0;
    lc_buf_reset(&x->vals);
    lc_buf_reset(&x->str);
    for (size_t i = 0; rc == 0 && i < x->o->n_labels; i++) {
        at[i] = x->vals.len;
        rc = lc_template_render(x->o->labels[i].value, r, &x->vals);
        rc = rc != 0 ? rc : make_valid(x, at[i]);
        if (rc == 0 && x->vals.len - at[i] > LC_LOKI_MAX_VALUE_LEN) {
            x->vals.len = at[i] + utf8_cut(x->vals.data + at[i], LC_LOKI_MAX_VALUE_LEN);
        }
        rc = rc != 0 ? rc : lc_buf_addc(&x->vals, '\0');
    }
    for (size_t i = 0; rc == 0 && i < x->o->n_labels; i++) {
        pairs[i] = (struct lc_attr){x->o->labels[i].name, x->vals.data + at[i], 0};
    }
    return rc != 0 ? rc : lc_loki_labels_format(&x->str, pairs, x->o->n_labels);
}

/* A new stream with the label string and values just rendered. */
static int add_stream(struct build *x, const struct lc_attr *pairs, size_t *idx)
{
    struct lc_loki_batch *b = x->b;
    size_t s = b->n_streams, base = s * x->o->n_labels;
    int rc;
    x->label_off[s] = b->text.len;
    x->label_len[s] = x->str.len;
    rc = lc_buf_add(&b->text, x->str.data, x->str.len);
    for (size_t i = 0; rc == 0 && i < x->o->n_labels; i++) {
        b->attrs[base + i] = pairs[i];
        x->attr_off[base + i] = b->text.len;
        rc = lc_buf_add(&b->text, pairs[i].value, strlen(pairs[i].value) + 1);
    }
    b->streams[s] = (struct lc_loki_stream){0};
    b->n_streams++;
    *idx = s;
    return rc;
}

/* The stream of the label string in STR (a new one when none has it). */
static int stream_of_labels(struct build *x, const struct lc_attr *pairs, size_t *idx)
{
    uint64_t h = hash_bytes(x->str.data, x->str.len);
    size_t i = (size_t)h & (x->n_tab - 1);
    int rc;
    for (;; i = (i + 1) & (x->n_tab - 1)) {
        struct slot *s = &x->by_labels[i];
        if (s->idx == NONE) {
            break;
        }
        if (s->hash == h && x->label_len[s->idx] == x->str.len &&
            memcmp(x->b->text.data + x->label_off[s->idx], x->str.data, x->str.len) == 0) {
            *idx = s->idx;
            return 0;
        }
    }
    rc = add_stream(x, pairs, idx);
    x->by_labels[i] = (struct slot){NULL, 0, h, *idx};
    return rc;
}

/* The stream record R goes to. */
static int stream_of(struct build *x, const struct lc_record *r, int cache, struct lc_attr *pairs,
                     size_t *idx)
{
    struct slot *s = NULL;
    int rc;
    if (cache) {
        uint64_t h = hash_bytes((const char *)&r->meta, sizeof(r->meta)) ^ r->stream;
        size_t i = (size_t)h & (x->n_tab - 1);
        for (;; i = (i + 1) & (x->n_tab - 1)) {
            s = &x->by_meta[i];
            if (s->idx == NONE || (s->meta == r->meta && s->stream == r->stream)) {
                break;
            }
        }
        if (s->idx != NONE) {
            *idx = s->idx;
            return 0;
        }
    }
    rc = render_labels(x, r, pairs);
    if (rc == 0 && x->str.len == 2) { /* "{}": Loki refuses a stream without labels */
        *idx = UNLABELLED;
    } else if (rc == 0) {
        rc = stream_of_labels(x, pairs, idx);
    }
    if (rc == 0 && s != NULL) {
        *s = (struct slot){r->meta, r->stream, 0, *idx};
    }
    return rc;
}

/* Entry E for record R: its line and its structured metadata (empty values left out). */
static int fill_entry(struct build *x, const struct lc_record *r, size_t e)
{
    struct lc_loki_batch *b = x->b;
    struct lc_loki_entry *en = &b->entries[e];
    size_t base = b->cap_recs * x->o->n_labels + e * x->o->n_metadata;
    int rc = 0;
    *en = (struct lc_loki_entry){r->ts_ns, r->msg, r->len, NULL, 0};
    x->line_off[e] = NONE;
    if (x->o->line_json) {
        x->line_off[e] = b->text.len;
        rc = lc_json_add_record(&b->text, r);
        en->len = rc == 0 ? b->text.len - x->line_off[e] - 1 : 0; /* without its '\n' */
    }
    for (size_t i = 0; rc == 0 && i < x->o->n_metadata; i++) {
        size_t at = b->text.len;
        rc = lc_template_render(x->o->metadata[i].value, r, &b->text);
        if (rc == 0 && b->text.len > at) {
            b->attrs[base + en->n_meta] = (struct lc_attr){x->o->metadata[i].name, NULL, 0};
            x->attr_off[base + en->n_meta++] = at;
            rc = lc_buf_addc(&b->text, '\0');
        }
    }
    return rc;
}

/* Sets every pointer from its offset, now that the arena no longer moves. */
static void fix_pointers(struct build *x, const size_t *first)
{
    struct lc_loki_batch *b = x->b;
    const char *t = b->text.data;
    for (size_t s = 0; s < b->n_streams; s++) {
        struct lc_loki_stream *st = &b->streams[s];
        st->labels = t + x->label_off[s];
        st->labels_len = x->label_len[s];
        st->pairs = &b->attrs[s * x->o->n_labels];
        st->n_pairs = x->o->n_labels;
        st->entries = &b->entries[first[s]];
        for (size_t i = 0; i < x->o->n_labels; i++) {
            b->attrs[s * x->o->n_labels + i].value = t + x->attr_off[s * x->o->n_labels + i];
        }
    }
    for (size_t e = 0; e < b->cap_recs; e++) {
        struct lc_loki_entry *en = &b->entries[e];
        size_t base = b->cap_recs * x->o->n_labels + e * x->o->n_metadata;
        if (x->line_off[e] != NONE) {
            en->line = t + x->line_off[e];
        }
        en->meta = en->n_meta > 0 ? &b->attrs[base] : NULL;
        for (size_t i = 0; i < en->n_meta; i++) {
            b->attrs[base + i].value = t + x->attr_off[base + i];
        }
    }
}

/* Each record's stream (SIDX), then the entries placed stream by stream, in order. */
static int group(struct build *x, const struct lc_record *const *recs, size_t n, size_t *sidx)
{
    struct lc_attr *pairs = lc_xcalloc(x->o->n_labels + 1, sizeof(*pairs));
    size_t *count, *first;
    int cache = !uses_fields(x->o->labels, x->o->n_labels), rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = stream_of(x, recs[i], cache, pairs, &sidx[i]);
    }
    free(pairs);
    count = lc_xcalloc(x->b->n_streams + 1, sizeof(*count));
    first = lc_xcalloc(x->b->n_streams + 1, sizeof(*first));
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (sidx[i] == UNLABELLED) {
            x->b->unlabelled[x->b->n_unlabelled++] = i;
        } else {
            count[sidx[i]]++;
        }
    }
    for (size_t s = 1; s < x->b->n_streams; s++) {
        first[s] = first[s - 1] + count[s - 1];
    }
    for (size_t s = 0; s < x->b->n_streams; s++) {
        x->b->streams[s].n = count[s];
        count[s] = first[s];
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (sidx[i] != UNLABELLED) {
            rc = fill_entry(x, recs[i], count[sidx[i]]++);
        }
    }
    if (rc == 0) {
        fix_pointers(x, first);
    }
    free(count);
    free(first);
    return rc;
}

void lc_loki_batch_init(struct lc_loki_batch *b)
{
    memset(b, 0, sizeof(*b));
    lc_buf_init(&b->text, 0);
}

void lc_loki_batch_free(struct lc_loki_batch *b)
{
    free(b->streams);
    free(b->entries);
    free(b->attrs);
    free(b->unlabelled);
    lc_buf_close(&b->text);
    lc_loki_batch_init(b);
}

int lc_loki_batch_build(struct lc_loki_batch *b, const struct lc_loki_batch_opts *o,
                        const struct lc_record *const *recs, size_t n)
{
    struct build x = {.b = b, .o = o, .n_tab = 16};
    size_t n_attrs = n * (o->n_labels + o->n_metadata) + 1, *sidx;
    int rc;
    lc_loki_batch_free(b);
    while (x.n_tab < 2 * n) {
        x.n_tab *= 2;
    }
    b->cap_recs = n;
    b->streams = lc_xcalloc(n + 1, sizeof(*b->streams));
    b->entries = lc_xcalloc(n + 1, sizeof(*b->entries));
    b->attrs = lc_xcalloc(n_attrs, sizeof(*b->attrs));
    b->unlabelled = lc_xcalloc(n + 1, sizeof(*b->unlabelled));
    x.by_meta = lc_xmalloc(x.n_tab * sizeof(*x.by_meta));
    x.by_labels = lc_xmalloc(x.n_tab * sizeof(*x.by_labels));
    for (size_t i = 0; i < x.n_tab; i++) {
        x.by_meta[i].idx = x.by_labels[i].idx = NONE;
    }
    x.label_off = lc_xcalloc(n + 1, sizeof(size_t));
    x.label_len = lc_xcalloc(n + 1, sizeof(size_t));
    x.attr_off = lc_xcalloc(n_attrs, sizeof(size_t));
    x.line_off = lc_xcalloc(n + 1, sizeof(size_t));
    sidx = lc_xcalloc(n + 1, sizeof(*sidx));
    x.val_at = lc_xcalloc(o->n_labels + 1, sizeof(*x.val_at));
    lc_buf_init(&x.vals, 0);
    lc_buf_init(&x.str, 0);
    rc = group(&x, recs, n, sidx);
    lc_buf_close(&x.vals);
    lc_buf_close(&x.str);
    free(x.by_meta);
    free(x.by_labels);
    free(x.label_off);
    free(x.label_len);
    free(x.attr_off);
    free(x.line_off);
    free(sidx);
    free(x.val_at);
    if (rc != 0) {
        lc_loki_batch_free(b);
    }
    return rc;
}
