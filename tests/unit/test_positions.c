/* test_positions: the per-container window (take, commit over acknowledged sequence
 * numbers, pruning beyond the margin, since, replay with multiset dedup, inversions, the
 * ring wrapping while it grows, JSON save and load) and the store file (parse, load, dump),
 * plus a window under two million commits staying bounded. */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/positions.h"
#include "core/util.h"
#include "test.h"

#define MS (1000LL * 1000)
#define MARGIN LC_POS_MARGIN_NS
/* 2026-11-22T12:24:43Z in nanoseconds: a realistic base for timestamps. */
#define BASE (1795350283LL * 1000 * MS)
#define ID "3f1c2a7b9d0e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c"

/* Fingerprint of line number N printed at TS on stdout. */
static uint64_t fp_of(int64_t ts, int n)
{
    char msg[32];
    int len = snprintf(msg, sizeof(msg), "line %d", n);
    return lc_pos_fingerprint(ts, 1, msg, (size_t)len);
}

/* Number of fingerprints in W's JSON and whether FP is among them (counted). */
static size_t json_fp_count(const struct lc_pos_window *w, uint64_t fp, size_t *n_total,
                            json_int_t *ts)
{
    json_t *j = lc_pos_window_to_json(w);
    json_t *fps = json_object_get(j, "fps");
    char hex[17];
    size_t i, n = 0;
    json_t *v;

    snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)fp);
    json_array_foreach(fps, i, v)
    {
        if (strcmp(json_string_value(v), hex) == 0) {
            n++;
        }
    }
    *n_total = json_array_size(fps);
    *ts = json_integer_value(json_object_get(j, "ts"));
    json_decref(j);
    return n;
}

TEST(fingerprint)
{
    uint64_t a = lc_pos_fingerprint(BASE, 1, "hello", 5);

    ASSERT_U64_EQ(lc_pos_fingerprint(BASE, 1, "hello", 5), a);
    ASSERT_TRUE(lc_pos_fingerprint(BASE + 1, 1, "hello", 5) != a);
    ASSERT_TRUE(lc_pos_fingerprint(BASE, 2, "hello", 5) != a);
    ASSERT_TRUE(lc_pos_fingerprint(BASE, 1, "hellO", 5) != a);
    ASSERT_TRUE(lc_pos_fingerprint(BASE, 1, "hello", 4) != a);
}

TEST(empty_window)
{
    struct lc_pos_window w;
    json_t *j;

    lc_pos_window_init(&w, MARGIN);
    ASSERT_EQ(lc_pos_window_has_position(&w), 0);
    ASSERT_EQ(lc_pos_window_since(&w), 0);
    ASSERT_EQ(lc_pos_window_seen(&w, BASE, 1), 0);
    ASSERT_EQ(lc_pos_window_commit(&w, 100), 0);
    lc_pos_window_begin_replay(&w);
    ASSERT_EQ(lc_pos_window_seen(&w, BASE, 1), 0);
    j = lc_pos_window_to_json(&w);
    ASSERT_EQ(json_integer_value(json_object_get(j, "ts")), -1);
    ASSERT_EQ(json_array_size(json_object_get(j, "fps")), 0);
    json_decref(j);
    lc_pos_window_close(&w);
    /* A closed window is empty and reusable; closing twice is harmless. */
    ASSERT_EQ(lc_pos_window_has_position(&w), 0);
    lc_pos_window_close(&w);
}

/* Commit moves over the entries whose sequence numbers were acknowledged, in take order,
 * and reports whether it moved. Sequence numbers of one container have gaps (the pipeline
 * numbers every container's lines). */
TEST(commit_only_acknowledged)
{
    struct lc_pos_window w;
    size_t total;
    json_int_t ts;

    lc_pos_window_init(&w, MARGIN);
    for (int i = 1; i <= 5; i++) {
        lc_pos_window_take(&w, (uint64_t)i * 10, BASE + i * MS, fp_of(BASE + i * MS, i));
    }
    ASSERT_EQ(lc_pos_window_commit(&w, 9), 0);
    ASSERT_EQ(w.n_committed, 0);
    ASSERT_EQ(json_fp_count(&w, fp_of(BASE + MS, 1), &total, &ts), 0);
    ASSERT_EQ(total, 0);
    ASSERT_EQ(ts, -1);

    ASSERT_EQ(lc_pos_window_commit(&w, 35), 1); /* 10, 20, 30 */
    ASSERT_EQ(w.n_committed, 3);
    ASSERT_EQ(w.committed_max_ts, BASE + 3 * MS);
    ASSERT_EQ(json_fp_count(&w, fp_of(BASE + 3 * MS, 3), &total, &ts), 1);
    ASSERT_EQ(json_fp_count(&w, fp_of(BASE + 4 * MS, 4), &total, &ts), 0);
    ASSERT_EQ(total, 3);
    ASSERT_EQ(ts, BASE + 3 * MS);

    ASSERT_EQ(lc_pos_window_commit(&w, 39), 0); /* nothing new acknowledged */
    ASSERT_EQ(lc_pos_window_commit(&w, 20), 0); /* older acknowledgement */
    ASSERT_EQ(w.n_committed, 3);
    ASSERT_EQ(lc_pos_window_commit(&w, 40), 1);
    ASSERT_EQ(w.n_committed, 4);
    ASSERT_EQ(lc_pos_window_commit(&w, 1000), 1);
    ASSERT_EQ(w.n_committed, 5);
    ASSERT_EQ(w.len, 5);
    ASSERT_EQ(lc_pos_window_commit(&w, 1000), 0);
    lc_pos_window_close(&w);
}

/* Committed entries older than MARGIN before the newest committed one are forgotten; the
 * one exactly at the cutoff is kept; uncommitted entries are never pruned. */
TEST(prune_beyond_margin)
{
    struct lc_pos_window w;
    int64_t newest = BASE + 100 * MS, cutoff = newest - MARGIN;
    size_t total;
    json_int_t ts;

    lc_pos_window_init(&w, MARGIN);
    lc_pos_window_take(&w, 1, BASE, fp_of(BASE, 1));
    lc_pos_window_take(&w, 2, cutoff - 1, fp_of(cutoff - 1, 2));
    lc_pos_window_take(&w, 3, cutoff, fp_of(cutoff, 3));
    lc_pos_window_take(&w, 4, newest, fp_of(newest, 4));
    lc_pos_window_take(&w, 5, BASE, fp_of(BASE, 5)); /* old, taken late, uncommitted */
    ASSERT_EQ(lc_pos_window_commit(&w, 4), 1);
    ASSERT_EQ(w.n_committed, 2);
    ASSERT_EQ(w.len, 3);
    ASSERT_EQ(json_fp_count(&w, fp_of(BASE, 1), &total, &ts), 0);
    ASSERT_EQ(json_fp_count(&w, fp_of(cutoff - 1, 2), &total, &ts), 0);
    ASSERT_EQ(json_fp_count(&w, fp_of(cutoff, 3), &total, &ts), 1);
    ASSERT_EQ(json_fp_count(&w, fp_of(newest, 4), &total, &ts), 1);
    ASSERT_EQ(total, 2);
    ASSERT_EQ(ts, newest);

    /* Committing the old late line prunes it (it is older than the cutoff). */
    ASSERT_EQ(lc_pos_window_commit(&w, 5), 1);
    ASSERT_EQ(w.len, 2);
    ASSERT_EQ(w.committed_max_ts, newest);
    lc_pos_window_close(&w);
}

/* Entries inside the margin survive many later commits until the newest committed line
 * moves past them. */
TEST(prune_keeps_inside_margin)
{
    struct lc_pos_window w;
    uint64_t seq = 0;

    lc_pos_window_init(&w, MARGIN);
    /* 11 lines 5 ms apart: all within 50 ms of the newest. */
    for (int i = 0; i <= 10; i++) {
        lc_pos_window_take(&w, ++seq, BASE + i * 5 * MS, fp_of(BASE + i * 5 * MS, i));
        lc_pos_window_commit(&w, seq);
    }
    ASSERT_EQ(w.len, 11);
    /* One more 5 ms later pushes the first out. */
    lc_pos_window_take(&w, ++seq, BASE + 55 * MS, fp_of(BASE + 55 * MS, 11));
    ASSERT_EQ(lc_pos_window_commit(&w, seq), 1);
    ASSERT_EQ(w.len, 11);
    lc_pos_window_begin_replay(&w);
    ASSERT_EQ(lc_pos_window_seen(&w, BASE, fp_of(BASE, 0)), 0);
    for (int i = 1; i <= 11; i++) {
        ASSERT_EQ(lc_pos_window_seen(&w, BASE + i * 5 * MS, fp_of(BASE + i * 5 * MS, i)), 1);
    }
    lc_pos_window_close(&w);
}

/* since = newest taken (committed or not) minus the margin, never below 0. */
TEST(since)
{
    struct lc_pos_window w;

    lc_pos_window_init(&w, MARGIN);
    lc_pos_window_take(&w, 1, BASE + 1000 * MS, 11);
    ASSERT_EQ(lc_pos_window_has_position(&w), 1);
    ASSERT_EQ(lc_pos_window_since(&w), BASE + 1000 * MS - MARGIN);
    lc_pos_window_take(&w, 2, BASE + 10 * MS, 12); /* older: since does not go back */
    ASSERT_EQ(lc_pos_window_since(&w), BASE + 1000 * MS - MARGIN);
    lc_pos_window_take(&w, 3, BASE + 2000 * MS, 13); /* uncommitted lines count */
    ASSERT_EQ(lc_pos_window_since(&w), BASE + 2000 * MS - MARGIN);
    lc_pos_window_commit(&w, 3);
    ASSERT_EQ(lc_pos_window_since(&w), BASE + 2000 * MS - MARGIN);
    lc_pos_window_close(&w);

    lc_pos_window_init(&w, MARGIN);
    lc_pos_window_take(&w, 1, 30 * MS, 1);
    ASSERT_EQ(lc_pos_window_since(&w), 0);
    lc_pos_window_take(&w, 2, MARGIN, 2);
    ASSERT_EQ(lc_pos_window_since(&w), 0);
    lc_pos_window_take(&w, 3, MARGIN + 1, 3);
    ASSERT_EQ(lc_pos_window_since(&w), 1);
    lc_pos_window_close(&w);

    lc_pos_window_init(&w, MARGIN);
    lc_pos_window_take(&w, 1, 0, 1);
    ASSERT_EQ(lc_pos_window_has_position(&w), 1);
    ASSERT_EQ(lc_pos_window_since(&w), 0);
    lc_pos_window_close(&w);
}

/* A replay recognises each line taken at or after since exactly once: a fingerprint taken
 * twice (the same text twice in one nanosecond) is recognised twice, a third copy is new. */
TEST(replay_multiset)
{
    struct lc_pos_window w;
    int64_t t1 = BASE + 1 * MS, t2 = BASE + 2 * MS, t3 = BASE + 3 * MS;
    uint64_t a = fp_of(t1, 1), b = fp_of(t2, 2), c = fp_of(t3, 3), d = fp_of(t2, 4);

    lc_pos_window_init(&w, MARGIN);
    lc_pos_window_take(&w, 1, t1, a);
    lc_pos_window_take(&w, 2, t2, b);
    lc_pos_window_take(&w, 3, t1, a);
    lc_pos_window_take(&w, 4, t3, c);
    lc_pos_window_commit(&w, 2); /* committed or not makes no difference */
    lc_pos_window_begin_replay(&w);
    ASSERT_EQ(w.replay_left, 4);
    ASSERT_EQ(lc_pos_window_seen(&w, t3, c), 1);
    ASSERT_EQ(lc_pos_window_seen(&w, t1, a), 1);
    ASSERT_EQ(lc_pos_window_seen(&w, t2, d), 0); /* new line among the replayed ones */
    ASSERT_EQ(lc_pos_window_seen(&w, t2, b), 1);
    ASSERT_EQ(lc_pos_window_seen(&w, t1, a), 1);
    ASSERT_EQ(lc_pos_window_seen(&w, t1, a), 0);
    ASSERT_EQ(lc_pos_window_seen(&w, t3, c), 0);
    ASSERT_EQ(lc_pos_window_seen(&w, t2, b), 0);
    ASSERT_EQ(w.replay_left, 0);

    /* A second replay (another reconnect) starts over from the window. */
    lc_pos_window_begin_replay(&w);
    ASSERT_EQ(lc_pos_window_seen(&w, t1, a), 1);
    ASSERT_EQ(lc_pos_window_seen(&w, t1, a), 1);
    ASSERT_EQ(lc_pos_window_seen(&w, t1, a), 0);
    lc_pos_window_close(&w);
}

/* Many distinct fingerprints: each recognised once, in any order, and none invented. */
TEST(replay_many)
{
    struct lc_pos_window w;
    enum { N = 1000 };

    lc_pos_window_init(&w, MARGIN);
    for (int i = 0; i < N; i++) {
        lc_pos_window_take(&w, (uint64_t)i + 1, BASE + i * 10000, fp_of(BASE + i * 10000, i));
    }
    lc_pos_window_begin_replay(&w);
    for (int i = N - 1; i >= 0; i -= 2) {
        ASSERT_EQ(lc_pos_window_seen(&w, BASE + i * 10000, fp_of(BASE + i * 10000, i)), 1);
    }
    for (int i = 0; i < N; i += 2) {
        ASSERT_EQ(lc_pos_window_seen(&w, BASE + i * 10000, fp_of(BASE + i * 10000, i)), 1);
    }
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(lc_pos_window_seen(&w, BASE + i * 10000, fp_of(BASE + i * 10000, i)), 0);
        ASSERT_EQ(lc_pos_window_seen(&w, BASE + i * 10000, fp_of(BASE + i * 10000, i + N)), 0);
    }
    lc_pos_window_close(&w);
}

/* A line with a timestamp after the newest taken one was never taken, even if its
 * fingerprint collides; such a call consumes nothing. */
TEST(newer_than_taken_never_seen)
{
    struct lc_pos_window w;
    uint64_t a = fp_of(BASE, 1);

    lc_pos_window_init(&w, MARGIN);
    lc_pos_window_take(&w, 1, BASE, a);
    lc_pos_window_begin_replay(&w);
    ASSERT_EQ(lc_pos_window_seen(&w, BASE + 1, a), 0);
    ASSERT_EQ(lc_pos_window_seen(&w, BASE + 10 * MS, fp_of(BASE + 10 * MS, 2)), 0);
    ASSERT_EQ(w.replay_left, 1);
    ASSERT_EQ(lc_pos_window_seen(&w, BASE, a), 1);
    lc_pos_window_close(&w);
}

/* stdout and stderr are copied separately: a line taken later may carry an earlier
 * timestamp. It is still recognised, in whatever order Docker sends the lines again. */
TEST(inversions_recognised)
{
    struct lc_pos_window w;
    int64_t t1 = BASE + 10 * MS, t2 = BASE + 2 * MS, t3 = BASE + 12 * MS, t4 = BASE + 11 * MS;
    uint64_t f1 = fp_of(t1, 1), f2 = fp_of(t2, 2), f3 = fp_of(t3, 3), f4 = fp_of(t4, 4);

    lc_pos_window_init(&w, MARGIN);
    lc_pos_window_take(&w, 1, t1, f1);
    lc_pos_window_take(&w, 2, t2, f2); /* 8 ms inversion */
    lc_pos_window_take(&w, 3, t3, f3);
    lc_pos_window_take(&w, 4, t4, f4);
    ASSERT_EQ(lc_pos_window_since(&w), t3 - MARGIN);
    lc_pos_window_commit(&w, 4);
    ASSERT_EQ(w.len, 4);
    lc_pos_window_begin_replay(&w);
    /* Docker replays in timestamp order of each stream. */
    ASSERT_EQ(lc_pos_window_seen(&w, t2, f2), 1);
    ASSERT_EQ(lc_pos_window_seen(&w, t1, f1), 1);
    ASSERT_EQ(lc_pos_window_seen(&w, t4, f4), 1);
    ASSERT_EQ(lc_pos_window_seen(&w, t3, f3), 1);
    ASSERT_EQ(lc_pos_window_seen(&w, t2, f2), 0);
    lc_pos_window_close(&w);

    /* The same after a save and load. */
    {
        struct lc_pos_window a, b;
        json_t *j;
        lc_pos_window_init(&a, MARGIN);
        lc_pos_window_init(&b, MARGIN);
        lc_pos_window_take(&a, 1, t1, f1);
        lc_pos_window_take(&a, 2, t2, f2);
        lc_pos_window_commit(&a, 2);
        j = lc_pos_window_to_json(&a);
        ASSERT_EQ(lc_pos_window_from_json(&b, j), 0);
        json_decref(j);
        lc_pos_window_begin_replay(&b);
        ASSERT_EQ(lc_pos_window_seen(&b, t2, f2), 1);
        ASSERT_EQ(lc_pos_window_seen(&b, t1, f1), 1);
        ASSERT_EQ(lc_pos_window_seen(&b, t1, f1), 0);
        lc_pos_window_close(&a);
        lc_pos_window_close(&b);
    }
}

/* The ring wraps (pruning advances the head) and grows while wrapped, with uncommitted
 * entries across the wrap: take order, commits and replay must all survive. */
TEST(ring_wraps_and_grows)
{
    struct lc_pos_window w;
    uint64_t seq = 0;
    int64_t ts = BASE;

    lc_pos_window_init(&w, MARGIN);
    /* Lines 20 ms apart: at most 3 committed entries are kept, so the head runs round. */
    for (int i = 0; i < 150; i++) {
        seq++;
        lc_pos_window_take(&w, seq, ts, fp_of(ts, (int)seq));
        lc_pos_window_commit(&w, seq);
        ts += 20 * MS;
    }
    ASSERT_EQ(w.len, 3);
    ASSERT_TRUE(w.head != 0);
    /* 200 uncommitted lines 1 us apart: the ring grows while wrapped. */
    uint64_t first_unc = seq + 1;
    for (int i = 0; i < 200; i++) {
        seq++;
        lc_pos_window_take(&w, seq, ts, fp_of(ts, (int)seq));
        ts += 1000;
    }
    ASSERT_EQ(w.len, 203);
    ASSERT_EQ(w.n_committed, 3);
    /* Half of them acknowledged: commit stops exactly there, in take order. */
    ASSERT_EQ(lc_pos_window_commit(&w, first_unc + 99), 1);
    /* Newest committed is 3000.099 ms: of the three 20-ms lines, 2960 and 2980 are kept. */
    ASSERT_EQ(w.n_committed, 100 + 2);
    lc_pos_window_begin_replay(&w);
    for (uint64_t s = first_unc; s <= seq; s++) {
        int64_t t = BASE + 150 * 20 * MS + (int64_t)(s - first_unc) * 1000;
        ASSERT_EQ(lc_pos_window_seen(&w, t, fp_of(t, (int)s)), 1);
    }
    ASSERT_EQ(lc_pos_window_commit(&w, seq), 1);
    ASSERT_EQ(w.n_committed, w.len);
    lc_pos_window_close(&w);
}

/* The JSON holds exactly the committed entries within the margin. */
TEST(to_json_committed_only)
{
    struct lc_pos_window w;
    json_t *j, *fps;
    char hex[17];

    lc_pos_window_init(&w, MARGIN);
    lc_pos_window_take(&w, 1, BASE, 0x00000000000000abULL);
    lc_pos_window_take(&w, 2, BASE + 100 * MS, 0xfedcba9876543210ULL);
    lc_pos_window_take(&w, 3, BASE + 90 * MS, 0x0123456789abcdefULL);
    lc_pos_window_take(&w, 4, BASE + 200 * MS, 0x1111111111111111ULL);
    lc_pos_window_commit(&w, 3);
    j = lc_pos_window_to_json(&w);
    ASSERT_EQ(json_object_size(j), 2);
    ASSERT_TRUE(json_is_integer(json_object_get(j, "ts")));
    ASSERT_EQ(json_integer_value(json_object_get(j, "ts")), BASE + 100 * MS);
    fps = json_object_get(j, "fps");
    ASSERT_EQ(json_array_size(fps), 2);
    ASSERT_STR_EQ(json_string_value(json_array_get(fps, 0)), "fedcba9876543210");
    ASSERT_STR_EQ(json_string_value(json_array_get(fps, 1)), "0123456789abcdef");
    json_decref(j);

    lc_pos_window_commit(&w, 4);
    j = lc_pos_window_to_json(&w);
    fps = json_object_get(j, "fps");
    ASSERT_EQ(json_integer_value(json_object_get(j, "ts")), BASE + 200 * MS);
    ASSERT_EQ(json_array_size(fps), 1);
    snprintf(hex, sizeof(hex), "%016llx", 0x1111111111111111ULL);
    ASSERT_STR_EQ(json_string_value(json_array_get(fps, 0)), hex);
    json_decref(j);
    lc_pos_window_close(&w);
}

/* Builds a committed window with duplicates and inversions, and every line's ts and fp. */
#define RT_N 60
static void build_rt(struct lc_pos_window *w, int64_t *ts, uint64_t *fp)
{
    lc_pos_window_init(w, MARGIN);
    for (int i = 0; i < RT_N; i++) {
        ts[i] = BASE + i * 2 * MS - (i % 7 == 3 ? 5 * MS : 0);
        fp[i] = fp_of(ts[i], i);
        if (i % 10 == 9) { /* a repeated line */
            ts[i] = ts[i - 1];
            fp[i] = fp[i - 1];
        }
        lc_pos_window_take(w, (uint64_t)i + 1, ts[i], fp[i]);
    }
    lc_pos_window_commit(w, RT_N);
}

/* Saved, serialised, parsed and loaded, a window gives the same since and recognises the
 * same lines the same number of times. */
TEST(json_roundtrip)
{
    struct lc_pos_window a, b;
    int64_t ts[RT_N];
    uint64_t fp[RT_N];
    json_t *ja, *jb, *doc, *containers, *parsed;
    char *text;
    size_t len;

    build_rt(&a, ts, fp);
    ja = lc_pos_window_to_json(&a);
    doc = json_pack("{s:i,s:{s:O}}", "version", 1, "containers", ID, ja);
    text = lc_positions_dump(doc, &len);
    ASSERT_EQ(len, strlen(text));
    ASSERT_EQ(lc_positions_parse(text, len, &parsed), 0);
    ASSERT_TRUE(json_equal(parsed, doc));
    containers = json_object_get(parsed, "containers");

    lc_pos_window_init(&b, MARGIN);
    ASSERT_EQ(lc_pos_window_from_json(&b, json_object_get(containers, ID)), 0);
    ASSERT_EQ(lc_pos_window_has_position(&b), 1);
    ASSERT_EQ(lc_pos_window_since(&b), lc_pos_window_since(&a));
    jb = lc_pos_window_to_json(&b);
    ASSERT_TRUE(json_equal(ja, jb));

    lc_pos_window_begin_replay(&a);
    lc_pos_window_begin_replay(&b);
    ASSERT_EQ(a.replay_left, b.replay_left);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < RT_N; i++) {
            int in_a = lc_pos_window_seen(&a, ts[i], fp[i]);
            int in_b = lc_pos_window_seen(&b, ts[i], fp[i]);
            ASSERT_EQ(in_b, in_a);
            /* First pass: exactly the lines at or after since; second pass: none. */
            ASSERT_EQ(in_a, pass == 0 && ts[i] >= lc_pos_window_since(&a));
        }
    }
    ASSERT_EQ(lc_pos_window_seen(&b, ts[RT_N - 1], fp_of(ts[RT_N - 1], 999)), 0);

    free(text);
    json_decref(jb);
    json_decref(ja);
    json_decref(doc);
    json_decref(parsed);
    lc_pos_window_close(&a);
    lc_pos_window_close(&b);
}

/* After a load, new lines are taken and committed on top of the loaded ones. */
TEST(from_json_then_continue)
{
    struct lc_pos_window w;
    json_t *j = json_pack("{s:I,s:[s,s]}", "ts", (json_int_t)BASE, "fps", "00000000000000aa",
                          "00000000000000bb");

    lc_pos_window_init(&w, MARGIN);
    ASSERT_EQ(lc_pos_window_from_json(&w, j), 0);
    json_decref(j);
    ASSERT_EQ(lc_pos_window_since(&w), BASE - MARGIN);
    lc_pos_window_take(&w, 7, BASE + 10 * MS, 0xcc);
    ASSERT_EQ(lc_pos_window_commit(&w, 7), 1);
    ASSERT_EQ(w.len, 3);
    lc_pos_window_take(&w, 8, BASE + 60 * MS, 0xdd);
    ASSERT_EQ(lc_pos_window_commit(&w, 8), 1);
    ASSERT_EQ(w.len, 2); /* the loaded ones are now beyond the margin */
    lc_pos_window_begin_replay(&w);
    ASSERT_EQ(lc_pos_window_seen(&w, BASE, 0xaa), 0);
    ASSERT_EQ(lc_pos_window_seen(&w, BASE + 10 * MS, 0xcc), 1);
    ASSERT_EQ(lc_pos_window_seen(&w, BASE + 60 * MS, 0xdd), 1);
    lc_pos_window_close(&w);
}

/* Loads TEXT with from_json into a fresh window; returns its result and checks that a
 * failure leaves the window empty and usable. */
static int load_text(const char *text, int *empty_after)
{
    struct lc_pos_window w;
    json_error_t err;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &err);
    json_t *ok = json_pack("{s:I,s:[s]}", "ts", (json_int_t)BASE, "fps", "0123456789abcdef");
    int rc;

    if (j == NULL) {
        fprintf(stderr, "  test text does not parse: %s\n", text);
        abort();
    }
    lc_pos_window_init(&w, MARGIN);
    rc = lc_pos_window_from_json(&w, j);
    *empty_after = w.len == 0 && w.n_committed == 0 && !lc_pos_window_has_position(&w) &&
                   lc_pos_window_since(&w) == 0 && w.margin_ns == MARGIN;
    if (rc != 0 && (lc_pos_window_from_json(&w, ok) != 0 || w.len != 1)) {
        *empty_after = 0;
    }
    json_decref(ok);
    json_decref(j);
    lc_pos_window_close(&w);
    return rc;
}

TEST(from_json_malformed)
{
    static const char *const bad[] = {
        "null",
        "[]",
        "\"ts\"",
        "{}",
        "{\"ts\":1}",
        "{\"fps\":[]}",
        "{\"ts\":\"1\",\"fps\":[]}",
        "{\"ts\":1.5,\"fps\":[]}",
        "{\"ts\":null,\"fps\":[]}",
        "{\"ts\":-2,\"fps\":[]}",
        "{\"ts\":-9223372036854775808,\"fps\":[]}",
        "{\"ts\":1,\"fps\":{}}",
        "{\"ts\":1,\"fps\":\"0123456789abcdef\"}",
        "{\"ts\":1,\"fps\":[1]}",
        "{\"ts\":1,\"fps\":[\"\"]}",
        "{\"ts\":1,\"fps\":[\"abc\"]}",
        "{\"ts\":1,\"fps\":[\"0123456789abcde\"]}",
        "{\"ts\":1,\"fps\":[\"0123456789abcdef0\"]}",
        "{\"ts\":1,\"fps\":[\"0123456789abcdeg\"]}",
        /* Failures after good entries were loaded: nothing may leak or stay. */
        "{\"ts\":1,\"fps\":[\"0123456789abcdef\",null]}",
        "{\"ts\":1,\"fps\":[\"0123456789abcdef\",\"0123456789abcdef\",\"xyz\"]}",
    };
    int empty;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = load_text(bad[i], &empty);
        if (rc != -EINVAL || !empty) {
            fprintf(stderr, "  from_json(%s) = %d, empty after: %d\n", bad[i], rc, empty);
            ASSERT_EQ(rc, -EINVAL);
            ASSERT_TRUE(empty);
        }
    }
    /* Valid edge cases. */
    ASSERT_EQ(load_text("{\"ts\":-1,\"fps\":[]}", &empty), 0);
    ASSERT_EQ(load_text("{\"ts\":0,\"fps\":[\"0000000000000000\"]}", &empty), 0);
    ASSERT_EQ(load_text("{\"ts\":1,\"fps\":[\"FFFFFFFFFFFFFFFF\"],\"extra\":true}", &empty), 0);
}

/* A fingerprint is written as 16 hex digits; text that is not 16 hex digits is not a
 * fingerprint even when strtoull would read a number from it (sign, spaces, 0x). */
TEST(from_json_rejects_non_hex_fp_text)
{
    static const char *const bad[] = {
        "{\"ts\":1,\"fps\":[\"-000000000000001\"]}",
        "{\"ts\":1,\"fps\":[\"+00000000000000f\"]}",
        "{\"ts\":1,\"fps\":[\" 00000000000000f\"]}",
        "{\"ts\":1,\"fps\":[\"0x0000000000000f\"]}",
    };
    int empty, accepted = 0;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = load_text(bad[i], &empty);
        if (rc != -EINVAL) {
            fprintf(stderr, "  from_json(%s) = %d\n", bad[i], rc);
            accepted++;
        }
    }
    ASSERT_EQ(accepted, 0);
}

/* Parses TEXT as a store; the output pointer is left alone on failure. */
static int parse_store(const char *text)
{
    json_t *sentinel = (json_t *)&sentinel, *out = sentinel;
    int rc = lc_positions_parse(text, strlen(text), &out);
    if (rc == 0) {
        if (!json_is_object(out)) {
            abort();
        }
        json_decref(out);
    } else if (out != sentinel) {
        abort();
    }
    return rc;
}

TEST(store_parse)
{
    static const char *const bad[] = {
        "",
        "   ",
        "null",
        "1",
        "[]",
        "[{\"version\":1,\"containers\":{}}]",
        "\"version\"",
        "{}",
        "{\"version\":1}",
        "{\"containers\":{}}",
        "{\"version\":2,\"containers\":{}}",
        "{\"version\":0,\"containers\":{}}",
        "{\"version\":\"1\",\"containers\":{}}",
        "{\"version\":1.0,\"containers\":{}}",
        "{\"version\":true,\"containers\":{}}",
        "{\"version\":1,\"containers\":[]}",
        "{\"version\":1,\"containers\":null}",
        "{\"version\":1,\"containers\":{},\"version\":1}",
        "{\"version\":1,\"containers\":{}",
        "{\"version\":1,\"containers\":{}} trailing",
        "\xff\xfe{}",
    };
    const char *good = "{\"version\":1,\"containers\":{\"abc\":{\"ts\":5,\"fps\":[]}},\"x\":[]}";
    char padded[128];
    json_t *out = NULL;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse_store(bad[i]) != -EINVAL) {
            fprintf(stderr, "  accepted store: %s\n", bad[i]);
            ASSERT_EQ(parse_store(bad[i]), -EINVAL);
        }
    }
    ASSERT_EQ(parse_store("{\"version\":1,\"containers\":{}}"), 0);
    ASSERT_EQ(parse_store(good), 0);
    /* Only LEN bytes are read. */
    snprintf(padded, sizeof(padded), "%s{{{{", "{\"version\":1,\"containers\":{}}");
    ASSERT_EQ(lc_positions_parse(padded, strlen(padded) - 4, &out), 0);
    ASSERT_EQ(json_object_size(json_object_get(out, "containers")), 0);
    json_decref(out);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int write_text(const char *path, const char *text)
{
    return lc_write_file_atomic(path, text, strlen(text));
}

TEST(store_load_and_dump)
{
    char dir[] = "/tmp/lc_test_positions_XXXXXX";
    char path[64];
    json_t *doc = NULL, *again = NULL;
    char *text;
    size_t len;
    int rc_missing, rc_damaged, rc_version, rc_good;

    ASSERT_TRUE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/positions.json", dir);
    rc_missing = lc_positions_load(path, &doc);
    write_text(path, "{\"version\":1,\"containers\":{\"a");
    rc_damaged = lc_positions_load(path, &doc);
    write_text(path, "{\"version\":9,\"containers\":{}}");
    rc_version = lc_positions_load(path, &doc);
    write_text(path,
               "{\"version\":1,\"containers\":{\"a\":{\"ts\":12,\"fps\":[\"00000000000000ff\"]}}}");
    rc_good = lc_positions_load(path, &doc);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);

    ASSERT_EQ(rc_missing, -ENOENT);
    ASSERT_EQ(rc_damaged, -EINVAL);
    ASSERT_EQ(rc_version, -EINVAL);
    ASSERT_EQ(rc_good, 0);
    text = lc_positions_dump(doc, &len);
    ASSERT_STR_EQ(
        text, "{\"version\":1,\"containers\":{\"a\":{\"ts\":12,\"fps\":[\"00000000000000ff\"]}}}");
    ASSERT_EQ(len, strlen(text));
    ASSERT_EQ(lc_positions_parse(text, len, &again), 0);
    ASSERT_TRUE(json_equal(doc, again));
    free(text);
    json_decref(again);
    json_decref(doc);
}

/* Two million lines, each committed, with timestamps advancing 1 ms: the window keeps only
 * the last 50 ms (51 entries) and its buffer never grows past its first size. Then in
 * batches of 1000 lines 10 us apart, committed per batch: bounded by the margin plus one
 * batch. */
TEST(bounded_under_two_million_commits)
{
    struct lc_pos_window w;
    size_t max_len = 0;
    uint64_t seq = 0;
    int64_t ts = BASE;

    lc_pos_window_init(&w, MARGIN);
    for (int i = 0; i < 2000000; i++) {
        lc_pos_window_take(&w, ++seq, ts, (uint64_t)i * 0x9e3779b97f4a7c15ULL);
        if (w.len > max_len) {
            max_len = w.len;
        }
        ASSERT_EQ(lc_pos_window_commit(&w, seq), 1);
        ts += MS;
    }
    ASSERT_EQ(max_len, 52);
    ASSERT_EQ(w.len, 51);
    ASSERT_EQ(w.cap, 64);
    ASSERT_EQ(lc_pos_window_since(&w), ts - MS - MARGIN);
    lc_pos_window_begin_replay(&w);
    ASSERT_EQ(w.replay_left, 51);
    lc_pos_window_close(&w);

    lc_pos_window_init(&w, MARGIN);
    max_len = 0;
    for (int b = 0; b < 2000; b++) {
        for (int i = 0; i < 1000; i++) {
            seq++;
            lc_pos_window_take(&w, seq, ts, seq * 0x9e3779b97f4a7c15ULL);
            ts += 10000;
        }
        if (w.len > max_len) {
            max_len = w.len;
        }
        lc_pos_window_commit(&w, seq);
    }
    ASSERT_TRUE(max_len <= 5001 + 1000);
    ASSERT_TRUE(w.len <= 5001);
    ASSERT_TRUE(w.cap <= 8192);
    lc_pos_window_close(&w);
}

TEST_MAIN(TEST_ENTRY(fingerprint), TEST_ENTRY(empty_window), TEST_ENTRY(commit_only_acknowledged),
          TEST_ENTRY(prune_beyond_margin), TEST_ENTRY(prune_keeps_inside_margin), TEST_ENTRY(since),
          TEST_ENTRY(replay_multiset), TEST_ENTRY(replay_many),
          TEST_ENTRY(newer_than_taken_never_seen), TEST_ENTRY(inversions_recognised),
          TEST_ENTRY(ring_wraps_and_grows), TEST_ENTRY(to_json_committed_only),
          TEST_ENTRY(json_roundtrip), TEST_ENTRY(from_json_then_continue),
          TEST_ENTRY(from_json_malformed), TEST_ENTRY(from_json_rejects_non_hex_fp_text),
          TEST_ENTRY(store_parse), TEST_ENTRY(store_load_and_dump),
          TEST_ENTRY(bounded_under_two_million_commits))
