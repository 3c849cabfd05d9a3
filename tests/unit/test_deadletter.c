/* test_deadletter: the dead-letter file in a mkdtemp directory (removed after each test):
 * lc_delivery_dead_append and lc_delivery_dead_parse give back every field of a record (control
 * bytes, NUL, quotes, unicode, truncated, labels, compose, host), the envelope carries the output,
 * the reason and the attempts, lc_delivery_dead_count counts the records, lc_delivery_dead_recover
 * puts a replay file back, lc_delivery_dead_replay sends in batches, keeps lines that are not
 * records in the .bad file and, when the send fails midway, puts back what was not sent. A line
 * torn by a crash or a failed write does not swallow the next record. Every directory entry the
 * module creates, renames or removes is synced (its directory fsync'ed) before it counts: the test
 * defines fsync itself, so the module's calls land here and are recorded with a listing of
 * the directory at that moment (a power loss cannot be staged in a unit test; what it would
 * keep is what was synced, and in which order). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "delivery/deadletter.h"
#include "core/record.h"
#include "base/util.h"
#include "test.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define TS "2026-01-02T03:04:05.123456789Z"
#define TS_NS 1767323045123456789LL

/* ---- fsync, recorded ---- */

#define MAX_SYNCS 64

/* One fsync of a directory: its path and the names in it then (" a b c "). */
struct dir_sync {
    char path[256];
    char names[512];
};

static struct dir_sync syncs[MAX_SYNCS];
static size_t n_syncs;

static void list_dir(int fd, char *out, size_t cap)
{
    int dup_fd = dup(fd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    struct dirent *de;
    size_t len = 0;
    out[len++] = ' ';
    out[len] = '\0';
    if (d == NULL) {
        return;
    }
    rewinddir(d);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.') {
            len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s ", de->d_name);
        }
    }
    closedir(d);
}

/* Every fsync of the program comes here (this definition takes the place of libc's): a
 * directory's is recorded, then the real system call runs. */
int fsync(int fd)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && n_syncs < MAX_SYNCS) {
        char link[64];
        ssize_t n;
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, syncs[n_syncs].path, sizeof(syncs[n_syncs].path) - 1);
        syncs[n_syncs].path[n > 0 ? n : 0] = '\0';
        list_dir(fd, syncs[n_syncs].names, sizeof(syncs[n_syncs].names));
        n_syncs++;
    }
    return (int)syscall(SYS_fsync, fd);
}

/* The index of the first recorded sync from FROM on of directory DIR (SUB appended when
 * not NULL) that lists every name of HAS and none of HAS_NOT (space-separated lists, may be
 * ""), or -1. */
static long synced(size_t from, const char *dir, const char *sub, const char *has,
                   const char *has_not)
{
    char path[256], real[256], names[256], word[80];
    snprintf(path, sizeof(path), "%s%s%s", dir, sub != NULL ? "/" : "", sub != NULL ? sub : "");
    if (realpath(path, real) == NULL) {
        snprintf(real, sizeof(real), "%s", path);
    }
    for (size_t i = from; i < n_syncs; i++) {
        int ok = strcmp(syncs[i].path, real) == 0;
        for (int k = 0; k < 2 && ok; k++) {
            char *save = NULL;
            snprintf(names, sizeof(names), "%s", k == 0 ? has : has_not);
            for (char *w = strtok_r(names, " ", &save); w != NULL && ok;
                 w = strtok_r(NULL, " ", &save)) {
                snprintf(word, sizeof(word), " %s ", w);
                ok = (strstr(syncs[i].names, word) != NULL) == (k == 0);
            }
        }
        if (ok) {
            return (long)i;
        }
    }
    return -1;
}

/* ---- helpers ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void path_of(char *out, size_t cap, const char *dir, const char *suffix)
{
    snprintf(out, cap, "%s/dead/out.jsonl%s", dir, suffix);
}

static int exists(const char *dir, const char *suffix)
{
    char p[512];
    path_of(p, sizeof(p), dir, suffix);
    return access(p, F_OK) == 0;
}

/* The whole file DIR/dead/out.jsonl<SUFFIX> (heap, NUL-terminated), or NULL. */
static char *slurp(const char *dir, const char *suffix, size_t *len)
{
    char p[512], *data = NULL;
    size_t n = 0;
    path_of(p, sizeof(p), dir, suffix);
    if (lc_read_file(p, 1 << 24, &data, &n) != 0) {
        return NULL;
    }
    if (len != NULL) {
        *len = n;
    }
    return data;
}

static void put_file(const char *dir, const char *suffix, const char *text)
{
    char p[512], d[512];
    snprintf(d, sizeof(d), "%s/dead", dir);
    lc_mkdir_p(d, 0750);
    path_of(p, sizeof(p), dir, suffix);
    lc_write_file_atomic(p, text, strlen(text));
}

static void add_file(const char *dir, const char *suffix, const char *text)
{
    char p[512];
    FILE *f;
    path_of(p, sizeof(p), dir, suffix);
    f = fopen(p, "a");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; s != NULL && *s != '\0'; s++) {
        n += *s == '\n';
    }
    return n;
}

static struct lc_meta *full_meta(void)
{
    return lc_meta_docker_create(
        ID, "web-1", "nginx:1.25", "host-a",
        "{\"a\":\"1\",\"com.docker.compose.project\":\"shop\",\"z\":\"\\\"q\\\"\"}", "shop", "web");
}

static struct lc_record *rec(struct lc_meta *m, const char *msg)
{
    return lc_record_create(m, LC_STREAM_STDOUT, TS_NS, TS, strlen(TS), msg, strlen(msg), 0);
}

static int same_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    return strcmp(a, b) == 0;
}

/* Every field a dead letter keeps. */
static int same_record(const struct lc_record *a, const struct lc_record *b)
{
    const struct lc_meta *x = a->meta, *y = b->meta;
    return a->ts_ns == b->ts_ns && strcmp(a->ts, b->ts) == 0 && a->stream == b->stream &&
           a->truncated == b->truncated && a->len == b->len &&
           memcmp(a->msg, b->msg, a->len) == 0 && b->msg[b->len] == '\0' &&
           strcmp(x->id, y->id) == 0 && strcmp(x->name, y->name) == 0 &&
           same_str(lc_meta_attr(x, "image"), lc_meta_attr(y, "image")) &&
           same_str(lc_meta_attr(x, "host"), lc_meta_attr(y, "host")) &&
           same_str(lc_meta_attr(x, "labels"), lc_meta_attr(y, "labels")) &&
           same_str(lc_meta_attr(x, "compose_project"), lc_meta_attr(y, "compose_project")) &&
           same_str(lc_meta_attr(x, "compose_service"), lc_meta_attr(y, "compose_service"));
}

/* Line I (0-based) of TEXT as a new record, or NULL. */
static struct lc_record *parse_line(const char *text, size_t i)
{
    const char *p = text, *nl;
    for (; i > 0 && p != NULL; i--) {
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    if (p == NULL || (nl = strchr(p, '\n')) == NULL) {
        return NULL;
    }
    return lc_delivery_dead_parse(p, (size_t)(nl - p + 1));
}

/* ---- append and parse ---- */

TEST(round_trip_keeps_every_field)
{
    char dir[] = "/tmp/lc_test_dead_XXXXXX", *text;
    static const char msg[] = "ctl \x01\x1b\x7f tab\t cr\r nl\n nul\0 after \"quoted\" \\back "
                              "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80 end";
    struct lc_meta *m = full_meta(),
                   *bare = lc_meta_docker_create(ID, "db", "", "", NULL, NULL, NULL);
    struct lc_record *in[3], *out;
    json_t *env;
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    in[0] = lc_record_create(m, LC_STREAM_STDERR, TS_NS, TS, strlen(TS), msg, sizeof(msg) - 1, 1);
    in[1] =
        lc_record_create(bare, LC_STREAM_STDOUT, 1, "1970-01-01T00:00:00.000000001Z", 30, "", 0, 0);
    in[2] = lc_record_create(m, LC_STREAM_STDOUT, -5, "weird \"ts\"", 10, "x", 1, 0);
    ASSERT_EQ(lc_delivery_dead_append(dir, "out", in, 3, NULL, "HTTP 400: \"bad\"", 3), 0);
    text = slurp(dir, "", NULL);
    ASSERT_TRUE(text != NULL);
    ASSERT_EQ(count_lines(text), 3);
    ASSERT_EQ(lc_delivery_dead_count(dir, "out"), 3);
    for (size_t i = 0; i < 3; i++) {
        out = parse_line(text, i);
        ASSERT_TRUE(out != NULL);
        ASSERT_TRUE(same_record(in[i], out));
        ASSERT_EQ(out->meta->refs, 1);
        lc_record_destroy(out);
    }
    /* The envelope. */
    env = json_loadb(text, (size_t)(strchr(text, '\n') - text), JSON_ALLOW_NUL, NULL);
    ASSERT_TRUE(env != NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(env, "output")), "out");
    ASSERT_STR_EQ(json_string_value(json_object_get(env, "reason")), "HTTP 400: \"bad\"");
    ASSERT_EQ(json_integer_value(json_object_get(env, "attempts")), 3);
    ASSERT_TRUE(json_integer_value(json_object_get(env, "ts_ns")) == TS_NS);
    ASSERT_EQ(strlen(json_string_value(json_object_get(env, "time"))) >= 20, 1);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(env, "record"), "ts")), TS);
    json_decref(env);
    free(text);
    for (size_t i = 0; i < 3; i++) {
        lc_record_destroy(in[i]);
    }
    lc_meta_unref(m);
    lc_meta_unref(bare);
    rm_rf(dir);
}

TEST(invalid_utf8_becomes_replacement_character)
{
    char dir[] = "/tmp/lc_test_dead_XXXXXX", *text;
    struct lc_meta *m = full_meta();
    struct lc_record *in = rec(m, "bad \xff\xc3 end"), *out;
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    ASSERT_EQ(lc_delivery_dead_append(dir, "out", &in, 1, NULL, "x", 1), 0);
    text = slurp(dir, "", NULL);
    out = parse_line(text, 0);
    ASSERT_TRUE(out != NULL);
    ASSERT_STR_EQ(out->msg, "bad \xef\xbf\xbd\xef\xbf\xbd end");
    lc_record_destroy(out);
    lc_record_destroy(in);
    free(text);
    lc_meta_unref(m);
    rm_rf(dir);
}

/* A ts longer than a record keeps is cut at a character boundary (valid UTF-8 both ways). */
TEST(long_ts_is_cut_at_a_character)
{
    static const char line[] =
        "{\"ts_ns\":1,\"record\":{\"ts\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "a\xc3\xa9\",\"stream\":\"stdout\",\"message\":\"m\"}}\n";
    struct lc_record *r = lc_delivery_dead_parse(line, strlen(line));
    ASSERT_TRUE(r != NULL);
    ASSERT_EQ(strlen(r->ts), 38);
    ASSERT_EQ(strspn(r->ts, "a"), 38);
    lc_record_destroy(r);
}

TEST(reasons_per_record_and_defaults)
{
    char dir[] = "/tmp/lc_test_dead_XXXXXX", *text;
    struct lc_meta *m = full_meta();
    struct lc_record *in[3] = {rec(m, "a"), rec(m, "b"), rec(m, "c")};
    char r0[] = "too big", *reasons[3] = {r0, NULL, NULL};
    const char *want[] = {"too big", "batch", "too big", "refused"};
    size_t i = 0;
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    ASSERT_EQ(lc_delivery_dead_append(dir, "out", in, 2, reasons, "batch", 1), 0);
    ASSERT_EQ(lc_delivery_dead_append(dir, "out", in, 1, reasons, NULL, 1), 0);
    ASSERT_EQ(lc_delivery_dead_append(dir, "out", in + 2, 1, NULL, NULL, 1), 0);
    text = slurp(dir, "", NULL);
    ASSERT_TRUE(text != NULL);
    for (const char *p = text; *p != '\0'; i++) {
        const char *nl = strchr(p, '\n');
        json_t *env = json_loadb(p, (size_t)(nl - p), 0, NULL);
        ASSERT_TRUE(i < 4);
        ASSERT_STR_EQ(json_string_value(json_object_get(env, "reason")), want[i]);
        json_decref(env);
        p = nl + 1;
    }
    ASSERT_EQ(i, 4);
    ASSERT_EQ(lc_delivery_dead_count(dir, "out"), 4);
    ASSERT_EQ(lc_delivery_dead_count(dir, "other"), 0);
    free(text);
    for (i = 0; i < 3; i++) {
        lc_record_destroy(in[i]);
    }
    lc_meta_unref(m);
    rm_rf(dir);
}

TEST(parse_refuses_what_is_not_a_record)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "{}",
        "{\"ts_ns\":1}",
        "{\"ts_ns\":1,\"record\":{\"ts\":\"t\",\"stream\":\"stdout\"}}",
        "{\"ts_ns\":1,\"record\":{\"ts\":\"t\",\"stream\":\"stdout\",\"message\":5}}",
        "{\"ts_ns\":1,\"record\":{\"ts\":\"t\",\"stream\":\"other\",\"message\":\"m\"}}",
        "{\"ts_ns\":1,\"record\":{\"stream\":\"stdout\",\"message\":\"m\"}}",
        "{\"ts_ns\":\"1\",\"record\":{\"ts\":\"t\",\"stream\":\"stdout\",\"message\":\"m\"}}",
        "{\"record\":{\"ts\":\"t\",\"stream\":\"stdout\",\"message\":\"m\"}}",
        "{\"ts_ns\":1,\"record\":[]}",
        "{\"ts_ns\":1,\"record\":{\"ts\":\"t\",\"stream\":\"stdout\",\"message\":\"m\"}} x",
    };
    static const char good[] = "{\"ts_ns\":7,\"record\":{\"ts\":\"t\",\"stream\":\"stdout\","
                               "\"message\":\"m\\u0000n\"}}\n";
    struct lc_record *r;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = lc_delivery_dead_parse(bad[i], strlen(bad[i]));
        if (r != NULL) {
            lc_record_destroy(r);
            LC_FAIL_("parsed: %s", bad[i]);
        }
    }
    /* The fewest fields: metadata defaults (the name is the id). */
    r = lc_delivery_dead_parse(good, strlen(good));
    ASSERT_TRUE(r != NULL);
    ASSERT_EQ(r->ts_ns, 7);
    ASSERT_MEM_EQ(r->msg, r->len, "m\0n", 3);
    ASSERT_STR_EQ(r->meta->id, "unknown");
    ASSERT_STR_EQ(r->meta->name, "unknown");
    ASSERT_TRUE(lc_meta_attr(r->meta, "labels") == NULL &&
                lc_meta_attr(r->meta, "compose_project") == NULL);
    lc_record_destroy(r);
}

/* A line torn by a crash (or a write cut short) must not swallow the next record. */
TEST(append_after_a_torn_line_keeps_the_record_whole)
{
    char dir[] = "/tmp/lc_test_dead_XXXXXX", *text;
    struct lc_meta *m = full_meta();
    struct lc_record *in = rec(m, "after the tear"), *out;
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    put_file(dir, "", "{\"time\":\"2026-01-01T00:00:00Z\",\"output\":\"out\",\"rea");
    ASSERT_EQ(lc_delivery_dead_append(dir, "out", &in, 1, NULL, "x", 1), 0);
    text = slurp(dir, "", NULL);
    ASSERT_TRUE(text != NULL);
    ASSERT_EQ(count_lines(text), 2);
    out = parse_line(text, 1);
    ASSERT_TRUE(out != NULL);
    ASSERT_TRUE(same_record(in, out));
    lc_record_destroy(out);
    lc_record_destroy(in);
    free(text);
    lc_meta_unref(m);
    rm_rf(dir);
}

/* A write cut short (RLIMIT_FSIZE: written in part, then EFBIG) fails and is cut back: the
 * file holds whole lines only, and the append tried again is whole. */
TEST(failed_append_is_cut_back)
{
    char dir[] = "/tmp/lc_test_dead_XXXXXX", *text, big[3000];
    struct lc_meta *m = full_meta();
    struct lc_record *small = rec(m, "first"), *large;
    struct rlimit saved, lim;
    size_t len = 0, before = 0;
    int rc;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    large = rec(m, big);
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    ASSERT_EQ(lc_delivery_dead_append(dir, "out", &small, 1, NULL, "x", 1), 0);
    free(slurp(dir, "", &before));
    signal(SIGXFSZ, SIG_IGN);
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
    lim = saved;
    lim.rlim_cur = before + 1000;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
    rc = lc_delivery_dead_append(dir, "out", &large, 1, NULL, "x", 1);
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &saved), 0);
    ASSERT_TRUE(rc < 0);
    text = slurp(dir, "", &len);
    ASSERT_EQ(len, before);
    free(text);
    ASSERT_EQ(lc_delivery_dead_append(dir, "out", &large, 1, NULL, "x", 1), 0);
    ASSERT_EQ(lc_delivery_dead_count(dir, "out"), 2);
    text = slurp(dir, "", NULL);
    lc_record_destroy(small);
    small = parse_line(text, 1);
    ASSERT_TRUE(small != NULL && same_record(small, large));
    free(text);
    lc_record_destroy(small);
    lc_record_destroy(large);
    lc_meta_unref(m);
    rm_rf(dir);
}

TEST(append_fails_cleanly_when_the_directory_cannot_be_made)
{
    char dir[] = "/tmp/lc_test_dead_XXXXXX", file[600];
    struct lc_meta *m = full_meta();
    struct lc_record *in = rec(m, "x");
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    snprintf(file, sizeof(file), "%s/dead", dir);
    lc_write_file_atomic(file, "x", 1); /* a file where the directory should be */
    ASSERT_TRUE(lc_delivery_dead_append(dir, "out", &in, 1, NULL, "x", 1) < 0);
    ASSERT_EQ(lc_delivery_dead_count(dir, "out"), 0);
    lc_record_destroy(in);
    lc_meta_unref(m);
    rm_rf(dir);
}

/* ---- recover ---- */

TEST(recover_puts_a_replay_file_back)
{
    char dir[] = "/tmp/lc_test_dead_XXXXXX", *text, path[512];
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    ASSERT_EQ(lc_delivery_dead_recover(dir, "out"), 0); /* nothing at all */
    put_file(dir, "", "new\n");
    ASSERT_EQ(lc_delivery_dead_recover(dir, "out"), 0); /* no replay file: untouched */
    text = slurp(dir, "", NULL);
    ASSERT_STR_EQ(text, "new\n");
    free(text);
    put_file(dir, ".replay", "old1\nold2\n");
    ASSERT_EQ(lc_delivery_dead_recover(dir, "out"), 0);
    ASSERT_TRUE(!exists(dir, ".replay"));
    text = slurp(dir, "", NULL);
    ASSERT_STR_EQ(text, "new\nold1\nold2\n");
    free(text);
    ASSERT_EQ(lc_delivery_dead_count(dir, "out"), 3);
    /* Only a replay file: it becomes the dead-letter file. */
    path_of(path, sizeof(path), dir, "");
    unlink(path);
    put_file(dir, ".replay", "only\n");
    ASSERT_EQ(lc_delivery_dead_recover(dir, "out"), 0);
    text = slurp(dir, "", NULL);
    ASSERT_STR_EQ(text, "only\n");
    free(text);
    rm_rf(dir);
}

/* ---- replay ---- */

struct sink {
    char msgs[32][32];
    size_t n, calls, fail_at_call; /* fail_at_call: 1-based, 0 never */
    size_t batch_sizes[32];
    const char *dir;
    const char *refuse; /* records with this message are appended again (refused again) */
};

static int sink_send(void *ud, struct lc_record **recs, size_t n)
{
    struct sink *s = ud;
    s->calls++;
    if (s->calls == s->fail_at_call) {
        return -EIO;
    }
    s->batch_sizes[s->calls - 1] = n;
    for (size_t i = 0; i < n; i++) {
        if (s->refuse != NULL && strcmp(recs[i]->msg, s->refuse) == 0) {
            if (lc_delivery_dead_append(s->dir, "out", &recs[i], 1, NULL, "again", 2) != 0) {
                return -EIO;
            }
            continue;
        }
        if (s->n < 32) {
            snprintf(s->msgs[s->n++], sizeof(s->msgs[0]), "%s", recs[i]->msg);
        }
    }
    return 0;
}

static void append_msgs(const char *dir, int from, int to)
{
    struct lc_meta *m = full_meta();
    for (int i = from; i < to; i++) {
        char msg[16];
        struct lc_record *r;
        snprintf(msg, sizeof(msg), "m%d", i);
        r = rec(m, msg);
        lc_delivery_dead_append(dir, "out", &r, 1, NULL, "x", 1);
        lc_record_destroy(r);
    }
    lc_meta_unref(m);
}

TEST(replay_sends_in_batches_and_removes_the_file)
{
    char dir[] = "/tmp/lc_test_dead_XXXXXX";
    struct sink s = {.dir = dir};
    struct lc_delivery_dead_replay_stats st;
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    ASSERT_EQ(lc_delivery_dead_replay(dir, "out", 2, sink_send, &s, &st), -ENOENT);
    ASSERT_EQ(st.records, 0);
    append_msgs(dir, 0, 5);
    ASSERT_EQ(lc_delivery_dead_replay(dir, "out", 2, sink_send, &s, &st), 0);
    ASSERT_EQ(st.records, 5);
    ASSERT_EQ(st.invalid, 0);
    ASSERT_EQ(s.calls, 3);
    ASSERT_EQ(s.batch_sizes[0], 2);
    ASSERT_EQ(s.batch_sizes[1], 2);
    ASSERT_EQ(s.batch_sizes[2], 1);
    ASSERT_EQ(s.n, 5);
    for (size_t i = 0; i < 5; i++) {
        char want[16];
        snprintf(want, sizeof(want), "m%zu", i);
        ASSERT_STR_EQ(s.msgs[i], want);
    }
    ASSERT_TRUE(!exists(dir, "") && !exists(dir, ".replay") && !exists(dir, ".bad"));
    ASSERT_EQ(lc_delivery_dead_count(dir, "out"), 0);
    rm_rf(dir);
}

TEST(replay_keeps_lines_that_are_not_records_in_the_bad_file)
{
    char dir[] = "/tmp/lc_test_dead_XXXXXX", *bad;
    struct sink s = {.dir = dir};
    struct lc_delivery_dead_replay_stats st;
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    append_msgs(dir, 0, 2);
    add_file(dir, "", "not json\n{}\n\n");
    append_msgs(dir, 2, 3);
    add_file(dir, "", "{\"torn\":"); /* a last line cut short, without its newline */
    ASSERT_EQ(lc_delivery_dead_replay(dir, "out", 10, sink_send, &s, &st), 0);
    ASSERT_EQ(st.records, 3);
    ASSERT_EQ(st.invalid, 4);
    ASSERT_EQ(s.n, 3);
    ASSERT_STR_EQ(s.msgs[2], "m2");
    bad = slurp(dir, ".bad", NULL);
    ASSERT_STR_EQ(bad, "not json\n{}\n\n{\"torn\":\n");
    free(bad);
    ASSERT_TRUE(!exists(dir, "") && !exists(dir, ".replay"));
    rm_rf(dir);
}

TEST(replay_records_refused_again_land_in_the_new_file)
{
    char dir[] = "/tmp/lc_test_dead_XXXXXX", *text;
    struct sink s = {.dir = dir, .refuse = "m1"};
    struct lc_delivery_dead_replay_stats st;
    struct lc_record *r;
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    append_msgs(dir, 0, 3);
    ASSERT_EQ(lc_delivery_dead_replay(dir, "out", 2, sink_send, &s, &st), 0);
    ASSERT_EQ(st.records, 3);
    ASSERT_EQ(s.n, 2);
    ASSERT_EQ(lc_delivery_dead_count(dir, "out"), 1);
    text = slurp(dir, "", NULL);
    r = parse_line(text, 0);
    ASSERT_TRUE(r != NULL);
    ASSERT_STR_EQ(r->msg, "m1");
    lc_record_destroy(r);
    ASSERT_TRUE(strstr(text, "\"reason\":\"again\"") != NULL);
    free(text);
    ASSERT_TRUE(!exists(dir, ".replay"));
    rm_rf(dir);
}

/* The send fails on the second batch: the replay stops with its error, the replay file is
 * gone and what was not sent is back in the dead-letter file (the batch already sent is
 * not, so it is not sent twice), after what was refused again meanwhile. */
TEST(replay_failing_midway_puts_back_what_was_not_sent)
{
    char dir[] = "/tmp/lc_test_dead_XXXXXX", *text;
    struct sink s = {.dir = dir, .fail_at_call = 2, .refuse = "m0"};
    struct sink again = {.dir = dir};
    struct lc_delivery_dead_replay_stats st;
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    append_msgs(dir, 0, 5);
    ASSERT_EQ(lc_delivery_dead_replay(dir, "out", 2, sink_send, &s, &st), -EIO);
    ASSERT_EQ(s.n, 1); /* m1 (m0 was refused again) */
    ASSERT_TRUE(!exists(dir, ".replay"));
    ASSERT_EQ(lc_delivery_dead_count(dir, "out"), 4); /* m0 again, then m2 m3 m4 put back */
    text = slurp(dir, "", NULL);
    ASSERT_TRUE(text != NULL);
    free(text);
    ASSERT_EQ(lc_delivery_dead_replay(dir, "out", 2, sink_send, &again, &st), 0);
    ASSERT_EQ(again.n, 4);
    ASSERT_STR_EQ(again.msgs[0], "m0");
    ASSERT_STR_EQ(again.msgs[1], "m2");
    ASSERT_STR_EQ(again.msgs[3], "m4");
    ASSERT_TRUE(!exists(dir, "") && !exists(dir, ".replay"));
    rm_rf(dir);
}

/* A replay file left behind by a crash is replayed first (put back, then sent). */
TEST(replay_takes_a_replay_file_left_behind)
{
    char dir[] = "/tmp/lc_test_dead_XXXXXX", *text;
    struct sink s = {.dir = dir};
    struct lc_delivery_dead_replay_stats st;
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    append_msgs(dir, 0, 2);
    text = slurp(dir, "", NULL);
    put_file(dir, ".replay", text);
    free(text);
    put_file(dir, "", "");
    append_msgs(dir, 2, 3);
    ASSERT_EQ(lc_delivery_dead_replay(dir, "out", 10, sink_send, &s, &st), 0);
    ASSERT_EQ(st.records, 3);
    ASSERT_EQ(s.n, 3);
    ASSERT_STR_EQ(s.msgs[0], "m2");
    ASSERT_STR_EQ(s.msgs[1], "m0");
    ASSERT_STR_EQ(s.msgs[2], "m1");
    ASSERT_TRUE(!exists(dir, "") && !exists(dir, ".replay"));
    rm_rf(dir);
}

/* ---- directory syncs ---- */

/* The first append creates dead/ and dead/out.jsonl: both entries are synced (dead/ in the
 * data directory, out.jsonl in dead/), or a power loss can take the file and its records
 * although the append said they were safe. */
TEST(append_syncs_the_directory_entries)
{
    char dir[] = "/tmp/lc_test_dead_XXXXXX";
    struct lc_meta *m = full_meta();
    struct lc_record *in = rec(m, "refused");
    long parent, file;
    int rc;
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    n_syncs = 0;
    rc = lc_delivery_dead_append(dir, "out", &in, 1, NULL, "x", 1);
    parent = synced(0, dir, NULL, "dead", "");
    file = synced(0, dir, "dead", "out.jsonl", "");
    lc_record_destroy(in);
    lc_meta_unref(m);
    rm_rf(dir);
    ASSERT_EQ(rc, 0);
    ASSERT_TRUE(parent >= 0);
    ASSERT_TRUE(file >= 0);
}

/* A replay renames the file away (synced before a record goes out, so that a power loss
 * cannot bring back records already sent), keeps the bad lines (synced), and removes the
 * replay file at the end (synced). */
TEST(replay_syncs_its_renames_and_removals)
{
    char dir[] = "/tmp/lc_test_dead_XXXXXX";
    struct sink s = {.dir = dir};
    struct lc_delivery_dead_replay_stats st;
    long renamed, bad, removed;
    int rc;
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    append_msgs(dir, 0, 3);
    add_file(dir, "", "not json\n");
    n_syncs = 0;
    rc = lc_delivery_dead_replay(dir, "out", 10, sink_send, &s, &st);
    renamed = synced(0, dir, "dead", "out.jsonl.replay", "out.jsonl");
    bad = synced(0, dir, "dead", "out.jsonl.replay out.jsonl.bad", "out.jsonl");
    removed = synced(0, dir, "dead", "out.jsonl.bad", "out.jsonl out.jsonl.replay");
    rm_rf(dir);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(s.n, 3);
    ASSERT_TRUE(renamed >= 0);
    ASSERT_TRUE(bad >= 0);
    ASSERT_TRUE(removed > bad);
}

/* A replay that stops midway puts the rest back into a new dead-letter file: that file's
 * entry is synced before the replay file, which still holds the rest, is removed; the
 * removal is synced too. The same for the recovery at start. */
TEST(put_back_syncs_the_new_file_before_removing_the_old)
{
    char dir[] = "/tmp/lc_test_dead_XXXXXX";
    struct sink s = {.dir = dir, .fail_at_call = 1};
    struct lc_delivery_dead_replay_stats st;
    long both[2], gone[2];
    uint64_t count;
    int rc[2];
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    append_msgs(dir, 0, 3);
    n_syncs = 0;
    rc[0] = lc_delivery_dead_replay(dir, "out", 10, sink_send, &s, &st);
    both[0] = synced(0, dir, "dead", "out.jsonl out.jsonl.replay", "");
    gone[0] = synced(0, dir, "dead", "out.jsonl", "out.jsonl.replay");
    count = lc_delivery_dead_count(dir, "out");
    put_file(dir, ".replay", "old\n");
    n_syncs = 0;
    rc[1] = lc_delivery_dead_recover(dir, "out");
    both[1] = synced(0, dir, "dead", "out.jsonl out.jsonl.replay", "");
    gone[1] = synced(0, dir, "dead", "out.jsonl", "out.jsonl.replay");
    rm_rf(dir);
    ASSERT_EQ(rc[0], -EIO);
    ASSERT_EQ(count, 3);
    ASSERT_EQ(rc[1], 0);
    for (int i = 0; i < 2; i++) {
        ASSERT_TRUE(both[i] >= 0);
        ASSERT_TRUE(gone[i] > both[i]);
    }
}

TEST_MAIN(TEST_ENTRY(round_trip_keeps_every_field),
          TEST_ENTRY(invalid_utf8_becomes_replacement_character),
          TEST_ENTRY(long_ts_is_cut_at_a_character), TEST_ENTRY(reasons_per_record_and_defaults),
          TEST_ENTRY(parse_refuses_what_is_not_a_record),
          TEST_ENTRY(append_after_a_torn_line_keeps_the_record_whole),
          TEST_ENTRY(failed_append_is_cut_back),
          TEST_ENTRY(append_fails_cleanly_when_the_directory_cannot_be_made),
          TEST_ENTRY(append_syncs_the_directory_entries),
          TEST_ENTRY(replay_syncs_its_renames_and_removals),
          TEST_ENTRY(put_back_syncs_the_new_file_before_removing_the_old),
          TEST_ENTRY(recover_puts_a_replay_file_back),
          TEST_ENTRY(replay_sends_in_batches_and_removes_the_file),
          TEST_ENTRY(replay_keeps_lines_that_are_not_records_in_the_bad_file),
          TEST_ENTRY(replay_records_refused_again_land_in_the_new_file),
          TEST_ENTRY(replay_failing_midway_puts_back_what_was_not_sent),
          TEST_ENTRY(replay_takes_a_replay_file_left_behind))
