/* fuzz_positions: the positions store on arbitrary bytes. A store that parses dumps and
 * parses back equal. Each container object is loaded into a window: a rejected one leaves
 * the window empty; an accepted one holds every fingerprint, saves back to the same JSON
 * (loaded again, saved again: equal), gives since = ts - margin (not below 0), and in a
 * replay recognises each saved fingerprint exactly as many times as it was saved, and no
 * line newer than ts. Then one more line is taken and committed on top. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/positions.h"

static uint64_t hex_fp(const json_t *v)
{
    const char *s = json_string_value(v);
    char *end;
    uint64_t fp;
    if (s == NULL || strlen(s) != 16) {
        abort();
    }
    fp = strtoull(s, &end, 16);
    if (*end != '\0') {
        abort();
    }
    return fp;
}

/* Replays W (loaded from SAVED, whose ts is TS >= 0) and checks what it recognises. */
static void check_replay(struct lc_pos_window *w, const json_t *saved, int64_t ts)
{
    const json_t *fps = json_object_get(saved, "fps");
    size_t i, n = json_array_size(fps);
    const json_t *v;

    lc_pos_window_begin_replay(w);
    if (w->replay_left != n) {
        abort();
    }
    if (n > 0 && ts < INT64_MAX && lc_pos_window_seen(w, ts + 1, hex_fp(json_array_get(fps, 0)))) {
        abort();
    }
    json_array_foreach(fps, i, v)
    {
        if (lc_pos_window_seen(w, ts, hex_fp(v)) != 1) {
            abort();
        }
    }
    if (w->replay_left != 0 ||
        (n > 0 && lc_pos_window_seen(w, ts, hex_fp(json_array_get(fps, 0))))) {
        abort();
    }
}

static void check_window(const json_t *obj)
{
    struct lc_pos_window w, w2;
    json_t *saved, *saved2, *later;
    int64_t ts, since;
    size_t n;

    lc_pos_window_init(&w, LC_POS_MARGIN_NS);
    if (lc_pos_window_from_json(&w, obj) != 0) {
        if (w.len != 0 || lc_pos_window_has_position(&w) || lc_pos_window_since(&w) != 0) {
            abort();
        }
        lc_pos_window_close(&w);
        return;
    }
    ts = json_integer_value(json_object_get(obj, "ts"));
    n = json_array_size(json_object_get(obj, "fps"));
    since = ts - LC_POS_MARGIN_NS > 0 ? ts - LC_POS_MARGIN_NS : 0;
    if (w.len != n || w.n_committed != n || lc_pos_window_since(&w) != since ||
        lc_pos_window_has_position(&w) != (ts >= 0)) {
        abort();
    }
    saved = lc_pos_window_to_json(&w);
    if (json_integer_value(json_object_get(saved, "ts")) != ts ||
        json_array_size(json_object_get(saved, "fps")) != n) {
        abort();
    }
    lc_pos_window_init(&w2, LC_POS_MARGIN_NS);
    if (lc_pos_window_from_json(&w2, saved) != 0) {
        abort();
    }
    saved2 = lc_pos_window_to_json(&w2);
    if (!json_equal(saved, saved2)) {
        abort();
    }
    if (ts >= 0) {
        check_replay(&w, saved, ts);
    }
    lc_pos_window_take(&w2, 1, ts, 0x5eed);
    if (lc_pos_window_commit(&w2, 1) != 1 || w2.len != n + 1) {
        abort();
    }
    later = lc_pos_window_to_json(&w2);
    if (json_array_size(json_object_get(later, "fps")) != n + 1) {
        abort();
    }
    json_decref(later);
    json_decref(saved2);
    json_decref(saved);
    lc_pos_window_close(&w2);
    lc_pos_window_close(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc, *again, *containers, *obj;
    const char *key;
    char *text;
    size_t len;

    if (lc_positions_parse((const char *)data, size, &doc) != 0) {
        return 0;
    }
    containers = json_object_get(doc, "containers");
    if (!json_is_object(containers)) {
        abort();
    }
    text = lc_positions_dump(doc, &len);
    if (lc_positions_parse(text, len, &again) != 0 || !json_equal(doc, again)) {
        abort();
    }
    json_object_foreach(containers, key, obj)
    {
        check_window(obj);
    }
    json_decref(again);
    free(text);
    json_decref(doc);
    return 0;
}
