/* positions: see positions.h. */
#include "core/positions.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define STORE_MAX (256u << 20)
/* A window never holds more than this many committed entries, whatever the timestamps
 * do (a clock stepped back would otherwise pin old entries forever). */
#define WINDOW_COMMITTED_MAX (1u << 20)

void lc_pos_window_init(struct lc_pos_window *w, int64_t margin_ns)
{
    memset(w, 0, sizeof(*w));
    w->taken_max_ts = -1;
    w->committed_max_ts = -1;
    w->margin_ns = margin_ns;
}

void lc_pos_window_close(struct lc_pos_window *w)
{
    free(w->ents);
    free(w->replay);
    lc_pos_window_init(w, w->margin_ns);
}

uint64_t lc_pos_fingerprint(int64_t ts_ns, int stream, const char *msg, size_t len)
{
    uint64_t h = lc_hash64(LC_HASH_SEED, &ts_ns, sizeof(ts_ns));
    unsigned char s = (unsigned char)stream;
    h = lc_hash64(h, &s, 1);
    return lc_hash64(h, msg, len);
}

static struct lc_pos_entry *at(const struct lc_pos_window *w, size_t i)
{
    return &w->ents[(w->head + i) % w->cap];
}

static void grow(struct lc_pos_window *w)
{
    size_t cap = w->cap ? w->cap * 2 : 64;
    struct lc_pos_entry *n = lc_xmalloc(cap * sizeof(*n));
    for (size_t i = 0; i < w->len; i++) {
        n[i] = *at(w, i);
    }
    free(w->ents);
    w->ents = n;
    w->cap = cap;
    w->head = 0;
}

void lc_pos_window_take(struct lc_pos_window *w, uint64_t seq, int64_t ts_ns, uint64_t fp)
{
    if (w->len == w->cap) {
        grow(w);
    }
    *at(w, w->len) = (struct lc_pos_entry){.seq = seq, .ts_ns = ts_ns, .fp = fp};
    w->len++;
    if (ts_ns > w->taken_max_ts) {
        w->taken_max_ts = ts_ns;
    }
}

/* Drops committed entries older than the margin, keeping take order: the kept ones are
 * moved to the back of the committed prefix, so the ring's head simply advances. */
static void prune(struct lc_pos_window *w)
{
    int64_t cutoff = w->committed_max_ts - w->margin_ns;
    size_t excess =
        w->n_committed > WINDOW_COMMITTED_MAX ? w->n_committed - WINDOW_COMMITTED_MAX : 0;
    size_t dst = w->n_committed;
    for (size_t i = w->n_committed; i-- > 0;) {
        struct lc_pos_entry e = *at(w, i);
        if (e.ts_ns >= cutoff && i >= excess) {
            *at(w, --dst) = e;
        }
    }
    /* dst entries were dropped. */
    if (dst > 0) {
        w->head = (w->head + dst) % w->cap;
        w->len -= dst;
        w->n_committed -= dst;
    }
}

int lc_pos_window_commit(struct lc_pos_window *w, uint64_t seq)
{
    int moved = 0;
    while (w->n_committed < w->len && at(w, w->n_committed)->seq <= seq) {
        int64_t ts = at(w, w->n_committed)->ts_ns;
        if (ts > w->committed_max_ts) {
            w->committed_max_ts = ts;
        }
        w->n_committed++;
        moved = 1;
    }
    if (moved) {
        prune(w);
    }
    return moved;
}

void lc_pos_window_set_floor(struct lc_pos_window *w, int64_t floor_ns)
{
    w->floor_ns = floor_ns;
}

int lc_pos_window_below_floor(const struct lc_pos_window *w, int64_t ts_ns)
{
    return ts_ns < w->floor_ns;
}

int lc_pos_window_has_position(const struct lc_pos_window *w)
{
    return w->taken_max_ts >= 0;
}

int64_t lc_pos_window_since(const struct lc_pos_window *w)
{
    int64_t s;
    if (w->taken_max_ts < 0) {
        return 0;
    }
    s = w->taken_max_ts - w->margin_ns;
    return s > 0 ? s : 0;
}

static int cmp_fp(const void *a, const void *b)
{
    const struct lc_pos_fp *x = a, *y = b;
    return x->fp < y->fp ? -1 : x->fp > y->fp;
}

void lc_pos_window_begin_replay(struct lc_pos_window *w)
{
    int64_t since = lc_pos_window_since(w);
    size_t n = 0;

    free(w->replay);
    w->replay = lc_xmalloc((w->len ? w->len : 1) * sizeof(*w->replay));
    w->replay_max_ts = -1;
    for (size_t i = 0; i < w->len; i++) {
        const struct lc_pos_entry *e = at(w, i);
        if (e->ts_ns >= since) {
            w->replay[n++] = (struct lc_pos_fp){.fp = e->fp, .count = 1};
            if (e->ts_ns > w->replay_max_ts) {
                w->replay_max_ts = e->ts_ns;
            }
        }
    }
    w->replay_left = n;
    qsort(w->replay, n, sizeof(*w->replay), cmp_fp);
    /* Merge equal fingerprints into counts. */
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out > 0 && w->replay[out - 1].fp == w->replay[i].fp) {
            w->replay[out - 1].count++;
        } else {
            w->replay[out++] = w->replay[i];
        }
    }
    w->n_replay = out;
}

int lc_pos_window_seen(struct lc_pos_window *w, int64_t ts_ns, uint64_t fp)
{
    size_t lo = 0, hi = w->n_replay;
    if (w->replay_left == 0 || ts_ns > w->replay_max_ts) {
        return 0;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->replay[mid].fp < fp) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < w->n_replay && w->replay[lo].fp == fp && w->replay[lo].count > 0) {
        w->replay[lo].count--;
        w->replay_left--;
        return 1;
    }
    return 0;
}

json_t *lc_pos_window_to_json(const struct lc_pos_window *w)
{
    json_t *fps = json_array();
    int64_t cutoff = w->committed_max_ts - w->margin_ns;
    char hex[17];
    for (size_t i = 0; i < w->n_committed; i++) {
        const struct lc_pos_entry *e = at(w, i);
        if (e->ts_ns >= cutoff) {
            snprintf(hex, sizeof(hex), "%016" PRIx64, e->fp);
            json_array_append_new(fps, json_string(hex));
        }
    }
    if (w->floor_ns > 0 && w->floor_ns > cutoff) {
        return json_pack("{s:I,s:o,s:I}", "ts", (json_int_t)w->committed_max_ts, "fps", fps,
                         "floor", (json_int_t)w->floor_ns);
    }
    return json_pack("{s:I,s:o}", "ts", (json_int_t)w->committed_max_ts, "fps", fps);
}

static int parse_fp(const json_t *v, uint64_t *out)
{
    const char *s = json_string_value(v);
    char *end;
    if (s == NULL || strlen(s) != 16) {
        return -EINVAL;
    }
    for (size_t i = 0; i < 16; i++) {
        if (!isxdigit((unsigned char)s[i])) {
            return -EINVAL;
        }
    }
    errno = 0;
    *out = strtoull(s, &end, 16);
    return (*end == '\0' && errno == 0) ? 0 : -EINVAL;
}

int lc_pos_window_from_json(struct lc_pos_window *w, const json_t *obj)
{
    const json_t *ts = json_object_get(obj, "ts");
    const json_t *fps = json_object_get(obj, "fps");
    const json_t *floor = json_object_get(obj, "floor");
    size_t i;
    const json_t *v;
    uint64_t fp;

    if (!json_is_integer(ts) || json_integer_value(ts) < -1 || !json_is_array(fps) ||
        (floor != NULL && !json_is_integer(floor))) {
        return -EINVAL;
    }
    json_array_foreach(fps, i, v)
    {
        if (parse_fp(v, &fp) != 0) {
            lc_pos_window_close(w);
            return -EINVAL;
        }
        lc_pos_window_take(w, 0, json_integer_value(ts), fp);
    }
    w->n_committed = w->len;
    w->floor_ns = floor != NULL ? json_integer_value(floor) : 0;
    w->taken_max_ts = json_integer_value(ts);
    w->committed_max_ts = w->taken_max_ts;
    return 0;
}

int lc_positions_parse(const char *text, size_t len, json_t **out)
{
    json_error_t err;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    json_t *containers;
    if (doc == NULL) {
        return -EINVAL;
    }
    containers = json_object_get(doc, "containers");
    if (!json_is_object(doc) || json_integer_value(json_object_get(doc, "version")) != 1 ||
        !json_is_object(containers)) {
        json_decref(doc);
        return -EINVAL;
    }
    *out = doc;
    return 0;
}

int lc_positions_load(const char *path, json_t **out)
{
    char *text;
    size_t len;
    int rc = lc_read_file(path, STORE_MAX, &text, &len);
    if (rc != 0) {
        return rc;
    }
    rc = lc_positions_parse(text, len, out);
    free(text);
    return rc;
}

char *lc_positions_dump(const json_t *doc, size_t *len)
{
    char *s = json_dumps(doc, JSON_COMPACT);
    if (s == NULL) {
        abort(); /* jansson fails only when out of memory */
    }
    *len = strlen(s);
    return s;
}
