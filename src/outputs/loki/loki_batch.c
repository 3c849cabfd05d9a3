/* loki_batch: records -> Loki streams (see loki_batch.h).
 *
 * Everything rendered goes into one text arena (an lc_buf that may move while it grows),
 * so while building, strings are kept as offsets into it; the pointers of the streams,
 * entries and attributes are set once at the end. Two small open-addressing tables find
 * a record's stream: (metadata, stream) -> stream, valid for the batch because its records
 * hold their metadata; and label string -> stream, since different metadata can render the
 * same label set.
 *
 * Storage grows with what the batch holds, not with what it could hold: the per-stream
 * arrays and both tables start small and double, since a batch of thousands of records
 * usually forms a few dozen streams. Sized for one stream per record they took about 500
 * bytes per record, allocated and zeroed for every batch (5 MiB for a 1MiB batch of 100-byte
 * lines), and building a batch cost 490 instructions per record; now about 65 bytes and
 * 180 instructions. */
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
#define FIRST_STREAMS 16          /* room for streams at first; doubles */
#define FIRST_TAB 64              /* slots of each table at first; doubles past half full */

struct slot {
    const void *meta; /* NULL: empty slot (key of the meta table) */
    int stream;
    uint64_t hash; /* key of the label table */
    size_t idx;    /* the stream's index, NONE when empty */
};

struct build {
    struct lc_loki_batch *b;
    const struct lc_loki_batch_opts *o;
    size_t n_meta_tab, n_label_tab; /* the tables' sizes: powers of two */
    size_t meta_used;               /* slots used in by_meta (by_labels: one per stream) */
    struct slot *by_meta, *by_labels;
    size_t *label_off, *label_len; /* per stream: its label string in the arena */
    size_t *attr_off;              /* per stream label: its value in the arena */
    size_t *meta_off;              /* per entry metadata: its value in the arena */
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

static uint64_t meta_hash(const void *meta, int stream)
{
    return hash_bytes((const char *)&meta, sizeof(meta)) ^ (uint64_t)stream;
}

/* A table of N empty slots. */
static struct slot *new_table(size_t n)
{
    struct slot *t = lc_xmalloc(n * sizeof(*t));
    for (size_t i = 0; i < n; i++) {
        t[i] = (struct slot){NULL, 0, 0, NONE};
    }
    return t;
}

/* Doubles table *T of *N slots, placing every used slot again by its key's hash (the
 * meta table's from meta and stream, the label table's kept in the slot). */
static void grow_table(struct slot **t, size_t *n, int by_meta)
{
    size_t m = *n * 2;
    struct slot *old = *t, *nt = new_table(m);
    for (size_t i = 0; i < *n; i++) {
        size_t k;
        if (old[i].idx == NONE) {
            continue;
        }
        k = (size_t)(by_meta ? meta_hash(old[i].meta, old[i].stream) : old[i].hash) & (m - 1);
        while (nt[k].idx != NONE) {
            k = (k + 1) & (m - 1);
        }
        nt[k] = old[i];
    }
    free(old);
    *t = nt;
    *n = m;
}

/* Room for one more stream: the per-stream arrays double when full. */
static void stream_room(struct build *x)
{
    struct lc_loki_batch *b = x->b;
    size_t nl = x->o->n_labels + 1, cap = b->cap_streams * 2;
    if (b->n_streams < b->cap_streams) {
        return;
    }
    b->streams = lc_xrealloc(b->streams, cap * sizeof(*b->streams));
    b->attrs = lc_xrealloc(b->attrs, cap * nl * sizeof(*b->attrs));
    x->label_off = lc_xrealloc(x->label_off, cap * sizeof(size_t));
    x->label_len = lc_xrealloc(x->label_len, cap * sizeof(size_t));
    x->attr_off = lc_xrealloc(x->attr_off, cap * nl * sizeof(size_t));
    b->cap_streams = cap;
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
    stream_room(x);
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
    size_t i;
    int rc;
    if ((x->b->n_streams + 1) * 2 > x->n_label_tab) {
        grow_table(&x->by_labels, &x->n_label_tab, 0);
    }
    for (i = (size_t)h & (x->n_label_tab - 1);; i = (i + 1) & (x->n_label_tab - 1)) {
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
        size_t i;
        if ((x->meta_used + 1) * 2 > x->n_meta_tab) {
            grow_table(&x->by_meta, &x->n_meta_tab, 1);
        }
        i = (size_t)meta_hash(r->meta, r->stream) & (x->n_meta_tab - 1);
        for (;; i = (i + 1) & (x->n_meta_tab - 1)) {
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
        x->meta_used++;
    }
    return rc;
}

/* Entry E for record R: its line and its structured metadata (empty values left out). */
static int fill_entry(struct build *x, const struct lc_record *r, size_t e)
{
    struct lc_loki_batch *b = x->b;
    struct lc_loki_entry *en = &b->entries[e];
    size_t base = e * x->o->n_metadata;
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
            b->meta[base + en->n_meta] = (struct lc_attr){x->o->metadata[i].name, NULL, 0};
            x->meta_off[base + en->n_meta++] = at;
            rc = lc_buf_addc(&b->text, '\0');
        }
    }
    return rc;
}

/* Sets every pointer from its offset, now that the arena no longer moves (N_ENTRIES:
 * the entries placed). */
static void fix_pointers(struct build *x, const size_t *first, size_t n_entries)
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
    for (size_t e = 0; e < n_entries; e++) {
        struct lc_loki_entry *en = &b->entries[e];
        size_t base = e * x->o->n_metadata;
        if (x->line_off[e] != NONE) {
            en->line = t + x->line_off[e];
        }
        en->meta = en->n_meta > 0 ? &b->meta[base] : NULL;
        for (size_t i = 0; i < en->n_meta; i++) {
            b->meta[base + i].value = t + x->meta_off[base + i];
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
        fix_pointers(x, first, n - x->b->n_unlabelled);
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
    free(b->meta);
    free(b->unlabelled);
    lc_buf_close(&b->text);
    lc_loki_batch_init(b);
}

int lc_loki_batch_build(struct lc_loki_batch *b, const struct lc_loki_batch_opts *o,
                        const struct lc_record *const *recs, size_t n)
{
    struct build x = {.b = b, .o = o, .n_meta_tab = FIRST_TAB, .n_label_tab = FIRST_TAB};
    size_t n_meta = n * o->n_metadata + 1, nl = o->n_labels + 1, *sidx;
    int rc;
    lc_loki_batch_free(b);
    /* Every element below is written before it is read: nothing needs zeroing. */
    b->cap_recs = n;
    b->cap_streams = FIRST_STREAMS;
    b->streams = lc_xmalloc(FIRST_STREAMS * sizeof(*b->streams));
    b->attrs = lc_xmalloc(FIRST_STREAMS * nl * sizeof(*b->attrs));
    b->entries = lc_xmalloc((n + 1) * sizeof(*b->entries));
    b->meta = lc_xmalloc(n_meta * sizeof(*b->meta));
    b->unlabelled = lc_xmalloc((n + 1) * sizeof(*b->unlabelled));
    x.by_meta = new_table(x.n_meta_tab);
    x.by_labels = new_table(x.n_label_tab);
    x.label_off = lc_xmalloc(FIRST_STREAMS * sizeof(size_t));
    x.label_len = lc_xmalloc(FIRST_STREAMS * sizeof(size_t));
    x.attr_off = lc_xmalloc(FIRST_STREAMS * nl * sizeof(size_t));
    x.meta_off = lc_xmalloc(n_meta * sizeof(size_t));
    x.line_off = lc_xmalloc((n + 1) * sizeof(size_t));
    sidx = lc_xmalloc((n + 1) * sizeof(*sidx));
    x.val_at = lc_xmalloc(nl * sizeof(*x.val_at));
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
    free(x.meta_off);
    free(x.line_off);
    free(sidx);
    free(x.val_at);
    if (rc != 0) {
        lc_loki_batch_free(b);
    }
    return rc;
}
