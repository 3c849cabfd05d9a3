/* test_positions: the per-container window (per-stream cuts, counts at one nanosecond,
 * since, replay after a reopen with stdout/stderr inversions, the floor, the hold of a
 * line not yet whole, the clock stepping back, JSON save and load) and the store file of
 * older versions (parse, load, dump). A randomised model checks that a replay recognises
 * exactly the lines taken (also across a save and load) whatever the interleaving, and
 * another one that no line is hidden or doubled when the clock steps back. */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inputs/docker/positions.h"
#include "base/util.h"
#include "test.h"

#define MS (1000LL * 1000)
#define MARGIN LC_DOCKER_POS_MARGIN_NS
/* 2026-11-22T12:24:43Z in nanoseconds: a realistic base for timestamps. */
#define BASE (1795350283LL * 1000 * MS)
#define OUT 1
/* A wall clock well after every line taken in these tests (no step back). */
#define NOW (BASE + 3600LL * 1000 * MS)
#define ERR 2

/* W's state as compact JSON with sorted keys, copied into BUF. */
static void json_text(const struct lc_docker_pos *w, char *buf, size_t cap)
{
    json_t *j = lc_docker_pos_to_json(w);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(buf, cap, "%s", s != NULL ? s : "(null)");
    free(s);
    json_decref(j);
}

/* Parses TEXT (any JSON value) and loads it into the empty window W. */
static int load_text(struct lc_docker_pos *w, const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &err);
    int rc;
    if (j == NULL) {
        fprintf(stderr, "  bad test JSON: %s\n", text);
        abort();
    }
    rc = lc_docker_pos_from_json(w, j);
    json_decref(j);
    return rc;
}

/* Saves W, serialises and parses the text, and loads it into a fresh window OUT. */
static int reload(const struct lc_docker_pos *w, struct lc_docker_pos *out)
{
    json_t *j = lc_docker_pos_to_json(w);
    char *s = json_dumps(j, JSON_COMPACT);
    int rc;
    json_decref(j);
    lc_docker_pos_init(out, w->margin_ns);
    rc = load_text(out, s);
    free(s);
    return rc;
}

/* Cuts compared field by field (a struct's padding is not compared). */
static int cut_eq(const struct lc_docker_pos_cut *a, const struct lc_docker_pos_cut *b)
{
    return a->ts == b->ts && a->count == b->count;
}

static int cuts_eq(const struct lc_docker_pos_cut *a, const struct lc_docker_pos_cut *b)
{
    for (int s = OUT; s <= ERR; s++) {
        if (!cut_eq(&a[s], &b[s])) {
            return 0;
        }
    }
    return 1;
}

static int cut_is(const struct lc_docker_pos_cut *c, int64_t ts, uint32_t count)
{
    if (c->ts != ts || c->count != count) {
        fprintf(stderr, "  cut [%lld,%u], expected [%lld,%u]\n", (long long)c->ts, c->count,
                (long long)ts, count);
        return 0;
    }
    return 1;
}

TEST(empty_window)
{
    struct lc_docker_pos w;
    char text[256];

    lc_docker_pos_init(&w, MARGIN);
    ASSERT_EQ(lc_docker_pos_has_position(&w), 0);
    ASSERT_EQ(lc_docker_pos_newest(&w), -1);
    ASSERT_EQ(lc_docker_pos_newest(&w), -1);
    ASSERT_EQ(lc_docker_pos_since(&w, NOW, 0), 0);
    lc_docker_pos_begin_replay(&w, NOW, 0);
    ASSERT_EQ(lc_docker_pos_seen(&w, 0, OUT), 0);
    ASSERT_EQ(lc_docker_pos_seen(&w, BASE, ERR), 0);
    json_text(&w, text, sizeof(text));
    ASSERT_STR_EQ(text, "{}");
    /* Lines of no known stream are ignored. */
    lc_docker_pos_take(&w, BASE, 0);
    lc_docker_pos_take(&w, BASE, 3);
    ASSERT_EQ(lc_docker_pos_has_position(&w), 0);
    lc_docker_pos_close(&w);
    /* A closed window is empty and reusable; closing twice is harmless. */
    lc_docker_pos_take(&w, BASE, OUT);
    ASSERT_EQ(lc_docker_pos_has_position(&w), 1);
    ASSERT_EQ(lc_docker_pos_since(&w, NOW, 0), BASE - MARGIN);
    lc_docker_pos_close(&w);
    ASSERT_EQ(lc_docker_pos_has_position(&w), 0);
    ASSERT_EQ(w.margin_ns, MARGIN);
    lc_docker_pos_close(&w);
}

/* Lines at one nanosecond are counted per stream; a newer line restarts the count. */
TEST(counts_at_one_nanosecond)
{
    struct lc_docker_pos w;

    lc_docker_pos_init(&w, MARGIN);
    for (uint64_t s = 1; s <= 3; s++) {
        lc_docker_pos_take(&w, BASE, OUT);
    }
    lc_docker_pos_take(&w, BASE, ERR);
    lc_docker_pos_take(&w, BASE, ERR);
    ASSERT_TRUE(cut_is(&w.cut[OUT], BASE, 3));
    ASSERT_TRUE(cut_is(&w.cut[ERR], BASE, 2));
    lc_docker_pos_take(&w, BASE + 1, OUT);
    ASSERT_TRUE(cut_is(&w.cut[OUT], BASE + 1, 1));
    ASSERT_TRUE(cut_is(&w.cut[ERR], BASE, 2));
    lc_docker_pos_close(&w);
}

/* since = the newest line taken on any stream minus the margin, never below 0, and 0 when
 * nothing was taken. */
TEST(since)
{
    struct lc_docker_pos w;

    lc_docker_pos_init(&w, MARGIN);
    ASSERT_EQ(lc_docker_pos_since(&w, NOW, 0), 0);
    lc_docker_pos_take(&w, BASE, OUT);
    ASSERT_EQ(lc_docker_pos_since(&w, NOW, 0), BASE - MARGIN);
    lc_docker_pos_take(&w, BASE + 7 * MS, ERR);
    ASSERT_EQ(lc_docker_pos_since(&w, NOW, 0), BASE + 7 * MS - MARGIN);
    lc_docker_pos_take(&w, BASE + 2 * MS, OUT); /* older than stderr's: no change */
    ASSERT_EQ(lc_docker_pos_since(&w, NOW, 0), BASE + 7 * MS - MARGIN);
    ASSERT_EQ(lc_docker_pos_newest(&w), BASE + 7 * MS);
    lc_docker_pos_close(&w);

    lc_docker_pos_init(&w, MARGIN);
    lc_docker_pos_take(&w, 0, ERR);
    ASSERT_EQ(lc_docker_pos_has_position(&w), 1);
    ASSERT_EQ(lc_docker_pos_since(&w, NOW, 0), 0);
    lc_docker_pos_take(&w, MARGIN - 1, OUT);
    ASSERT_EQ(lc_docker_pos_since(&w, NOW, 0), 0);
    lc_docker_pos_take(&w, MARGIN + 1, OUT);
    ASSERT_EQ(lc_docker_pos_since(&w, NOW, 0), 1);
    lc_docker_pos_close(&w);

    lc_docker_pos_init(&w, 0);
    lc_docker_pos_take(&w, BASE, OUT);
    ASSERT_EQ(lc_docker_pos_since(&w, NOW, 0), BASE);
    lc_docker_pos_close(&w);
}

/* Lines in file order: stdout at +10, +11; then stderr at +2, +3 landed late (older than
 * stdout's lines before them); then two stdout lines and one stderr line at one
 * nanosecond each. After the first TAKEN were taken, the stream broke. */
static const struct {
    int64_t ts;
    int stream;
} inversion_file[] = {
    {BASE + 10 * MS, OUT},
    {BASE + 11 * MS, OUT},
    {BASE + 2 * MS, ERR},
    {BASE + 3 * MS, ERR},
    {BASE + 12 * MS, OUT},
    {BASE + 12 * MS, OUT},
    {BASE + 3 * MS, ERR},
    /* Not taken before the break: */
    {BASE + 12 * MS, OUT},
    {BASE + 3 * MS, ERR},
    {BASE + 4 * MS, ERR},
    {BASE + 13 * MS, OUT},
    {BASE + 12 * MS, ERR},
};
#define INVERSION_TAKEN 7
#define INVERSION_LINES (sizeof(inversion_file) / sizeof(inversion_file[0]))

/* Replays inversion_file through W with stdout and stderr interleaved by the bits of MIX
 * (each stream keeps its order), taking the new lines. Returns the lines misjudged. */
static int replay_inversions(struct lc_docker_pos *w, unsigned mix)
{
    size_t next[LC_DOCKER_POS_STREAMS] = {0, 0, 0};
    int errors = 0;

    lc_docker_pos_begin_replay(w, NOW, 0);
    for (size_t done = 0; done < INVERSION_LINES; done++) {
        int s = (mix >> (done % 32)) & 1 ? OUT : ERR;
        size_t i;
        for (int tries = 0; tries < 2; tries++) {
            while (next[s] < INVERSION_LINES && inversion_file[next[s]].stream != s) {
                next[s]++;
            }
            if (next[s] < INVERSION_LINES) {
                break;
            }
            s = s == OUT ? ERR : OUT;
        }
        i = next[s]++;
        if (lc_docker_pos_seen(w, inversion_file[i].ts, s) != (i < INVERSION_TAKEN)) {
            fprintf(stderr, "  mix %x: line %zu (%s) misjudged\n", mix, i,
                    s == OUT ? "stdout" : "stderr");
            errors++;
        } else if (i >= INVERSION_TAKEN) {
            lc_docker_pos_take(w, inversion_file[i].ts, s);
        }
    }
    return errors;
}

/* A reopen replays what was taken in any interleaving: exactly those lines are
 * recognised; the rest, including stderr lines older than stdout's cut and lines at a
 * cut beyond its count, are new. The same after a save and load of the state,
 * and again when the stream breaks after the replay. */
TEST(replay_inversions)
{
    static const unsigned mixes[] = {0, ~0u, 0x55555555u, 0x0f0f0f0fu, 0x12345678u, 0xfedcba98u};
    struct lc_docker_pos w, loaded, again;
    int errors = 0;
    uint64_t seq;

    for (size_t m = 0; m < sizeof(mixes) / sizeof(mixes[0]); m++) {
        lc_docker_pos_init(&w, MARGIN);
        for (seq = 0; seq < INVERSION_TAKEN; seq++) {
            lc_docker_pos_take(&w, inversion_file[seq].ts, inversion_file[seq].stream);
        }
        ASSERT_TRUE(cut_is(&w.cut[OUT], BASE + 12 * MS, 2));
        ASSERT_TRUE(cut_is(&w.cut[ERR], BASE + 3 * MS, 2));
        ASSERT_EQ(lc_docker_pos_since(&w, NOW, 0), BASE + 12 * MS - MARGIN);
        ASSERT_EQ(reload(&w, &loaded), 0);

        errors += replay_inversions(&w, mixes[m]);
        errors += replay_inversions(&loaded, ~mixes[m]);
        /* After the replay each stream's cut covers the whole file. */
        ASSERT_TRUE(cut_is(&w.cut[OUT], BASE + 13 * MS, 1));
        ASSERT_TRUE(cut_is(&w.cut[ERR], BASE + 12 * MS, 1));
        ASSERT_TRUE(cuts_eq(w.cut, loaded.cut));
        /* A second break: everything is recognised now. */
        lc_docker_pos_begin_replay(&w, NOW, 0);
        for (size_t i = 0; i < INVERSION_LINES; i++) {
            errors += !lc_docker_pos_seen(&w, inversion_file[i].ts, inversion_file[i].stream);
        }
        ASSERT_EQ(lc_docker_pos_seen(&w, BASE + 13 * MS, OUT), 0);
        ASSERT_EQ(lc_docker_pos_seen(&w, BASE + 12 * MS, ERR), 0);
        ASSERT_EQ(lc_docker_pos_seen(&w, BASE + 5 * MS, ERR), 1);
        ASSERT_EQ(reload(&w, &again), 0);
        ASSERT_TRUE(cuts_eq(again.cut, w.cut));
        lc_docker_pos_close(&again);
        lc_docker_pos_close(&loaded);
        lc_docker_pos_close(&w);
    }
    ASSERT_EQ(errors, 0);
}

/* At a cut, the first COUNT lines are recognised and later ones are new; before it all
 * are recognised, after it none. begin_replay starts the count over. */
TEST(replay_count_at_cut)
{
    struct lc_docker_pos w;

    lc_docker_pos_init(&w, MARGIN);
    lc_docker_pos_take(&w, BASE - 5, OUT);
    lc_docker_pos_take(&w, BASE, OUT);
    lc_docker_pos_take(&w, BASE, OUT);
    for (int round = 0; round < 2; round++) {
        lc_docker_pos_begin_replay(&w, NOW, 0);
        ASSERT_EQ(lc_docker_pos_seen(&w, BASE - 5, OUT), 1);
        ASSERT_EQ(lc_docker_pos_seen(&w, BASE - 1, OUT), 1); /* below the cut */
        ASSERT_EQ(lc_docker_pos_seen(&w, BASE, OUT), 1);
        ASSERT_EQ(lc_docker_pos_seen(&w, BASE, OUT), 1);
        ASSERT_EQ(lc_docker_pos_seen(&w, BASE, OUT), 0);
        ASSERT_EQ(lc_docker_pos_seen(&w, BASE, OUT), 0);
        ASSERT_EQ(lc_docker_pos_seen(&w, BASE + 1, OUT), 0);
        /* Lines below the cut stay recognised after the count was used up. */
        ASSERT_EQ(lc_docker_pos_seen(&w, BASE - 1, OUT), 1);
    }
    /* Taking lines during a replay does not change what the replay recognises. */
    lc_docker_pos_begin_replay(&w, NOW, 0);
    lc_docker_pos_take(&w, BASE + 9, OUT);
    ASSERT_EQ(lc_docker_pos_seen(&w, BASE + 9, OUT), 0);
    ASSERT_EQ(lc_docker_pos_seen(&w, BASE, OUT), 1);
    lc_docker_pos_close(&w);
}

/* A stream never taken recognises nothing, whatever the other stream took; so does a
 * stream number out of range. */
TEST(replay_stream_never_taken)
{
    struct lc_docker_pos w;

    lc_docker_pos_init(&w, MARGIN);
    for (uint64_t s = 1; s <= 100; s++) {
        lc_docker_pos_take(&w, BASE + (int64_t)s * MS, OUT);
    }
    lc_docker_pos_begin_replay(&w, NOW, 0);
    ASSERT_EQ(lc_docker_pos_seen(&w, 0, ERR), 0);
    ASSERT_EQ(lc_docker_pos_seen(&w, BASE, ERR), 0);
    ASSERT_EQ(lc_docker_pos_seen(&w, BASE + 50 * MS, ERR), 0);
    ASSERT_EQ(lc_docker_pos_seen(&w, BASE + 50 * MS, 0), 0);
    ASSERT_EQ(lc_docker_pos_seen(&w, BASE + 50 * MS, 3), 0);
    ASSERT_EQ(lc_docker_pos_seen(&w, BASE + 50 * MS, OUT), 1);
    lc_docker_pos_close(&w);
}

/* ---- a randomised model of the log file ----------------------------------------------- */

#define MODEL_MAX 256

struct fline {
    int64_t ts, key; /* key: when dockerd wrote it (at most 8 ms after ts) */
    int stream;
};

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* One stream's next timestamp gap: often none (one nanosecond), else up to 5 ms. */
static int64_t gap(uint64_t *rng)
{
    static const int64_t spans[] = {1, 1, 1000, MS, 5 * MS};
    uint64_t r = rnd(rng);
    return r % 3 == 0 ? 0 : (int64_t)(r >> 8) % spans[(r >> 2) % 5];
}

/* Fills FILE with N lines the way json-file gets them from dockerd's two copiers: each
 * stream's timestamps never decrease, and lines land in the file in the order they were
 * written, up to 8 ms after their timestamps, so stderr can land after newer stdout. */
static void make_file(uint64_t *rng, struct fline *file, size_t n)
{
    struct fline next[LC_DOCKER_POS_STREAMS];
    for (int s = OUT; s <= ERR; s++) {
        next[s].ts = BASE + gap(rng);
        next[s].key = next[s].ts + (int64_t)(rnd(rng) % (8 * MS));
        next[s].stream = s;
    }
    for (size_t i = 0; i < n; i++) {
        int s = next[OUT].key < next[ERR].key || (next[OUT].key == next[ERR].key && rnd(rng) & 1)
                    ? OUT
                    : ERR;
        int64_t key;
        file[i] = next[s];
        next[s].ts += gap(rng);
        key = next[s].ts + (int64_t)(rnd(rng) % (8 * MS));
        next[s].key = key > next[s].key ? key : next[s].key;
    }
}

/* Reopens W at its `since`: replays the lines of FILE from there in a random interleaving
 * that keeps each stream's order, taking the new ones. The first TAKEN lines of the file
 * must be recognised and no other; no line after them may fall before `since`. Returns
 * the lines misjudged or lost. */
static int model_replay(struct lc_docker_pos *w, const struct fline *file, size_t n, size_t taken,
                        uint64_t *rng)
{
    static size_t idx[LC_DOCKER_POS_STREAMS][MODEL_MAX];
    size_t len[LC_DOCKER_POS_STREAMS] = {0}, pos[LC_DOCKER_POS_STREAMS] = {0};
    int64_t since = lc_docker_pos_since(w, NOW, 0);
    int errors = 0;

    lc_docker_pos_begin_replay(w, NOW, 0);
    for (size_t i = 0; i < n; i++) {
        if (file[i].ts >= since) {
            idx[file[i].stream][len[file[i].stream]++] = i;
        } else if (i >= taken) {
            errors++; /* a resume would never get it back */
        }
    }
    while (pos[OUT] < len[OUT] || pos[ERR] < len[ERR]) {
        int s = pos[OUT] == len[OUT] ? ERR : pos[ERR] == len[ERR] ? OUT : 1 + (int)(rnd(rng) & 1);
        size_t i = idx[s][pos[s]++];
        int seen = lc_docker_pos_seen(w, file[i].ts, s);
        if (seen != (i < taken)) {
            errors++;
        } else if (!seen) {
            lc_docker_pos_take(w, file[i].ts, s);
        }
    }
    return errors;
}

/* The cut of STREAM over the whole of FILE. */
static struct lc_docker_pos_cut model_cut(const struct fline *file, size_t n, int stream)
{
    struct lc_docker_pos_cut c = {-1, 0, -1};
    for (size_t i = 0; i < n; i++) {
        if (file[i].stream == stream) {
            c.count = file[i].ts == c.ts ? c.count + 1 : 1;
            c.ts = file[i].ts;
        }
    }
    return c;
}

/* Thousands of files: a prefix is taken; a reopen recognises exactly the taken prefix, so
 * does a restart from the saved state, and
 * both end with each stream's cut at its last line. */
TEST(replay_model)
{
    static struct fline file[MODEL_MAX];
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    int errors = 0, cuts_wrong = 0;

    for (int iter = 0; iter < 3000; iter++) {
        struct lc_docker_pos w, loaded;
        size_t n = 1 + rnd(&rng) % MODEL_MAX, taken = rnd(&rng) % (n + 1);

        make_file(&rng, file, n);
        lc_docker_pos_init(&w, MARGIN);
        for (size_t i = 0; i < taken; i++) {
            lc_docker_pos_take(&w, file[i].ts, file[i].stream);
        }
        ASSERT_EQ(reload(&w, &loaded), 0);
        errors += model_replay(&w, file, n, taken, &rng);
        errors += model_replay(&loaded, file, n, taken, &rng);
        for (int s = OUT; s <= ERR; s++) {
            struct lc_docker_pos_cut c = model_cut(file, n, s);
            cuts_wrong += !cut_eq(&w.cut[s], &c);
            cuts_wrong += !cut_eq(&loaded.cut[s], &c);
        }
        lc_docker_pos_close(&loaded);
        lc_docker_pos_close(&w);
    }
    ASSERT_EQ(errors, 0);
    ASSERT_EQ(cuts_wrong, 0);
}

/* ---- floor ---------------------------------------------------------------------------- */

/* A capture that began with tail=N: in a replay, lines below the floor on a stream that
 * took nothing yet are not taken; outside a replay (the tail request itself) they are. */
TEST(floor)
{
    struct lc_docker_pos w, loaded;
    char text[256], expect[256];

    lc_docker_pos_init(&w, MARGIN);
    lc_docker_pos_set_floor(&w, BASE);
    ASSERT_EQ(lc_docker_pos_has_position(&w), 0); /* a floor is not a position */
    json_text(&w, text, sizeof(text));
    snprintf(expect, sizeof(expect), "{\"floor\":%lld}", BASE);
    ASSERT_STR_EQ(text, expect);

    /* Saved while a resume from the margin could still reach below it. */
    lc_docker_pos_take(&w, BASE + MARGIN - 1, OUT);
    json_text(&w, text, sizeof(text));
    snprintf(expect, sizeof(expect), "{\"floor\":%lld,\"stdout\":[%lld,1]}", BASE,
             BASE + MARGIN - 1);
    ASSERT_STR_EQ(text, expect);
    ASSERT_EQ(reload(&w, &loaded), 0);
    ASSERT_EQ(lc_docker_pos_since(&loaded, NOW, 0), BASE - 1);
    lc_docker_pos_begin_replay(&loaded, NOW, 0);
    ASSERT_EQ(lc_docker_pos_seen(&loaded, BASE - 1, ERR), 1);
    ASSERT_EQ(lc_docker_pos_seen(&loaded, BASE, ERR), 0);
    ASSERT_EQ(lc_docker_pos_seen(&loaded, BASE - 1, OUT), 1);
    lc_docker_pos_close(&loaded);

    /* Once a resume starts at or above it, it is left out. */
    lc_docker_pos_take(&w, BASE + MARGIN, ERR);
    ASSERT_EQ(lc_docker_pos_since(&w, NOW, 0), BASE);
    json_text(&w, text, sizeof(text));
    ASSERT_TRUE(strstr(text, "floor") == NULL);
    lc_docker_pos_close(&w);

    /* A floor alone loads, and gives no position. */
    lc_docker_pos_init(&w, MARGIN);
    ASSERT_EQ(load_text(&w, "{\"floor\":12345}"), 0);
    ASSERT_EQ(lc_docker_pos_has_position(&w), 0);
    ASSERT_EQ(w.floor_ns, 12345);
    lc_docker_pos_close(&w);
}

/* ---- a line not yet whole --------------------------------------------------------------- */

/* While a stdout line over 16 KiB is being joined (its pieces all carry T1), stderr lines
 * far newer are taken; a reopen must still start at T1, and the stdout line is new in the
 * replay. The hold is saved and loaded with the position. */
TEST(hold_of_a_line_not_yet_whole)
{
    struct lc_docker_pos w, loaded;
    const int64_t t1 = BASE + 10 * MS;

    lc_docker_pos_init(&w, MARGIN);
    lc_docker_pos_take(&w, BASE, OUT);
    ASSERT_EQ(lc_docker_pos_set_hold(&w, t1), 1);
    ASSERT_EQ(lc_docker_pos_set_hold(&w, t1), 0);
    for (int i = 1; i <= 100; i++) {
        lc_docker_pos_take(&w, t1 + i * 10 * MS, ERR);
    }
    ASSERT_EQ(lc_docker_pos_since(&w, NOW, 0), t1);
    ASSERT_EQ(reload(&w, &loaded), 0);
    ASSERT_EQ(lc_docker_pos_since(&loaded, NOW, 0), t1);
    lc_docker_pos_begin_replay(&loaded, NOW, 0);
    ASSERT_EQ(lc_docker_pos_seen(&loaded, t1, OUT), 0); /* the joined line: new */
    ASSERT_EQ(lc_docker_pos_seen(&loaded, t1 + 10 * MS, ERR), 1);
    lc_docker_pos_close(&loaded);
    /* Once whole and taken, the hold goes and the resume point moves on. */
    lc_docker_pos_take(&w, t1, OUT);
    ASSERT_EQ(lc_docker_pos_set_hold(&w, -1), 1);
    ASSERT_EQ(lc_docker_pos_since(&w, NOW, 0), t1 + 1000 * MS - MARGIN);
    ASSERT_EQ(reload(&w, &loaded), 0);
    ASSERT_EQ(loaded.hold_ns, -1);
    lc_docker_pos_close(&loaded);
    lc_docker_pos_close(&w);
}

/* ---- the clock stepping back ------------------------------------------------------------ */

/* The clock steps back by 5 s after stdout and stderr lines were taken; stdout then takes
 * two lines stamped before its cut. A reopen asks from no later than what the clock read at
 * the last take, and the replay (by the file's order) drops exactly what was taken, though
 * old lines are newer than new ones. */
TEST(clock_stepped_back_in_process)
{
    struct lc_docker_pos w;
    const int64_t step = 5000 * MS, boot0 = 1000 * MS;
    /* File order: old lines, then after the step new ones stamped 5 s earlier. */
    static const struct {
        int64_t ts;
        int stream;
        int taken;
    } file[] = {
        {BASE + 100 * MS, OUT, 1},
        {BASE + 101 * MS, ERR, 1},
        {BASE + 102 * MS, OUT, 1},
        {BASE + 103 * MS - 5000 * MS, OUT, 1}, /* after the step */
        {BASE + 104 * MS - 5000 * MS, OUT, 1},
        {BASE + 105 * MS - 5000 * MS, ERR, 0},
        {BASE + 106 * MS - 5000 * MS, OUT, 0},
        {BASE + 102 * MS - 5000 * MS, ERR, 0}, /* older than anything: still new */
    };
    const size_t n = sizeof(file) / sizeof(file[0]);
    int64_t since, wall, boot;
    int wrong = 0;

    lc_docker_pos_init(&w, MARGIN);
    for (size_t i = 0; i < n && file[i].taken; i++) {
        lc_docker_pos_take(&w, file[i].ts, file[i].stream);
    }
    /* The last take happened at boot0, when the (stepped) clock read BASE + 104 ms - 5 s. */
    lc_docker_pos_set_at(&w, boot0);
    ASSERT_EQ(lc_docker_pos_newest(&w), BASE + 101 * MS); /* stderr's: before the step */
    ASSERT_EQ(lc_docker_pos_last(&w), BASE + 104 * MS - step);
    boot = boot0 + 20 * MS;
    wall = BASE + 124 * MS - step;
    since = lc_docker_pos_since(&w, wall, boot);
    ASSERT_TRUE(since <= BASE + 102 * MS - step);
    ASSERT_TRUE(since <= BASE + 100 * MS); /* every stream's cut line is met */
    lc_docker_pos_begin_replay(&w, wall, boot);
    for (size_t i = 0; i < n; i++) {
        if (file[i].ts < since) {
            wrong += !file[i].taken; /* hidden */
            continue;
        }
        if (lc_docker_pos_seen(&w, file[i].ts, file[i].stream) != file[i].taken) {
            fprintf(stderr, "  line %zu misjudged\n", i);
            wrong++;
        }
    }
    ASSERT_EQ(wrong, 0);
    lc_docker_pos_close(&w);
}

/* Saved before a step back and loaded after a restart on another boot (the boot-time of the
 * last take means nothing): the position is ahead of the present, so the resume reads from
 * the start and drops by order what was taken. */
TEST(clock_stepped_back_ahead_after_restart)
{
    struct lc_docker_pos w, loaded;
    const int64_t wall = BASE - 2000 * MS; /* the clock now reads 2 s before the cut */

    lc_docker_pos_init(&w, MARGIN);
    lc_docker_pos_take(&w, BASE - 10 * MS, ERR);
    lc_docker_pos_take(&w, BASE, OUT);
    lc_docker_pos_take(&w, BASE, OUT);
    lc_docker_pos_set_at(&w, 777 * MS);
    ASSERT_EQ(reload(&w, &loaded), 0);
    ASSERT_EQ(loaded.at_ns, 777 * MS);
    lc_docker_pos_set_at(&loaded, 0); /* what the input does for a position of another boot */
    ASSERT_EQ(lc_docker_pos_since(&loaded, wall, 5 * MS), 0);
    /* Without the step, the same position resumes as usual. */
    ASSERT_EQ(lc_docker_pos_since(&loaded, NOW, 5 * MS), BASE - MARGIN);
    lc_docker_pos_begin_replay(&loaded, wall, 5 * MS);
    ASSERT_EQ(lc_docker_pos_seen(&loaded, BASE - 30 * MS, OUT), 1);
    ASSERT_EQ(lc_docker_pos_seen(&loaded, BASE - 10 * MS, ERR), 1);
    ASSERT_EQ(lc_docker_pos_seen(&loaded, BASE, OUT), 1);
    ASSERT_EQ(lc_docker_pos_seen(&loaded, BASE, OUT), 1);
    /* After the cut line, by order: new whatever the time. */
    ASSERT_EQ(lc_docker_pos_seen(&loaded, wall - 10 * MS, OUT), 0);
    ASSERT_EQ(lc_docker_pos_seen(&loaded, wall - 9 * MS, ERR), 0);
    ASSERT_EQ(lc_docker_pos_seen(&loaded, BASE, OUT), 0);
    lc_docker_pos_close(&loaded);
    lc_docker_pos_close(&w);
}

/* Replayed by order, a stream whose cut line is gone from Docker's log (rotated away) stops
 * dropping at the first line newer than anything it ever took. */
TEST(by_order_cut_line_gone)
{
    struct lc_docker_pos w;

    lc_docker_pos_init(&w, MARGIN);
    lc_docker_pos_take(&w, BASE, OUT);
    lc_docker_pos_take(&w, BASE - 100 * MS, OUT); /* stepped back */
    lc_docker_pos_begin_replay(&w, NOW, 0);
    ASSERT_EQ(lc_docker_pos_seen(&w, BASE - 10 * MS, OUT), 1); /* old, before the cut line */
    ASSERT_EQ(lc_docker_pos_seen(&w, BASE + 1, OUT), 0);       /* newer than max: new */
    ASSERT_EQ(lc_docker_pos_seen(&w, BASE - 50 * MS, OUT), 0); /* and so is all after it */
    lc_docker_pos_close(&w);
}

/* A line of the model: its time stamp, when it landed in the file (real, boot-clock time,
 * which orders the file) and its stream. */
struct sline {
    int64_t ts, real;
    int stream;
};

static int by_real(const void *a, const void *b)
{
    const struct sline *x = a, *y = b;
    return x->real < y->real ? -1 : x->real > y->real;
}

/* Real times are boot-clock times from BOOT0; the wall clock reads real + BASE - BOOT0,
 * minus STEP once real passes STEP_AT. */
#define BOOT0 (1000LL * MS)
static int64_t wall_at(int64_t real, int64_t step_at, int64_t step)
{
    return real + BASE - BOOT0 - (real >= step_at ? step : 0);
}

/* Thousands of files whose clock steps back once (0 to 10 s, at a random moment, before or
 * after the last take): a prefix is taken, then the stream breaks and is reopened at
 * `since`, in-process and after a save and load on the same boot. No line after the
 * prefix may fall before `since`, the replay must recognise exactly the prefix. */
TEST(step_model)
{
    static struct sline file[MODEL_MAX];
    static const int64_t steps[] = {0, 10 * MS + 7, 60 * MS + 123457, 1000 * MS + 3,
                                    10000 * MS + 11};
    uint64_t rng = 0x2545f4914f6cdd1dULL;
    int errors = 0;

    for (int iter = 0; iter < 3000; iter++) {
        size_t n = 1 + rnd(&rng) % MODEL_MAX, taken = rnd(&rng) % (n + 1);
        int64_t step = steps[rnd(&rng) % 5], real = BOOT0, last_real[LC_DOCKER_POS_STREAMS] = {0};
        int64_t step_at, at, now;
        struct lc_docker_pos w, loaded;
        for (size_t i = 0; i < n; i++) {
            int s = rnd(&rng) & 1 ? OUT : ERR;
            int64_t landed;
            real += gap(&rng) + 1;
            landed = real + (int64_t)(rnd(&rng) % (8 * MS));
            landed = landed > last_real[s] ? landed : last_real[s] + 1;
            last_real[s] = landed;
            file[i] = (struct sline){.ts = real, .real = landed, .stream = s};
        }
        qsort(file, n, sizeof(file[0]), by_real);
        now = file[n - 1].real + (int64_t)(rnd(&rng) % (100 * MS));
        step_at = BOOT0 + (int64_t)(rnd(&rng) % (uint64_t)(now - BOOT0 + 1));
        for (size_t i = 0; i < n; i++) {
            file[i].ts = wall_at(file[i].ts, step_at, step);
        }
        at = taken > 0 ? file[taken - 1].real + (int64_t)(rnd(&rng) % (2 * MS)) : 0;
        now = now > at ? now : at;
        lc_docker_pos_init(&w, MARGIN);
        for (size_t i = 0; i < taken; i++) {
            lc_docker_pos_take(&w, file[i].ts, file[i].stream);
        }
        lc_docker_pos_set_at(&w, at);
        ASSERT_EQ(reload(&w, &loaded), 0);
        for (int k = 0; k < 2; k++) {
            struct lc_docker_pos *x = k == 0 ? &w : &loaded;
            int64_t wall = wall_at(now, step_at, step);
            int64_t since = lc_docker_pos_has_position(x) ? lc_docker_pos_since(x, wall, now) : 0;
            lc_docker_pos_begin_replay(x, wall, now);
            for (size_t i = 0; i < n; i++) {
                if (file[i].ts < since) {
                    errors += i >= taken; /* hidden from the resume */
                } else if (lc_docker_pos_seen(x, file[i].ts, file[i].stream) != (i < taken)) {
                    errors++;
                }
            }
        }
        lc_docker_pos_close(&loaded);
        lc_docker_pos_close(&w);
    }
    ASSERT_EQ(errors, 0);
}

/* ---- JSON ----------------------------------------------------------------------------- */

/* What is saved: each stream's cut (with its max when the clock stepped back), the hold,
 * the boot-time of the last take; a stream never taken is left out. */
TEST(json_shape)
{
    struct lc_docker_pos w;
    char text[256], expect[256];

    lc_docker_pos_init(&w, MARGIN);
    json_text(&w, text, sizeof(text));
    ASSERT_STR_EQ(text, "{}");
    lc_docker_pos_set_at(&w, 42); /* no position: nothing to save */
    json_text(&w, text, sizeof(text));
    ASSERT_STR_EQ(text, "{}");
    lc_docker_pos_take(&w, BASE, OUT);
    lc_docker_pos_take(&w, BASE, OUT);
    json_text(&w, text, sizeof(text));
    snprintf(expect, sizeof(expect), "{\"at\":42,\"stdout\":[%lld,2]}", BASE);
    ASSERT_STR_EQ(text, expect);
    lc_docker_pos_take(&w, BASE - 3 * MS, OUT);
    lc_docker_pos_take(&w, BASE + 5, ERR);
    lc_docker_pos_set_hold(&w, BASE + 1);
    json_text(&w, text, sizeof(text));
    snprintf(expect, sizeof(expect),
             "{\"at\":42,\"hold\":%lld,\"stderr\":[%lld,1],\"stdout\":[%lld,1,%lld]}", BASE + 1,
             BASE + 5, BASE - 3 * MS, BASE);
    ASSERT_STR_EQ(text, expect);
    lc_docker_pos_close(&w);
}

/* Saved, serialised, parsed and loaded, a window gives the same since, newest and replay
 * behaviour, and saves to the same JSON. */
TEST(json_roundtrip)
{
    static const struct {
        int64_t ts;
        int stream;
    } probes[] = {{BASE + 7 * MS, OUT},  {BASE + 3 * MS, ERR},  {BASE + 9 * MS, OUT},
                  {BASE + 9 * MS, OUT},  {BASE + 9 * MS, OUT},  {BASE + 4 * MS, ERR},
                  {BASE + 4 * MS, ERR},  {BASE + 10 * MS, OUT}, {BASE + 5 * MS, ERR},
                  {BASE - 60 * MS, ERR}, {BASE + 9 * MS, OUT}};
    struct lc_docker_pos w, loaded;
    json_t *a, *b;

    lc_docker_pos_init(&w, MARGIN);
    lc_docker_pos_take(&w, BASE + 8 * MS, OUT);
    lc_docker_pos_take(&w, BASE + 9 * MS, OUT);
    lc_docker_pos_take(&w, BASE + 9 * MS, OUT);
    lc_docker_pos_take(&w, BASE + 4 * MS, ERR);
    lc_docker_pos_set_floor(&w, BASE - 30 * MS);
    ASSERT_EQ(reload(&w, &loaded), 0);
    ASSERT_EQ(lc_docker_pos_has_position(&loaded), 1);
    ASSERT_EQ(lc_docker_pos_since(&loaded, NOW, 0), lc_docker_pos_since(&w, NOW, 0));
    ASSERT_EQ(lc_docker_pos_newest(&loaded), lc_docker_pos_newest(&w));
    ASSERT_EQ(lc_docker_pos_newest(&loaded), lc_docker_pos_newest(&w));
    ASSERT_TRUE(cuts_eq(loaded.cut, w.cut));
    ASSERT_TRUE(cuts_eq(loaded.cut, w.cut));
    ASSERT_EQ(loaded.floor_ns, BASE - 30 * MS);
    lc_docker_pos_begin_replay(&w, NOW, 0);
    lc_docker_pos_begin_replay(&loaded, NOW, 0);
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        int a_seen = lc_docker_pos_seen(&w, probes[i].ts, probes[i].stream);
        ASSERT_EQ(lc_docker_pos_seen(&loaded, probes[i].ts, probes[i].stream), a_seen);
    }
    a = lc_docker_pos_to_json(&w);
    b = lc_docker_pos_to_json(&loaded);
    ASSERT_TRUE(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    lc_docker_pos_close(&loaded);
    lc_docker_pos_close(&w);
}

/* Each malformed object is rejected with -EINVAL and leaves the window empty. */
TEST(from_json_malformed)
{
    static const char *const bad[] = {
        "null", "1", "\"stdout\"", "true", "[]", "[[5,1]]", "{\"stdout\":null}", "{\"stdout\":5}",
        "{\"stdout\":\"5,1\"}", "{\"stdout\":{\"ts\":5,\"count\":1}}", "{\"stdout\":[]}",
        "{\"stdout\":[5]}", "{\"stdout\":[5,1,1]}", "{\"stdout\":[5.0,1]}", "{\"stdout\":[5,1.0]}",
        "{\"stdout\":[\"5\",1]}", "{\"stdout\":[5,\"1\"]}", "{\"stdout\":[null,1]}",
        "{\"stdout\":[5,true]}", "{\"stdout\":[-1,1]}", "{\"stdout\":[-9223372036854775808,1]}",
        "{\"stdout\":[5,0]}", "{\"stdout\":[5,-1]}", "{\"stdout\":[5,4294967296]}",
        "{\"stderr\":[5,0]}", "{\"stderr\":[[5,1]]}",
        /* A good stream first, then a bad one: nothing may stay. */
        "{\"stdout\":[5,1],\"stderr\":[-3,1]}", "{\"stdout\":[5,1],\"stderr\":[3]}",
        "{\"stdout\":[5,1],\"stderr\":[3,1],\"floor\":1.5}", "{\"stdout\":[5,1],\"floor\":\"7\"}",
        "{\"stdout\":[5,1],\"floor\":null}", "{\"stdout\":[5,1],\"floor\":true}",
        "{\"stdout\":[5,1],\"floor\":[7]}"};
    static const char *const good[] = {"{}", "{\"stdout\":[0,1]}",
                                       "{\"stderr\":[9223372036854775807,4294967295]}",
                                       "{\"stdout\":[5,1],\"stderr\":[3,2],\"floor\":4}",
                                       "{\"stdout\":[5,1],\"unknown\":[\"x\"]}"};
    int wrong = 0;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct lc_docker_pos w;
        char text[64];
        int rc;
        lc_docker_pos_init(&w, MARGIN);
        rc = load_text(&w, bad[i]);
        json_text(&w, text, sizeof(text));
        if (rc != -EINVAL || lc_docker_pos_has_position(&w) || w.floor_ns != 0 ||
            lc_docker_pos_since(&w, NOW, 0) != 0 || strcmp(text, "{}") != 0) {
            fprintf(stderr, "  from_json(%s) = %d, window %s\n", bad[i], rc, text);
            wrong++;
        }
        lc_docker_pos_close(&w);
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct lc_docker_pos w;
        int rc;
        lc_docker_pos_init(&w, MARGIN);
        rc = load_text(&w, good[i]);
        if (rc != 0) {
            fprintf(stderr, "  from_json(%s) = %d\n", good[i], rc);
            wrong++;
        }
        lc_docker_pos_close(&w);
    }
    ASSERT_EQ(wrong, 0);
}

/* A position loaded with the largest count, then one more line at that nanosecond: the
 * state saved must still load (a wrapped count of 0 is rejected as malformed, so the
 * container would lose its position and be read again from the start). */
TEST(count_at_limit_stays_loadable)
{
    struct lc_docker_pos w, loaded;
    struct lc_docker_pos_cut cut;
    int rc_load, rc_reload;

    lc_docker_pos_init(&w, MARGIN);
    rc_load = load_text(&w, "{\"stdout\":[1000,4294967295]}");
    lc_docker_pos_take(&w, 1000, OUT);
    rc_reload = reload(&w, &loaded);
    cut = loaded.cut[OUT];
    lc_docker_pos_close(&loaded);
    lc_docker_pos_close(&w);
    ASSERT_EQ(rc_load, 0);
    ASSERT_EQ(rc_reload, 0);
    ASSERT_EQ(cut.ts, 1000);
    ASSERT_TRUE(cut.count >= 1);
}

/* ---- the store file ------------------------------------------------------------------- */

/* Parses TEXT as a store; the output pointer is left alone on failure. */
static int parse_store(const char *text)
{
    json_t *sentinel = (json_t *)&sentinel, *out = sentinel;
    int rc = lc_docker_positions_parse(text, strlen(text), &out);
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
    static const char *const bad[] = {"",
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
                                      "\xff\xfe{}"};
    const char *good = "{\"version\":1,\"containers\":{\"abc\":{\"stdout\":[5,1]}},\"x\":[]}";
    char padded[128];
    json_t *out = NULL;
    int wrong = 0;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse_store(bad[i]) != -EINVAL) {
            fprintf(stderr, "  accepted store: %s\n", bad[i]);
            wrong++;
        }
    }
    ASSERT_EQ(wrong, 0);
    ASSERT_EQ(parse_store("{\"version\":1,\"containers\":{}}"), 0);
    ASSERT_EQ(parse_store(good), 0);
    /* Only LEN bytes are read. */
    snprintf(padded, sizeof(padded), "%s{{{{", "{\"version\":1,\"containers\":{}}");
    ASSERT_EQ(lc_docker_positions_parse(padded, strlen(padded) - 4, &out), 0);
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

/* Windows saved into a store document, dumped, written, loaded and parsed back: the same
 * document, and each container's window loads with the same cuts. */
TEST(store_load_and_dump)
{
    char dir[] = "/tmp/lc_test_positions_XXXXXX", path[64];
    json_t *doc = json_pack("{s:i,s:{}}", "version", 1, "containers"), *loaded = NULL;
    struct lc_docker_pos a, b, back;
    int rc_missing, rc_damaged, rc_version, rc_write, rc_good;
    char *text;
    size_t len;

    lc_docker_pos_init(&a, MARGIN);
    lc_docker_pos_init(&b, MARGIN);
    lc_docker_pos_take(&a, BASE, OUT);
    lc_docker_pos_take(&a, BASE - MS, ERR);
    lc_docker_pos_take(&b, 7, ERR);
    lc_docker_pos_take(&b, 7, ERR);
    json_object_set_new(json_object_get(doc, "containers"), "a", lc_docker_pos_to_json(&a));
    json_object_set_new(json_object_get(doc, "containers"), "b", lc_docker_pos_to_json(&b));
    text = lc_docker_positions_dump(doc, &len);
    ASSERT_EQ(len, strlen(text));

    ASSERT_TRUE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/positions.json", dir);
    rc_missing = lc_docker_positions_load(path, &loaded);
    write_text(path, "{\"version\":1,\"containers\":{\"a");
    rc_damaged = lc_docker_positions_load(path, &loaded);
    write_text(path, "{\"version\":9,\"containers\":{}}");
    rc_version = lc_docker_positions_load(path, &loaded);
    rc_write = lc_write_file_atomic(path, text, len);
    rc_good = lc_docker_positions_load(path, &loaded);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(text);

    ASSERT_EQ(rc_missing, -ENOENT);
    ASSERT_EQ(rc_damaged, -EINVAL);
    ASSERT_EQ(rc_version, -EINVAL);
    ASSERT_EQ(rc_write, 0);
    ASSERT_EQ(rc_good, 0);
    ASSERT_TRUE(json_equal(doc, loaded));
    lc_docker_pos_init(&back, MARGIN);
    ASSERT_EQ(
        lc_docker_pos_from_json(&back, json_object_get(json_object_get(loaded, "containers"), "b")),
        0);
    ASSERT_TRUE(cut_is(&back.cut[ERR], 7, 2));
    ASSERT_TRUE(cut_is(&back.cut[OUT], -1, 0));
    ASSERT_EQ(lc_docker_pos_since(&back, NOW, 0), 0);
    lc_docker_pos_close(&back);
    lc_docker_pos_close(&a);
    lc_docker_pos_close(&b);
    json_decref(loaded);
    json_decref(doc);
}

TEST_MAIN(TEST_ENTRY(empty_window), TEST_ENTRY(counts_at_one_nanosecond), TEST_ENTRY(since),
          TEST_ENTRY(replay_inversions), TEST_ENTRY(replay_count_at_cut),
          TEST_ENTRY(replay_stream_never_taken), TEST_ENTRY(replay_model), TEST_ENTRY(floor),
          TEST_ENTRY(hold_of_a_line_not_yet_whole), TEST_ENTRY(clock_stepped_back_in_process),
          TEST_ENTRY(clock_stepped_back_ahead_after_restart), TEST_ENTRY(step_model),
          TEST_ENTRY(by_order_cut_line_gone), TEST_ENTRY(json_shape), TEST_ENTRY(json_roundtrip),
          TEST_ENTRY(from_json_malformed), TEST_ENTRY(count_at_limit_stays_loadable),
          TEST_ENTRY(store_parse), TEST_ENTRY(store_load_and_dump))
