/* test_ingest: the ingest stage over a real spool in a mkdtemp directory (removed after each
 * test). Two fake inputs append to one spool through their own handles: their positions are
 * kept apart by namespace (also across a reopen of the spool, and lc_ingest_positions gives
 * each its own, without the prefix); a commit asks every input for its positions first; a
 * burst is committed before the line that takes it past the soft limit, with the positions
 * of the lines before it; a full spool pauses both inputs on the next loop turn and resume
 * reaches both; a test processor changes some lines and drops others, and the spool holds
 * exactly what it let through. */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/buf.h"
#include "base/util.h"
#include "core/json.h"
#include "core/record.h"
#include "pipeline/ingest.h"
#include "spool/spool.h"
#include "spool/spool_reader.h"
#include "test.h"

#define BASE_NS 1795350283000000000LL
#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* A fake input: counts what the ingest asked of it, and puts one position per flush. */
struct fake_input {
    struct lc_ingest_input *src;
    const char *name;
    int pauses, resumes, flushes;
    long lines; /* lines taken so far: its position */
    int dirty;
};

static void fake_pause(void *ud, int pause)
{
    struct fake_input *f = ud;
    if (pause) {
        f->pauses++;
    } else {
        f->resumes++;
    }
}

static void fake_flush(void *ud)
{
    struct fake_input *f = ud;
    char pos[32];
    f->flushes++;
    if (f->dirty) {
        int n = snprintf(pos, sizeof(pos), "%ld", f->lines);
        lc_ingest_set_position(f->src, "pos", pos, (size_t)n);
        f->dirty = 0;
    }
}

static void fake_attach(struct fake_input *f, struct lc_ingest *in, const char *name)
{
    struct lc_ingest_input_cbs cbs = {.pause = fake_pause, .flush = fake_flush, .ud = f};
    memset(f, 0, sizeof(*f));
    f->name = name;
    f->src = lc_ingest_attach(in, name, &cbs);
}

/* Hands one line to the ingest and, as an input does, moves its position after it. */
static int fake_take(struct fake_input *f, struct lc_meta *m, const char *msg)
{
    struct lc_line_view v = {.stream = LC_STREAM_STDOUT,
                             .ts_ns = BASE_NS + f->lines,
                             .ts = "2026-11-22T12:24:43.000000000Z",
                             .ts_len = 30,
                             .msg = msg,
                             .len = strlen(msg)};
    int rc = lc_ingest_add(f->src, m, &v);
    f->lines++;
    f->dirty = 1;
    return rc;
}

struct fx {
    char dir[64];
    uv_loop_t loop;
    struct lc_spool *sp;
    struct lc_ingest *in;
    struct lc_meta *ma, *mb;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static struct lc_spool *open_spool(const char *dir, uint64_t max_bytes)
{
    struct lc_spool_options opt = {.dir = dir,
                                   .segment_bytes = 64u << 10,
                                   .max_bytes = max_bytes,
                                   .sync = LC_SYNC_NEVER,
                                   .sync_interval_ms = 1000};
    struct lc_spool *sp = NULL;
    if (lc_spool_open(&opt, &sp, NULL) != 0) {
        abort();
    }
    return sp;
}

static void fx_init(struct fx *fx, uint64_t max_bytes)
{
    memset(fx, 0, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/lc_ingest_test.XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        abort();
    }
    uv_loop_init(&fx->loop);
    fx->sp = open_spool(fx->dir, max_bytes);
    fx->in = lc_ingest_create(&fx->loop, fx->sp);
    fx->ma = lc_meta_docker_create(ID_A, "a-1", "img:a", "host", NULL, NULL, NULL);
    fx->mb = lc_meta_docker_create(ID_B, "b-1", "img:b", "host", NULL, NULL, NULL);
}

static void fx_close(struct fx *fx)
{
    if (fx->in != NULL) {
        lc_ingest_destroy(fx->in);
        uv_run(&fx->loop, UV_RUN_DEFAULT); /* its handles close */
    }
    lc_spool_close(fx->sp);
    uv_loop_close(&fx->loop);
    lc_meta_unref(fx->ma);
    lc_meta_unref(fx->mb);
    nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Every message in the spool, in order, "|"-joined. */
static void spool_messages(struct lc_spool *sp, char *out, size_t cap)
{
    struct lc_spool_pos start = {0, 0}, end;
    struct lc_spool_reader *r;
    struct lc_record *rec;
    size_t n = 0;
    out[0] = '\0';
    lc_spool_start(sp);
    lc_spool_stop(sp); /* writes what was committed */
    r = lc_spool_reader_create(sp, &start);
    while (lc_spool_reader_next(r, &rec, &end) == 1) {
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? "|" : "", rec->msg);
        lc_record_destroy(rec);
    }
    lc_spool_reader_destroy(r);
}

TEST(positions_kept_apart)
{
    struct fx fx;
    struct fake_input a, b;
    json_t *pa, *pb;

    fx_init(&fx, 1u << 30);
    fake_attach(&a, fx.in, "alpha");
    fake_attach(&b, fx.in, "beta");
    ASSERT_EQ(fake_take(&a, fx.ma, "a one"), 1);
    ASSERT_EQ(fake_take(&a, fx.ma, "a two"), 1);
    ASSERT_EQ(fake_take(&b, fx.mb, "b one"), 1);
    lc_ingest_commit(fx.in);
    ASSERT_EQ(a.flushes, 1);
    ASSERT_EQ(b.flushes, 1);
    lc_ingest_destroy(fx.in);
    fx.in = NULL;
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    lc_spool_start(fx.sp);
    lc_spool_close(fx.sp); /* writes and syncs */

    /* Reopened: each input gets its own positions back, without its namespace. */
    fx.sp = open_spool(fx.dir, 1u << 30);
    fx.in = lc_ingest_create(&fx.loop, fx.sp);
    fake_attach(&a, fx.in, "alpha");
    fake_attach(&b, fx.in, "beta");
    pa = lc_ingest_positions(a.src);
    pb = lc_ingest_positions(b.src);
    ASSERT_STR_EQ(json_string_value(json_object_get(pa, "pos")), "2");
    ASSERT_STR_EQ(json_string_value(json_object_get(pb, "pos")), "1");
    ASSERT_EQ(json_object_size(pa), 1);
    ASSERT_EQ(json_object_size(pb), 1);
    json_decref(pa);
    json_decref(pb);
    fx_close(&fx);
}

/* A burst: the commit comes before the line that would take the transaction past the soft
 * limit, and carries the position of every line before it. */
TEST(burst_commits_before_the_line)
{
    struct fx fx;
    struct fake_input a;
    char *big = lc_xmalloc(64u << 10);
    size_t taken = 0;
    json_t *pos;

    memset(big, 'x', (64u << 10) - 1);
    big[(64u << 10) - 1] = '\0';
    fx_init(&fx, 1u << 30);
    fake_attach(&a, fx.in, "alpha");
    while (a.flushes == 0) {
        ASSERT_EQ(fake_take(&a, fx.ma, big), 1);
        taken++;
    }
    /* The commit happened inside the last take, before its line: it carries the others. */
    ASSERT_TRUE(taken * (64u << 10) > LC_SPOOL_TXN_SOFT_MAX);
    ASSERT_EQ(lc_spool_txn_bytes(fx.sp) > 0, 1); /* the last line waits for the next */
    lc_ingest_destroy(fx.in);
    fx.in = NULL;
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    lc_spool_start(fx.sp);
    lc_spool_close(fx.sp);
    fx.sp = open_spool(fx.dir, 1u << 30);
    fx.in = lc_ingest_create(&fx.loop, fx.sp);
    fake_attach(&a, fx.in, "alpha");
    pos = lc_ingest_positions(a.src);
    /* The stop committed the last line too. */
    ASSERT_EQ(atol(json_string_value(json_object_get(pos, "pos"))), (long)taken);
    json_decref(pos);
    free(big);
    fx_close(&fx);
}

TEST(full_spool_pauses_every_input)
{
    struct fx fx;
    struct fake_input a, b;

    fx_init(&fx, 1); /* full at once */
    fake_attach(&a, fx.in, "alpha");
    fake_attach(&b, fx.in, "beta");
    lc_ingest_start(fx.in);
    ASSERT_EQ(fake_take(&a, fx.ma, "one"), 1);
    lc_ingest_commit(fx.in);
    ASSERT_EQ(lc_ingest_paused(fx.in), 1);
    ASSERT_EQ(a.pauses + b.pauses, 0); /* not from inside the append: on the next turn */
    uv_run(&fx.loop, UV_RUN_NOWAIT);
    ASSERT_EQ(a.pauses, 1);
    ASSERT_EQ(b.pauses, 1);
    lc_ingest_resume(fx.in);
    ASSERT_EQ(lc_ingest_paused(fx.in), 0);
    ASSERT_EQ(a.resumes, 1);
    ASSERT_EQ(b.resumes, 1);
    fx_close(&fx);
}

/* Upper-cases lines that start with "up " (into its own buffer) and drops those holding
 * "drop". */
struct test_proc {
    char buf[256];
    int seen;
};

static enum lc_process_result test_process(void *state, const struct lc_meta *meta,
                                           struct lc_line_view *line)
{
    struct test_proc *p = state;
    (void)meta;
    p->seen++;
    if (memmem(line->msg, line->len, "drop", 4) != NULL) {
        return LC_PROCESS_DROP;
    }
    if (line->len >= 3 && memcmp(line->msg, "up ", 3) == 0 && line->len < sizeof(p->buf)) {
        for (size_t i = 0; i < line->len; i++) {
            char ch = line->msg[i];
            p->buf[i] = ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
        }
        line->msg = p->buf;
    }
    return LC_PROCESS_KEEP;
}

static const struct lc_processor_ops test_proc_ops = {.type = "test", .process = test_process};

TEST(processor_changes_and_drops)
{
    struct fx fx;
    struct fake_input a, b;
    struct test_proc proc = {{0}, 0};
    char got[512];

    fx_init(&fx, 1u << 30);
    ASSERT_EQ(lc_ingest_add_processor(fx.in, &test_proc_ops, &proc), 0);
    fake_attach(&a, fx.in, "alpha");
    fake_attach(&b, fx.in, "beta");
    ASSERT_EQ(fake_take(&a, fx.ma, "plain"), 1);
    ASSERT_EQ(fake_take(&b, fx.mb, "up shout"), 1);
    ASSERT_EQ(fake_take(&a, fx.ma, "please drop me"), 0);
    ASSERT_EQ(fake_take(&b, fx.mb, "last"), 1);
    ASSERT_EQ(proc.seen, 4);
    lc_ingest_commit(fx.in);
    /* A dropped line still moved its input's position: it was read. */
    ASSERT_EQ(a.lines, 2);
    lc_ingest_destroy(fx.in);
    fx.in = NULL;
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    spool_messages(fx.sp, got, sizeof(got));
    ASSERT_STR_EQ(got, "plain|UP SHOUT|last");
    fx_close(&fx);
}

/* Gives lines holding "warn" the field level=warn and a JSON field; others pass bare. */
struct field_proc {
    struct lc_fields *fields;
};

static enum lc_process_result field_process(void *state, const struct lc_meta *meta,
                                            struct lc_line_view *line)
{
    struct field_proc *p = state;
    (void)meta;
    if (memmem(line->msg, line->len, "warn", 4) != NULL) {
        line->fields = p->fields;
    }
    return LC_PROCESS_KEEP;
}

static const struct lc_processor_ops field_proc_ops = {.type = "fields", .process = field_process};

TEST(processor_fields_reach_the_reader)
{
    const struct lc_attr items[] = {{"level", "warn", 0}, {"n", "[1,2]", LC_ATTR_JSON}};
    struct field_proc proc = {lc_fields_create(items, 2)};
    struct lc_spool_pos start = {0, 0}, end;
    struct lc_spool_reader *r;
    struct lc_record *rec[3];
    struct fake_input a;
    struct lc_buf b;
    struct fx fx;
    int n = 0;

    fx_init(&fx, 1u << 30);
    ASSERT_EQ(lc_ingest_add_processor(fx.in, &field_proc_ops, &proc), 0);
    fake_attach(&a, fx.in, "alpha");
    ASSERT_EQ(fake_take(&a, fx.ma, "plain"), 1);
    ASSERT_EQ(fake_take(&a, fx.ma, "a warn line"), 1);
    ASSERT_EQ(fake_take(&a, fx.ma, "plain again"), 1);
    lc_ingest_commit(fx.in);
    lc_ingest_destroy(fx.in);
    fx.in = NULL;
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    lc_spool_start(fx.sp);
    lc_spool_stop(fx.sp);
    r = lc_spool_reader_create(fx.sp, &start);
    while (n < 3 && lc_spool_reader_next(r, &rec[n], &end) == 1) {
        n++;
    }
    lc_spool_reader_destroy(r);
    ASSERT_EQ(n, 3);
    ASSERT_TRUE(rec[0]->fields == NULL && rec[2]->fields == NULL);
    ASSERT_STR_EQ(rec[1]->msg, "a warn line");
    ASSERT_STR_EQ(lc_fields_get(rec[1]->fields, "level"), "warn");
    ASSERT_STR_EQ(lc_fields_get(rec[1]->fields, "n"), "[1,2]");
    lc_buf_init(&b, 0);
    ASSERT_EQ(lc_json_add_record(&b, rec[1]), 0);
    ASSERT_TRUE(strstr(b.data, "\"message\":\"a warn line\",\"host\":\"host\",\"level\":"
                               "\"warn\",\"n\":[1,2]}\n") != NULL);
    lc_buf_close(&b);
    for (int i = 0; i < n; i++) {
        lc_record_destroy(rec[i]);
    }
    lc_fields_free(proc.fields);
    fx_close(&fx);
}

TEST(processor_list_is_bounded)
{
    struct fx fx;
    struct test_proc proc = {{0}, 0};
    int rc = 0;
    fx_init(&fx, 1u << 30);
    for (int i = 0; i < LC_INGEST_MAX_PROCESSORS; i++) {
        rc |= lc_ingest_add_processor(fx.in, &test_proc_ops, &proc);
    }
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(lc_ingest_add_processor(fx.in, &test_proc_ops, &proc), -E2BIG);
    fx_close(&fx);
}

TEST_MAIN(TEST_ENTRY(positions_kept_apart), TEST_ENTRY(burst_commits_before_the_line),
          TEST_ENTRY(full_spool_pauses_every_input), TEST_ENTRY(processor_changes_and_drops),
          TEST_ENTRY(processor_fields_reach_the_reader), TEST_ENTRY(processor_list_is_bounded))
