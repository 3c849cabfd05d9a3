/* positions: see positions.h. */
#include "core/positions.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define STORE_MAX (256u << 20)
#define RING_MIN 64

static const char *const stream_keys[LC_POS_STREAMS] = {NULL, "stdout", "stderr"};

static void cuts_reset(struct lc_pos_cut *cuts)
{
    for (int i = 0; i < LC_POS_STREAMS; i++) {
        cuts[i].ts = -1;
        cuts[i].count = 0;
    }
}

void lc_pos_window_init(struct lc_pos_window *w, int64_t margin_ns)
{
    memset(w, 0, sizeof(*w));
    cuts_reset(w->taken);
    cuts_reset(w->committed);
    cuts_reset(w->replay);
    w->margin_ns = margin_ns;
}

void lc_pos_window_close(struct lc_pos_window *w)
{
    free(w->ents);
    lc_pos_window_init(w, w->margin_ns);
}

static int valid_stream(int stream)
{
    return stream > 0 && stream < LC_POS_STREAMS;
}

/* Moves a cut forward to a line at TS. A line older than the cut (a clock stepped back)
 * leaves it: the cut only ever says "everything up to here was taken". */
static void cut_advance(struct lc_pos_cut *cut, int64_t ts)
{
    if (ts > cut->ts) {
        cut->ts = ts;
        cut->count = 1;
    } else if (ts == cut->ts && cut->count < UINT32_MAX) {
        cut->count++;
    }
}

static struct lc_pos_entry *at(const struct lc_pos_window *w, size_t i)
{
    return &w->ents[(w->head + i) % w->cap];
}

static void resize(struct lc_pos_window *w, size_t cap)
{
    struct lc_pos_entry *n = lc_xmalloc(cap * sizeof(*n));
    for (size_t i = 0; i < w->len; i++) {
        n[i] = *at(w, i);
    }
    free(w->ents);
    w->ents = n;
    w->cap = cap;
    w->head = 0;
}

void lc_pos_window_take(struct lc_pos_window *w, uint64_t seq, int64_t ts_ns, int stream)
{
    if (!valid_stream(stream)) {
        return;
    }
    if (w->len == w->cap) {
        resize(w, w->cap ? w->cap * 2 : RING_MIN);
    }
    *at(w, w->len) = (struct lc_pos_entry){.seq = seq, .ts_ns = ts_ns, .stream = (uint8_t)stream};
    w->len++;
    cut_advance(&w->taken[stream], ts_ns);
}

int lc_pos_window_commit(struct lc_pos_window *w, uint64_t seq)
{
    int moved = 0;
    while (w->len > 0 && at(w, 0)->seq <= seq) {
        const struct lc_pos_entry *e = at(w, 0);
        cut_advance(&w->committed[e->stream], e->ts_ns);
        w->head = (w->head + 1) % w->cap;
        w->len--;
        moved = 1;
    }
    /* A burst grows the ring; give the memory back once it has drained. */
    if (w->cap > RING_MIN && w->len < w->cap / 8) {
        resize(w, w->len * 2 > RING_MIN ? w->len * 2 : RING_MIN);
    }
    return moved;
}

static int64_t newest(const struct lc_pos_cut *cuts)
{
    int64_t n = -1;
    for (int i = 1; i < LC_POS_STREAMS; i++) {
        if (cuts[i].ts > n) {
            n = cuts[i].ts;
        }
    }
    return n;
}

int lc_pos_window_has_position(const struct lc_pos_window *w)
{
    return newest(w->taken) >= 0;
}

int64_t lc_pos_window_newest(const struct lc_pos_window *w)
{
    return newest(w->taken);
}

int64_t lc_pos_window_committed_newest(const struct lc_pos_window *w)
{
    return newest(w->committed);
}

int64_t lc_pos_window_since(const struct lc_pos_window *w)
{
    int64_t s = newest(w->taken);
    if (s < 0) {
        return 0;
    }
    s -= w->margin_ns;
    return s > 0 ? s : 0;
}

void lc_pos_window_set_floor(struct lc_pos_window *w, int64_t floor_ns)
{
    w->floor_ns = floor_ns;
}

int lc_pos_window_below_floor(const struct lc_pos_window *w, int64_t ts_ns)
{
    return ts_ns < w->floor_ns;
}

void lc_pos_window_begin_replay(struct lc_pos_window *w)
{
    memcpy(w->replay, w->taken, sizeof(w->replay));
    memset(w->replay_seen, 0, sizeof(w->replay_seen));
}

int lc_pos_window_seen(struct lc_pos_window *w, int64_t ts_ns, int stream)
{
    const struct lc_pos_cut *cut;
    if (!valid_stream(stream)) {
        return 0;
    }
    cut = &w->replay[stream];
    if (ts_ns < cut->ts) {
        return 1;
    }
    if (ts_ns == cut->ts && w->replay_seen[stream] < cut->count) {
        w->replay_seen[stream]++;
        return 1;
    }
    return 0;
}

size_t lc_pos_window_format(const struct lc_pos_window *w, char *buf, size_t cap)
{
    size_t n = 0;
    int k;
    const char *sep = "";
    if (cap < 2) {
        return 0;
    }
    buf[n++] = '{';
    for (int i = 1; i < LC_POS_STREAMS; i++) {
        if (w->committed[i].ts >= 0) {
            k = snprintf(buf + n, cap - n, "%s\"%s\":[%lld,%u]", sep, stream_keys[i],
                         (long long)w->committed[i].ts, (unsigned)w->committed[i].count);
            if (k < 0 || (size_t)k >= cap - n) {
                return 0;
            }
            n += (size_t)k;
            sep = ",";
        }
    }
    /* The floor matters only while a resume could still reach below it. */
    if (w->floor_ns > 0 && w->floor_ns > lc_pos_window_committed_newest(w) - w->margin_ns) {
        k = snprintf(buf + n, cap - n, "%s\"floor\":%lld", sep, (long long)w->floor_ns);
        if (k < 0 || (size_t)k >= cap - n) {
            return 0;
        }
        n += (size_t)k;
    }
    if (n + 2 > cap) {
        return 0;
    }
    buf[n++] = '}';
    buf[n] = '\0';
    return n;
}

json_t *lc_pos_window_to_json(const struct lc_pos_window *w)
{
    char text[LC_POS_JSON_MAX];
    size_t n = lc_pos_window_format(w, text, sizeof(text));
    json_t *obj = n > 0 ? json_loadb(text, n, 0, NULL) : NULL;
    if (obj == NULL) {
        abort(); /* LC_POS_JSON_MAX holds any position, and jansson fails only without memory */
    }
    return obj;
}

static int cut_from_json(const json_t *v, struct lc_pos_cut *cut)
{
    const json_t *ts = json_array_get(v, 0), *n = json_array_get(v, 1);
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_integer(ts) ||
        !json_is_integer(n) || json_integer_value(ts) < 0 || json_integer_value(n) < 1 ||
        json_integer_value(n) > UINT32_MAX) {
        return -EINVAL;
    }
    cut->ts = json_integer_value(ts);
    cut->count = (uint32_t)json_integer_value(n);
    return 0;
}

int lc_pos_window_from_json(struct lc_pos_window *w, const json_t *obj)
{
    struct lc_pos_cut cuts[LC_POS_STREAMS];
    const json_t *floor = json_object_get(obj, "floor");
    if (!json_is_object(obj) || (floor != NULL && !json_is_integer(floor))) {
        return -EINVAL;
    }
    cuts_reset(cuts);
    for (int i = 1; i < LC_POS_STREAMS; i++) {
        const json_t *v = json_object_get(obj, stream_keys[i]);
        if (v != NULL && cut_from_json(v, &cuts[i]) != 0) {
            return -EINVAL;
        }
    }
    memcpy(w->taken, cuts, sizeof(cuts));
    memcpy(w->committed, cuts, sizeof(cuts));
    w->floor_ns = floor != NULL ? json_integer_value(floor) : 0;
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
