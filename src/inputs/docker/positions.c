/* positions: see positions.h. */
#include "inputs/docker/positions.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define STORE_MAX (256u << 20)

static const char *const stream_keys[LC_DOCKER_POS_STREAMS] = {NULL, "stdout", "stderr"};

static void cuts_reset(struct lc_docker_pos_cut *cuts)
{
    for (int i = 0; i < LC_DOCKER_POS_STREAMS; i++) {
        cuts[i] = (struct lc_docker_pos_cut){.ts = -1, .count = 0, .max = -1};
    }
}

void lc_docker_pos_init(struct lc_docker_pos *w, int64_t margin_ns)
{
    memset(w, 0, sizeof(*w));
    cuts_reset(w->cut);
    cuts_reset(w->replay);
    w->margin_ns = margin_ns;
    w->hold_ns = -1;
    w->last_ns = -1;
}

void lc_docker_pos_close(struct lc_docker_pos *w)
{
    lc_docker_pos_init(w, w->margin_ns);
}

static int valid_stream(int stream)
{
    return stream > 0 && stream < LC_DOCKER_POS_STREAMS;
}

/* The cut follows the last line taken: a line older than it (the clock stepped back) moves
 * it back, while max keeps the newest one ever taken, which tells a replay that the
 * stream's timestamps went backwards. */
void lc_docker_pos_take(struct lc_docker_pos *w, int64_t ts_ns, int stream)
{
    struct lc_docker_pos_cut *cut;
    if (!valid_stream(stream)) {
        return;
    }
    cut = &w->cut[stream];
    if (cut->ts >= 0 && ts_ns == cut->ts) {
        cut->count += cut->count < UINT32_MAX;
    } else {
        cut->ts = ts_ns;
        cut->count = 1;
    }
    if (ts_ns > cut->max) {
        cut->max = ts_ns;
    }
    w->last_ns = ts_ns;
}

void lc_docker_pos_set_at(struct lc_docker_pos *w, int64_t boot_ns)
{
    w->at_ns = boot_ns > 0 ? boot_ns : 0;
}

int lc_docker_pos_set_hold(struct lc_docker_pos *w, int64_t ts_ns)
{
    ts_ns = ts_ns >= 0 ? ts_ns : -1;
    if (ts_ns == w->hold_ns) {
        return 0;
    }
    w->hold_ns = ts_ns;
    return 1;
}

int64_t lc_docker_pos_newest(const struct lc_docker_pos *w)
{
    int64_t n = -1;
    for (int i = 1; i < LC_DOCKER_POS_STREAMS; i++) {
        if (w->cut[i].ts > n) {
            n = w->cut[i].ts;
        }
    }
    return n;
}

int64_t lc_docker_pos_last(const struct lc_docker_pos *w)
{
    return w->last_ns;
}

int lc_docker_pos_has_position(const struct lc_docker_pos *w)
{
    return lc_docker_pos_newest(w) >= 0;
}

/* What the wall clock read at the last take, from the boot-time of that take: every line
 * written since is stamped no earlier. Returns 0 when unknown (never taken, or the
 * boot-time is of another boot). */
static int wall_at_take(const struct lc_docker_pos *w, int64_t wall_ns, int64_t boot_ns,
                        int64_t *out)
{
    if (w->at_ns <= 0 || boot_ns < w->at_ns) {
        return 0;
    }
    *out = wall_ns - (boot_ns - w->at_ns);
    return 1;
}

/* The clock stepped back at some point since lines were taken: a stream took a line older
 * than one it took before, a line taken is newer than the present, or the wall clock read
 * less at the last take (reckoned back from now on the boot clock) than the newest line
 * taken, which Docker stamped before it was taken. Time then no longer orders the lines.
 * The boot clock and the wall clock run at the same rate (NTP slews both alike), so no
 * slack is needed; a false alarm costs only a replay by order. A step between a line's
 * writing and a take that lags far behind it can still go unseen: what was written then
 * may be dropped as older than its stream's cut. */
static int stepped(const struct lc_docker_pos *w, int64_t wall_ns, int64_t boot_ns)
{
    int64_t max = -1, then;
    for (int i = 1; i < LC_DOCKER_POS_STREAMS; i++) {
        if (w->cut[i].ts >= 0 && w->cut[i].max > w->cut[i].ts) {
            return 1;
        }
        max = w->cut[i].max > max ? w->cut[i].max : max;
    }
    if (max > wall_ns) {
        return 1;
    }
    return max >= 0 && wall_at_take(w, wall_ns, boot_ns, &then) && then < max;
}

static int ahead(const struct lc_docker_pos *w, int64_t wall_ns)
{
    for (int i = 1; i < LC_DOCKER_POS_STREAMS; i++) {
        if (w->cut[i].max > wall_ns) {
            return 1;
        }
    }
    return 0;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

int64_t lc_docker_pos_since(const struct lc_docker_pos *w, int64_t wall_ns, int64_t boot_ns)
{
    int64_t s = lc_docker_pos_newest(w), then;
    if (s < 0) {
        return 0;
    }
    s -= w->margin_ns;
    if (w->hold_ns >= 0) {
        s = min64(s, w->hold_ns);
    }
    if (stepped(w, wall_ns, boot_ns)) {
        /* A replay by order must meet each stream's cut line. */
        for (int i = 1; i < LC_DOCKER_POS_STREAMS; i++) {
            if (w->cut[i].ts >= 0) {
                s = min64(s, w->cut[i].ts);
            }
        }
    }
    if (wall_at_take(w, wall_ns, boot_ns, &then)) {
        s = min64(s, then - w->margin_ns);
    } else if (ahead(w, wall_ns)) {
        s = 0; /* ahead of the present and no telling since when: from the start */
    }
    return s > 0 ? s : 0;
}

void lc_docker_pos_set_floor(struct lc_docker_pos *w, int64_t floor_ns)
{
    w->floor_ns = floor_ns;
}

void lc_docker_pos_begin_replay(struct lc_docker_pos *w, int64_t wall_ns, int64_t boot_ns)
{
    int by_order = stepped(w, wall_ns, boot_ns);
    memcpy(w->replay, w->cut, sizeof(w->replay));
    memset(w->replay_seen, 0, sizeof(w->replay_seen));
    memset(w->passed, 0, sizeof(w->passed));
    for (int i = 1; i < LC_DOCKER_POS_STREAMS; i++) {
        w->by_order[i] = (uint8_t)(by_order && w->cut[i].ts >= 0);
    }
    /* After a step back the floor's time means nothing either; lines before the tail
     * come before the cut lines in the file and are dropped by order. */
    w->replay_floor = !by_order && w->floor_ns > 0;
}

int lc_docker_pos_replay_by_order(const struct lc_docker_pos *w)
{
    for (int i = 1; i < LC_DOCKER_POS_STREAMS; i++) {
        if (w->by_order[i]) {
            return 1;
        }
    }
    return 0;
}

/* By order: every line up to the cut line (the COUNT-th at the cut's timestamp) was taken;
 * every line after it is new, and so is a line newer than anything ever taken. */
static int seen_by_order(struct lc_docker_pos *w, int64_t ts_ns, int stream)
{
    const struct lc_docker_pos_cut *cut = &w->replay[stream];
    if (w->passed[stream]) {
        return 0;
    }
    if (ts_ns > cut->max) {
        w->passed[stream] = 1;
        return 0;
    }
    if (ts_ns == cut->ts && ++w->replay_seen[stream] >= cut->count) {
        w->passed[stream] = 1;
    }
    return 1;
}

int lc_docker_pos_seen(struct lc_docker_pos *w, int64_t ts_ns, int stream)
{
    const struct lc_docker_pos_cut *cut;
    if (!valid_stream(stream)) {
        return 0;
    }
    if (w->by_order[stream]) {
        return seen_by_order(w, ts_ns, stream);
    }
    cut = &w->replay[stream];
    if (cut->ts < 0) {
        /* Took nothing yet: only the lines before a tail's first line are held back. */
        return w->replay_floor && ts_ns < w->floor_ns;
    }
    if (ts_ns < cut->ts) {
        return 1;
    }
    if (ts_ns == cut->ts && w->replay_seen[stream] < cut->count) {
        w->replay_seen[stream]++;
        return 1;
    }
    return 0;
}

/* Appends ,"KEY":VALUE (or without the comma first). Returns 0, or -1 when CAP is short. */
static int put_field(char *buf, size_t cap, size_t *n, const char *key, int64_t v)
{
    int k = snprintf(buf + *n, cap - *n, "%s\"%s\":%lld", *n > 1 ? "," : "", key, (long long)v);
    if (k < 0 || (size_t)k >= cap - *n) {
        return -1;
    }
    *n += (size_t)k;
    return 0;
}

static int put_cut(char *buf, size_t cap, size_t *n, int stream, const struct lc_docker_pos_cut *c)
{
    int k;
    if (c->max > c->ts) {
        k = snprintf(buf + *n, cap - *n, "%s\"%s\":[%lld,%u,%lld]", *n > 1 ? "," : "",
                     stream_keys[stream], (long long)c->ts, (unsigned)c->count, (long long)c->max);
    } else {
        k = snprintf(buf + *n, cap - *n, "%s\"%s\":[%lld,%u]", *n > 1 ? "," : "",
                     stream_keys[stream], (long long)c->ts, (unsigned)c->count);
    }
    if (k < 0 || (size_t)k >= cap - *n) {
        return -1;
    }
    *n += (size_t)k;
    return 0;
}

size_t lc_docker_pos_format(const struct lc_docker_pos *w, char *buf, size_t cap)
{
    size_t n = 0;
    int rc = 0;
    if (cap < 2) {
        return 0;
    }
    buf[n++] = '{';
    for (int i = 1; i < LC_DOCKER_POS_STREAMS && rc == 0; i++) {
        if (w->cut[i].ts >= 0) {
            rc = put_cut(buf, cap, &n, i, &w->cut[i]);
        }
    }
    /* The floor matters only while a resume could still reach below it. */
    if (rc == 0 && w->floor_ns > 0 && w->floor_ns > lc_docker_pos_newest(w) - w->margin_ns) {
        rc = put_field(buf, cap, &n, "floor", w->floor_ns);
    }
    if (rc == 0 && w->hold_ns >= 0) {
        rc = put_field(buf, cap, &n, "hold", w->hold_ns);
    }
    if (rc == 0 && w->at_ns > 0 && lc_docker_pos_has_position(w)) {
        rc = put_field(buf, cap, &n, "at", w->at_ns);
    }
    if (rc != 0 || n + 2 > cap) {
        return 0;
    }
    buf[n++] = '}';
    buf[n] = '\0';
    return n;
}

json_t *lc_docker_pos_to_json(const struct lc_docker_pos *w)
{
    char text[LC_DOCKER_POS_JSON_MAX];
    size_t n = lc_docker_pos_format(w, text, sizeof(text));
    json_t *obj = n > 0 ? json_loadb(text, n, 0, NULL) : NULL;
    if (obj == NULL) {
        abort(); /* LC_DOCKER_POS_JSON_MAX holds any position, and jansson fails only without memory
                  */
    }
    return obj;
}

static int int_at(const json_t *a, size_t i, int64_t min, int64_t max, int64_t *out)
{
    const json_t *v = json_array_get(a, i);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        return -EINVAL;
    }
    *out = json_integer_value(v);
    return 0;
}

static int cut_from_json(const json_t *v, struct lc_docker_pos_cut *cut)
{
    int64_t ts, n, max;
    size_t len = json_array_size(v);
    if (!json_is_array(v) || (len != 2 && len != 3) || int_at(v, 0, 0, INT64_MAX, &ts) != 0 ||
        int_at(v, 1, 1, UINT32_MAX, &n) != 0) {
        return -EINVAL;
    }
    max = ts;
    if (len == 3 && (int_at(v, 2, 0, INT64_MAX, &max) != 0 || max <= ts)) {
        return -EINVAL;
    }
    *cut = (struct lc_docker_pos_cut){.ts = ts, .count = (uint32_t)n, .max = max};
    return 0;
}

/* An optional integer member KEY, at least MIN: *OUT keeps DEFAULT when absent. */
static int opt_int(const json_t *obj, const char *key, int64_t min, int64_t *out)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min) {
        return -EINVAL;
    }
    *out = json_integer_value(v);
    return 0;
}

int lc_docker_pos_from_json(struct lc_docker_pos *w, const json_t *obj)
{
    struct lc_docker_pos_cut cuts[LC_DOCKER_POS_STREAMS];
    int64_t floor = 0, hold = -1, at = 0;
    if (!json_is_object(obj) || opt_int(obj, "floor", INT64_MIN, &floor) != 0 ||
        opt_int(obj, "hold", 0, &hold) != 0 || opt_int(obj, "at", 0, &at) != 0) {
        return -EINVAL;
    }
    cuts_reset(cuts);
    for (int i = 1; i < LC_DOCKER_POS_STREAMS; i++) {
        const json_t *v = json_object_get(obj, stream_keys[i]);
        if (v != NULL && cut_from_json(v, &cuts[i]) != 0) {
            return -EINVAL;
        }
    }
    memcpy(w->cut, cuts, sizeof(cuts));
    w->floor_ns = floor;
    w->hold_ns = hold;
    w->at_ns = at;
    w->last_ns = lc_docker_pos_newest(w);
    return 0;
}

int lc_docker_positions_parse(const char *text, size_t len, json_t **out)
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

int lc_docker_positions_load(const char *path, json_t **out)
{
    char *text;
    size_t len;
    int rc = lc_read_file(path, STORE_MAX, &text, &len);
    if (rc != 0) {
        return rc;
    }
    rc = lc_docker_positions_parse(text, len, out);
    free(text);
    return rc;
}

char *lc_docker_positions_dump(const json_t *doc, size_t *len)
{
    char *s = json_dumps(doc, JSON_COMPACT);
    if (s == NULL) {
        abort(); /* jansson fails only when out of memory */
    }
    *len = strlen(s);
    return s;
}
