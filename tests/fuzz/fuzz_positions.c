/* fuzz_positions: the positions store on arbitrary bytes. A store that parses dumps and
 * parses back equal. Each container object is loaded into a window: a rejected one leaves
 * the window empty; an accepted one holds exactly the cuts it names, gives a since no
 * later than newest - margin and its hold (not below 0), recognises in a replay (with the
 * clock well past every cut) every line below a cut and the first COUNT at it (and nothing
 * on a stream it does not name), and saves to JSON that loads back with the same cuts and
 * saves equal. Then one newer line is taken on top, and that saves and loads too. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inputs/docker/positions.h"

#define COUNT_CHECKED 64 /* a count can be 4 billion: walk only small ones to the end */

static const char *const keys[LC_DOCKER_POS_STREAMS] = {NULL, "stdout", "stderr"};

static void check(int ok)
{
    if (!ok) {
        abort();
    }
}

static int cuts_equal(const struct lc_docker_pos_cut *a, const struct lc_docker_pos_cut *b)
{
    for (int s = 1; s < LC_DOCKER_POS_STREAMS; s++) {
        if (a[s].ts != b[s].ts || a[s].count != b[s].count || a[s].max != b[s].max) {
            return 0;
        }
    }
    return 1;
}

static void check_empty(struct lc_docker_pos *w)
{
    json_t *j = lc_docker_pos_to_json(w);
    check(!lc_docker_pos_has_position(w) && lc_docker_pos_since(w, INT64_MAX, 0) == 0 &&
          w->floor_ns == 0 && w->hold_ns == -1 && w->at_ns == 0 && lc_docker_pos_newest(w) == -1 &&
          json_object_size(j) == 0);
    json_decref(j);
}

/* The cuts loaded from OBJ are those it names; -1 for a stream it leaves out. */
static void check_loaded(const struct lc_docker_pos *w, const json_t *obj)
{
    int64_t newest = -1;
    for (int s = 1; s < LC_DOCKER_POS_STREAMS; s++) {
        const json_t *v = json_object_get(obj, keys[s]);
        int64_t ts = v != NULL ? json_integer_value(json_array_get(v, 0)) : -1;
        int64_t n = v != NULL ? json_integer_value(json_array_get(v, 1)) : 0;
        int64_t max =
            v != NULL && json_array_size(v) == 3 ? json_integer_value(json_array_get(v, 2)) : ts;
        check(w->cut[s].ts == ts && w->cut[s].count == n && w->cut[s].max == max);
        check(max >= ts);
        newest = ts > newest ? ts : newest;
    }
    check(lc_docker_pos_newest(w) == newest && lc_docker_pos_last(w) == newest);
    check(lc_docker_pos_has_position(w) == (newest >= 0));
    if (newest >= 0) {
        int64_t since = lc_docker_pos_since(w, INT64_MAX, 0);
        check(since >= 0 &&
              since <=
                  (newest - LC_DOCKER_POS_MARGIN_NS > 0 ? newest - LC_DOCKER_POS_MARGIN_NS : 0));
        check(w->hold_ns < 0 || since <= w->hold_ns);
    }
}

/* Replay with the clock past every cut and no boot-time: by time unless a stream's max is
 * past its cut (the clock stepped back), then by order. */
static void check_replay(struct lc_docker_pos *w)
{
    int by_order = 0;
    for (int s = 1; s < LC_DOCKER_POS_STREAMS; s++) {
        by_order |= w->cut[s].ts >= 0 && w->cut[s].max > w->cut[s].ts;
    }
    lc_docker_pos_begin_replay(w, INT64_MAX, 0);
    if (by_order) {
        for (int s = 1; s < LC_DOCKER_POS_STREAMS; s++) {
            check(w->by_order[s] == (w->cut[s].ts >= 0));
        }
        return;
    }
    for (int s = 1; s < LC_DOCKER_POS_STREAMS; s++) {
        struct lc_docker_pos_cut cut = w->cut[s];
        if (cut.ts < 0) {
            /* Only the floor, if any, holds lines back on a stream that took nothing. */
            check(lc_docker_pos_seen(w, 0, s) == (w->floor_ns > 0) &&
                  !lc_docker_pos_seen(w, INT64_MAX, s));
            continue;
        }
        check(cut.ts == 0 || lc_docker_pos_seen(w, cut.ts - 1, s));
        check(cut.ts == 0 || lc_docker_pos_seen(w, 0, s));
        check(cut.ts == INT64_MAX || !lc_docker_pos_seen(w, cut.ts + 1, s));
        for (uint32_t i = 0; i < cut.count && i < COUNT_CHECKED; i++) {
            check(lc_docker_pos_seen(w, cut.ts, s));
        }
        check(cut.count > COUNT_CHECKED || !lc_docker_pos_seen(w, cut.ts, s));
    }
    check(!lc_docker_pos_seen(w, 0, 0) && !lc_docker_pos_seen(w, 0, LC_DOCKER_POS_STREAMS));
}

/* Saves W and loads the JSON into a fresh window: the same cuts, saved equal. */
static void check_roundtrip(const struct lc_docker_pos *w)
{
    struct lc_docker_pos w2;
    json_t *saved = lc_docker_pos_to_json(w), *again;

    lc_docker_pos_init(&w2, LC_DOCKER_POS_MARGIN_NS);
    check(json_is_object(saved) && lc_docker_pos_from_json(&w2, saved) == 0);
    check(cuts_equal(w2.cut, w->cut) && w2.hold_ns == w->hold_ns);
    check(!lc_docker_pos_has_position(w) || w2.at_ns == w->at_ns);
    check(json_object_get(saved, "floor") == NULL || w2.floor_ns == w->floor_ns);
    again = lc_docker_pos_to_json(&w2);
    check(json_equal(saved, again));
    json_decref(again);
    json_decref(saved);
    lc_docker_pos_close(&w2);
}

static void check_window(const json_t *obj)
{
    struct lc_docker_pos w;
    int64_t newest;
    int rc;

    lc_docker_pos_init(&w, LC_DOCKER_POS_MARGIN_NS);
    rc = lc_docker_pos_from_json(&w, obj);
    if (rc != 0) {
        check(rc == -EINVAL);
        check_empty(&w);
        lc_docker_pos_close(&w);
        return;
    }
    check_loaded(&w, obj);
    check_roundtrip(&w);
    check_replay(&w);

    newest = lc_docker_pos_newest(&w);
    if (newest < INT64_MAX) {
        int stream = 1 + (int)(json_object_size(obj) & 1);
        lc_docker_pos_take(&w, newest + 1, stream);
        check(w.cut[stream].ts == newest + 1 && w.cut[stream].count == 1);
        check(lc_docker_pos_newest(&w) == newest + 1 && lc_docker_pos_last(&w) == newest + 1);
        check_roundtrip(&w);
    }
    lc_docker_pos_close(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc, *again, *containers, *obj;
    const char *key;
    char *text;
    size_t len;

    if (lc_docker_positions_parse((const char *)data, size, &doc) != 0) {
        return 0;
    }
    containers = json_object_get(doc, "containers");
    check(json_is_object(containers));
    text = lc_docker_positions_dump(doc, &len);
    check(lc_docker_positions_parse(text, len, &again) == 0 && json_equal(doc, again));
    json_object_foreach(containers, key, obj)
    {
        check_window(obj);
    }
    json_decref(again);
    free(text);
    json_decref(doc);
    return 0;
}
