/* test_output_file: the file output against a real directory (a mkdtemp directory under
 * /tmp, removed at the end of each test): JSON and text lines per container file, names
 * that cannot be file names, append across restarts, rotation with and without gzip at
 * record boundaries inside large batches (no file past rotate_bytes but a lone larger
 * record), the descriptor cache, and the retry after a short write (forced with
 * RLIMIT_FSIZE), also in a batch that crossed rotations: every record exactly once. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/log.h"
#include "core/record.h"
#include "base/util.h"
#include "outputs/file/file.h"
#include "test.h"

#define MAX_FILE (64 * 1024 * 1024)

/* ---- helpers ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Runs BODY in a fresh temporary directory and removes the directory afterwards. */
static void with_tmpdir(void (*body)(const char *dir, int *lc_test_failed), int *lc_test_failed)
{
    char dir[] = "/tmp/lc_test_output_file_XXXXXX";

    ASSERT_TRUE(mkdtemp(dir) != NULL);
    body(dir, lc_test_failed);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* An output entry whose file options (its opts) are held in a ring of static slots: each
 * call takes the next one, so the entry can be returned by value and outlive the call as
 * long as no test keeps more than RING of them at once. */
static struct lc_output_config config(const char *dir, enum lc_file_format format, uint64_t rotate,
                                      unsigned max_files, int compress)
{
    enum { RING = 16 };
    static struct lc_file_config ring[RING];
    static unsigned next;
    struct lc_file_config *f = &ring[next++ % RING];
    struct lc_output_config c;

    memset(&c, 0, sizeof(c));
    memset(f, 0, sizeof(*f));
    c.type = "file";
    c.name = "test";
    f->path = (char *)dir;
    f->format = format;
    f->rotate_bytes = rotate;
    f->max_files = max_files;
    f->compress = compress;
    c.opts = f;
    return c;
}

/* Metadata whose id is 64 times the hex digit ID. */
static struct lc_meta *meta(const char *name, char id)
{
    char hex[65];

    memset(hex, id, 64);
    hex[64] = '\0';
    return lc_meta_docker_create(hex, name, "nginx:1.25", "host-1", NULL, NULL, NULL);
}

/* Like the pipeline, numbers records uniquely and in order: a retry is recognised by seq. */
static uint64_t next_seq = 1;

/* Creates one record per message, MSGS[i] from container METAS[i], numbered from
 * next_seq. */
static struct lc_record **make_recs(struct lc_meta *const *metas, const char *const *msgs, size_t n)
{
    struct lc_record **recs = lc_xcalloc(n, sizeof(*recs));

    for (size_t i = 0; i < n; i++) {
        recs[i] =
            lc_record_create(metas[i], (i % 2) ? LC_STREAM_STDERR : LC_STREAM_STDOUT,
                             1700000000000000000LL + (int64_t)i, "2023-11-14T22:13:20.000000000Z",
                             30, msgs[i], strlen(msgs[i]), 0);
        recs[i]->seq = next_seq++;
    }
    return recs;
}

static void free_recs(struct lc_record **recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lc_record_destroy(recs[i]);
    }
    free(recs);
}

/* One send through the output, with a report as the delivery engine gives it. */
static enum lc_send_result send_reported(void *st, struct lc_record **recs, size_t n)
{
    struct lc_send_report rep = {0};
    enum lc_send_result res;
    lc_send_report_reset(&rep, n);
    res = lc_output_file.send(st, recs, n, &rep);
    lc_send_report_close(&rep);
    return res;
}

/* Sends one record per message, MSGS[i] from container METAS[i]. */
static enum lc_send_result send_msgs(void *st, struct lc_meta *const *metas,
                                     const char *const *msgs, size_t n)
{
    struct lc_record **recs = make_recs(metas, msgs, n);
    enum lc_send_result res = send_reported(st, recs, n);

    free_recs(recs, n);
    return res;
}

static enum lc_send_result send_one(void *st, struct lc_meta *m, const char *msg)
{
    return send_msgs(st, &m, &msg, 1);
}

/* Reads DIR/NAME; returns NULL when it cannot. */
static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[PATH_MAX], *data = NULL;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (lc_read_file(path, MAX_FILE, &data, len) != 0) {
        return NULL;
    }
    return data;
}

/* Decompresses DIR/NAME; returns NULL when it is missing or not gzip. */
static char *gunzip(const char *dir, const char *name, size_t *len)
{
    char path[PATH_MAX], chunk[4096];
    struct lc_buf b;
    gzFile gz;
    int n, direct;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    gz = gzopen(path, "rb");
    if (gz == NULL) {
        return NULL;
    }
    lc_buf_init(&b, 0);
    lc_buf_reserve(&b, 1);
    while ((n = gzread(gz, chunk, sizeof(chunk))) > 0) {
        lc_buf_add(&b, chunk, (size_t)n);
    }
    direct = gzdirect(gz);
    gzclose(gz);
    if (n < 0 || direct) {
        lc_buf_close(&b);
        return NULL;
    }
    return lc_buf_take(&b, len);
}

static int exists(const char *dir, const char *name)
{
    char path[PATH_MAX];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

/* Creates DIR/NAME holding TEXT, gzip-compressed when GZ. */
static int put(const char *dir, const char *name, const char *text, int gz)
{
    char path[PATH_MAX];
    int ok;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        ok = f != NULL && gzwrite(f, text, (unsigned)strlen(text)) == (int)strlen(text);
        ok = f != NULL && gzclose(f) == Z_OK && ok;
    } else {
        FILE *f = fopen(path, "w");
        ok = f != NULL && fputs(text, f) >= 0;
        ok = f != NULL && fclose(f) == 0 && ok;
    }
    return ok ? 0 : -1;
}

static long long file_size(const char *dir, const char *name)
{
    char path[PATH_MAX];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;

    if (d == NULL) {
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        n += de->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

static int count_lines(const char *s, size_t len)
{
    int n = 0;
    for (size_t i = 0; i < len; i++) {
        n += s[i] == '\n';
    }
    return n;
}

/* Appends the decompressed (GZ) or plain rotated files BASE.log.MAX ... BASE.log.1 and then
 * BASE.log to B, oldest first. */
static void concat_rotated(const char *dir, const char *base, unsigned max, int gz,
                           struct lc_buf *b)
{
    char name[256], *data;
    size_t len;

    for (unsigned k = max; k >= 1; k--) {
        snprintf(name, sizeof(name), "%s.log.%u%s", base, k, gz ? ".gz" : "");
        data = gz ? gunzip(dir, name, &len) : slurp(dir, name, &len);
        if (data != NULL) {
            lc_buf_add(b, data, len);
        }
        free(data);
    }
    snprintf(name, sizeof(name), "%s.log", base);
    data = slurp(dir, name, &len);
    if (data != NULL) {
        lc_buf_add(b, data, len);
    }
    free(data);
}

/* Reads BASE's files oldest first, as concat_rotated, appending them to ALL, and checks
 * that rotation happened at the right records: no file passes LIMIT unless it holds one
 * line alone, and no file was rotated early (its size plus the next file's first line
 * passes LIMIT). Returns the number of files read, or -1 when a check fails. */
static int check_bounds(const char *dir, const char *base, unsigned max, int gz, size_t limit,
                        struct lc_buf *all)
{
    char name[256], *data;
    size_t len, prev = 0;
    int files = 0, bad = 0;

    for (unsigned k = max + 1; k-- > 0;) {
        if (k > 0) {
            snprintf(name, sizeof(name), "%s.log.%u%s", base, k, gz ? ".gz" : "");
            data = gz ? gunzip(dir, name, &len) : slurp(dir, name, &len);
        } else {
            snprintf(name, sizeof(name), "%s.log", base);
            data = slurp(dir, name, &len);
        }
        if (data == NULL) {
            continue;
        }
        if (len > limit && count_lines(data, len) != 1) {
            fprintf(stderr, "  %s: %zu bytes in %d lines\n", name, len, count_lines(data, len));
            bad = 1;
        }
        if (files > 0 && len > 0 && prev + (size_t)(strchr(data, '\n') + 1 - data) <= limit) {
            fprintf(stderr, "  %s: the file before it was rotated early\n", name);
            bad = 1;
        }
        lc_buf_add(all, data, len);
        prev = len;
        files++;
        free(data);
    }
    return bad ? -1 : files;
}

/* Writes into OUT (of LEN + 1 bytes) a line of LEN bytes without its newline: TAG, I, and
 * filler. */
static void line_of(char *out, size_t len, const char *tag, int i)
{
    int n = snprintf(out, len + 1, "%s-%05d-", tag, i);

    if ((size_t)n < len) {
        memset(out + n, 'x', len - (size_t)n);
    }
    out[len] = '\0';
}

/* ---- tests ---- */

static void check_json_lines(const char *dir, int *lc_test_failed)
{
    char path[512], *data;
    struct lc_output_config cfg;
    struct lc_meta *web = meta("web", 'a'), *db = meta("db", 'b');
    struct lc_meta *metas[] = {web, db, web};
    const char *msgs[] = {"m0 \"quoted\"", "m1", "m2"};
    void *st = NULL;
    size_t len;
    json_t *obj;
    json_error_t jerr;

    snprintf(path, sizeof(path), "%s/nested/logs", dir);
    cfg = config(path, LC_FILE_FORMAT_JSON, 1 << 20, 5, 1);
    ASSERT_EQ(lc_output_file.init(&st, &cfg), 0);
    ASSERT_EQ(send_msgs(st, metas, msgs, 3), LC_OK);
    ASSERT_EQ(lc_output_file.flush(st), 0);
    lc_output_file.destroy(st);
    lc_meta_unref(web);
    lc_meta_unref(db);

    data = slurp(path, "web.log", &len);
    ASSERT_TRUE(data != NULL);
    ASSERT_EQ(count_lines(data, len), 2);
    obj = json_loadb(data, strchr(data, '\n') - data, 0, &jerr);
    ASSERT_TRUE(obj != NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(obj, "container_name")), "web");
    ASSERT_STR_EQ(json_string_value(json_object_get(obj, "message")), "m0 \"quoted\"");
    ASSERT_STR_EQ(json_string_value(json_object_get(obj, "stream")), "stdout");
    json_decref(obj);
    obj = json_loads(strchr(data, '\n') + 1, 0, &jerr);
    ASSERT_TRUE(obj != NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(obj, "message")), "m2");
    json_decref(obj);
    free(data);

    data = slurp(path, "db.log", &len);
    ASSERT_TRUE(data != NULL);
    obj = json_loads(data, 0, &jerr);
    ASSERT_TRUE(obj != NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(obj, "container_name")), "db");
    ASSERT_STR_EQ(json_string_value(json_object_get(obj, "stream")), "stderr");
    ASSERT_STR_EQ(json_string_value(json_object_get(obj, "message")), "m1");
    json_decref(obj);
    free(data);
}

TEST(json_lines_per_container)
{
    with_tmpdir(check_json_lines, lc_test_failed);
}

static void check_text(const char *dir, int *lc_test_failed)
{
    struct lc_output_config cfg = config(dir, LC_FILE_FORMAT_TEXT, 0, 5, 1);
    struct lc_meta *web = meta("web", 'a');
    struct lc_meta *metas[] = {web, web};
    const char *msgs[] = {"hello", "world"};
    void *st = NULL;
    char *data;
    size_t len;

    ASSERT_EQ(lc_output_file.init(&st, &cfg), 0);
    ASSERT_EQ(send_msgs(st, metas, msgs, 2), LC_OK);
    lc_output_file.destroy(st);
    lc_meta_unref(web);
    data = slurp(dir, "web.log", &len);
    ASSERT_TRUE(data != NULL);
    ASSERT_MEM_EQ(data, len, "hello\nworld\n", 12);
    free(data);
}

TEST(text_format)
{
    with_tmpdir(check_text, lc_test_failed);
}

static void check_names(const char *dir, int *lc_test_failed)
{
    struct lc_output_config cfg = config(dir, LC_FILE_FORMAT_TEXT, 0, 5, 1);
    struct lc_meta *slash = meta("a/b", 'a'), *empty = meta("", 'b'), *dot = meta(".hid", 'c');
    struct lc_meta *old = meta("old", 'd'), *renamed = meta("new", 'd');
    struct lc_meta *metas[] = {slash, empty, dot, old, renamed};
    const char *msgs[] = {"1", "2", "3", "4", "5"};
    void *st = NULL;
    char *data;
    size_t len;

    ASSERT_EQ(lc_output_file.init(&st, &cfg), 0);
    ASSERT_EQ(send_msgs(st, metas, msgs, 5), LC_OK);
    lc_output_file.destroy(st);
    for (size_t i = 0; i < 5; i++) {
        lc_meta_unref(metas[i]);
    }
    ASSERT_EQ(file_size(dir, "aaaaaaaaaaaa.log"), 2);
    ASSERT_EQ(file_size(dir, "bbbbbbbbbbbb.log"), 2);
    ASSERT_EQ(file_size(dir, "cccccccccccc.log"), 2);
    ASSERT_TRUE(!exists(dir, ".hid.log"));
    data = slurp(dir, "new.log", &len);
    ASSERT_TRUE(data != NULL);
    ASSERT_MEM_EQ(data, len, "5\n", 2);
    free(data);
    ASSERT_EQ(file_size(dir, "old.log"), 2);
}

TEST(unusable_names_and_renames)
{
    with_tmpdir(check_names, lc_test_failed);
}

static void check_append(const char *dir, int *lc_test_failed)
{
    /* 10-byte lines, rotation past 25 bytes, no compression */
    struct lc_output_config cfg = config(dir, LC_FILE_FORMAT_TEXT, 25, 5, 0);
    struct lc_meta *web = meta("web", 'a');
    void *st = NULL;
    char *data;
    size_t len;

    ASSERT_EQ(lc_output_file.init(&st, &cfg), 0);
    ASSERT_EQ(send_one(st, web, "line-0001"), LC_OK);
    ASSERT_EQ(send_one(st, web, "line-0002"), LC_OK);
    lc_output_file.destroy(st);
    st = NULL;

    ASSERT_EQ(lc_output_file.init(&st, &cfg), 0);
    ASSERT_EQ(file_size(dir, "web.log"), 20);
    /* the size found on disk counts: 20 + 10 passes 25, so this rotates first */
    ASSERT_EQ(send_one(st, web, "line-0003"), LC_OK);
    lc_output_file.destroy(st);
    lc_meta_unref(web);

    data = slurp(dir, "web.log.1", &len);
    ASSERT_TRUE(data != NULL);
    ASSERT_MEM_EQ(data, len, "line-0001\nline-0002\n", 20);
    free(data);
    data = slurp(dir, "web.log", &len);
    ASSERT_TRUE(data != NULL);
    ASSERT_MEM_EQ(data, len, "line-0003\n", 10);
    free(data);
}

TEST(append_across_restart)
{
    with_tmpdir(check_append, lc_test_failed);
}

/* A crash in the middle of a batch left a torn last line (no newline): the next start cuts
 * it before appending, so no line is two records glued; a file ending in a newline, or
 * holding no newline at all, is kept or emptied accordingly. */
static void check_torn_tail(const char *dir, int *lc_test_failed)
{
    struct lc_output_config cfg = config(dir, LC_FILE_FORMAT_TEXT, 1 << 20, 5, 0);
    struct lc_meta *web = meta("web", 'a'), *db = meta("db", 'b');
    char big[10000];
    void *st = NULL;
    char *data;
    size_t len;

    memset(big, 'x', sizeof(big));
    ASSERT_EQ(put(dir, "web.log", "line-0001\nline-00", 0), 0);
    /* a torn line longer than one read of the scan back */
    memcpy(big, "whole\n", 6);
    big[sizeof(big) - 1] = '\0';
    ASSERT_EQ(put(dir, "db.log", big, 0), 0);
    ASSERT_EQ(lc_output_file.init(&st, &cfg), 0);
    ASSERT_EQ(send_one(st, web, "line-0002"), LC_OK);
    ASSERT_EQ(send_one(st, db, "next"), LC_OK);
    lc_output_file.destroy(st);
    data = slurp(dir, "web.log", &len);
    ASSERT_MEM_EQ(data, len, "line-0001\nline-0002\n", 20);
    free(data);
    data = slurp(dir, "db.log", &len);
    ASSERT_MEM_EQ(data, len, "whole\nnext\n", 11);
    free(data);
    /* nothing but a torn line: emptied; a whole file: kept */
    ASSERT_EQ(put(dir, "web.log", "torn", 0), 0);
    ASSERT_EQ(put(dir, "db.log", "a\nb\n", 0), 0);
    st = NULL;
    ASSERT_EQ(lc_output_file.init(&st, &cfg), 0);
    ASSERT_EQ(send_one(st, web, "w"), LC_OK);
    ASSERT_EQ(send_one(st, db, "c"), LC_OK);
    lc_output_file.destroy(st);
    data = slurp(dir, "web.log", &len);
    ASSERT_MEM_EQ(data, len, "w\n", 2);
    free(data);
    data = slurp(dir, "db.log", &len);
    ASSERT_MEM_EQ(data, len, "a\nb\nc\n", 6);
    free(data);
    lc_meta_unref(web);
    lc_meta_unref(db);
}

TEST(torn_tail_cut_at_open)
{
    with_tmpdir(check_torn_tail, lc_test_failed);
}

/* Sends N 10-byte lines "line-NNNN" to WEB, in batches of 1..BATCH records. */
static int send_lines(void *st, struct lc_meta *web, int first, int n, int batch)
{
    struct lc_meta *metas[16];
    char text[16][24];
    const char *msgs[16];
    int i = first, size = 1;

    while (i < first + n) {
        int k = 0;
        for (; k < size && i < first + n; k++, i++) {
            metas[k] = web;
            snprintf(text[k], sizeof(text[k]), "line-%04d", i);
            msgs[k] = text[k];
        }
        if (send_msgs(st, metas, msgs, (size_t)k) != LC_OK) {
            return -1;
        }
        size = size % batch + 1;
    }
    return 0;
}

/* Checks that B holds exactly the lines line-FIRST .. line-LAST, in order. */
static int lines_are(const struct lc_buf *b, int first, int last)
{
    char line[24];

    if (b->len != (size_t)(last - first + 1) * 10) {
        return 0;
    }
    for (int i = first; i <= last; i++) {
        snprintf(line, sizeof(line), "line-%04d\n", i);
        if (memcmp(b->data + (size_t)(i - first) * 10, line, 10) != 0) {
            return 0;
        }
    }
    return 1;
}

static void check_rotation_max_files(const char *dir, int *lc_test_failed)
{
    struct lc_output_config cfg = config(dir, LC_FILE_FORMAT_TEXT, 100, 3, 1);
    struct lc_meta *web = meta("web", 'a');
    void *st = NULL;
    struct lc_buf all;
    int ok;

    /* left by an earlier run with a larger max_files */
    for (int k = 1; k <= 5; k++) {
        char name[32];
        snprintf(name, sizeof(name), "web.log.%d.gz", k);
        ASSERT_EQ(put(dir, name, "stale\n", 1), 0);
    }
    ASSERT_EQ(lc_output_file.init(&st, &cfg), 0);
    ASSERT_EQ(send_lines(st, web, 1, 200, 1), 0);
    lc_output_file.destroy(st);
    lc_meta_unref(web);

    /* files hold 10 lines each: 161-170 in .3.gz ... 191-200 in web.log */
    ASSERT_TRUE(exists(dir, "web.log.1.gz"));
    ASSERT_TRUE(exists(dir, "web.log.2.gz"));
    ASSERT_TRUE(exists(dir, "web.log.3.gz"));
    ASSERT_TRUE(!exists(dir, "web.log.4.gz"));
    ASSERT_TRUE(!exists(dir, "web.log.5.gz"));
    ASSERT_TRUE(!exists(dir, "web.log.1"));
    ASSERT_TRUE(!exists(dir, "web.log.1.gz.tmp"));
    lc_buf_init(&all, 0);
    concat_rotated(dir, "web", 10, 1, &all);
    ok = lines_are(&all, 161, 200);
    lc_buf_close(&all);
    ASSERT_TRUE(ok);
}

TEST(rotation_keeps_max_files)
{
    with_tmpdir(check_rotation_max_files, lc_test_failed);
}

static void check_rotation_every_record(const char *dir, int *lc_test_failed)
{
    struct lc_output_config cfg = config(dir, LC_FILE_FORMAT_TEXT, 100, 100, 1);
    struct lc_meta *web = meta("web", 'a');
    void *st = NULL;
    struct lc_buf all;
    int ok;

    ASSERT_EQ(lc_output_file.init(&st, &cfg), 0);
    ASSERT_EQ(send_lines(st, web, 1, 300, 7), 0);
    ASSERT_EQ(lc_output_file.flush(st), 0);
    lc_output_file.destroy(st);
    lc_meta_unref(web);

    /* 3000 bytes in files of exactly 100 bytes, batches split between their records */
    ASSERT_TRUE(exists(dir, "web.log.29.gz"));
    ASSERT_TRUE(!exists(dir, "web.log.30.gz"));
    ASSERT_EQ(file_size(dir, "web.log"), 100);
    lc_buf_init(&all, 0);
    ok = check_bounds(dir, "web", 100, 1, 100, &all) == 30 && lines_are(&all, 1, 300);
    lc_buf_close(&all);
    ASSERT_TRUE(ok);
}

#define BIG_BATCH 4096
#define BIG_LIMIT 4096
#define BIG_CONTAINERS 3

/* Sends batches of BIG_BATCH records of 1 to 400 bytes, spread over BIG_CONTAINERS
 * containers (runs of one container, then interleaved), one of 3 * BIG_LIMIT bytes among
 * them. Appends what each container was sent to EXPECT[c]. */
static int send_big_batches(void *st, struct lc_meta **metas, struct lc_buf *expect)
{
    static char text[BIG_BATCH][401], huge[3 * BIG_LIMIT];
    static struct lc_meta *bm[BIG_BATCH];
    static const char *msgs[BIG_BATCH];
    unsigned rnd = 12345;

    for (int b = 0; b < 2; b++) {
        for (int i = 0; i < BIG_BATCH; i++) {
            int c = b == 0 ? i * BIG_CONTAINERS / BIG_BATCH : i % BIG_CONTAINERS;
            size_t len;
            rnd = rnd * 1103515245u + 12345u;
            len = 20 + rnd / 65536 % 381; /* with its newline */
            line_of(text[i], len - 1, "big", b * BIG_BATCH + i);
            msgs[i] = text[i];
            if (b == 1 && i == 1000) {
                line_of(huge, sizeof(huge) - 1, "huge", i);
                msgs[i] = huge;
            }
            bm[i] = metas[c];
            lc_buf_adds(&expect[c], msgs[i]);
            lc_buf_addc(&expect[c], '\n');
        }
        if (send_msgs(st, bm, msgs, BIG_BATCH) != LC_OK) {
            return -1;
        }
    }
    return 0;
}

static void check_rotation_bounds(const char *dir, int *lc_test_failed)
{
    struct lc_output_config cfg = config(dir, LC_FILE_FORMAT_TEXT, BIG_LIMIT, 1000, 1);
    struct lc_meta *metas[BIG_CONTAINERS];
    struct lc_buf expect[BIG_CONTAINERS], all;
    void *st = NULL;
    int bad = 0, rc;

    for (int c = 0; c < BIG_CONTAINERS; c++) {
        char name[16];
        snprintf(name, sizeof(name), "c%d", c);
        metas[c] = meta(name, (char)('a' + c));
        lc_buf_init(&expect[c], 0);
    }
    ASSERT_EQ(lc_output_file.init(&st, &cfg), 0);
    rc = send_big_batches(st, metas, expect);
    lc_output_file.destroy(st);
    for (int c = 0; c < BIG_CONTAINERS; c++) {
        char name[16];
        int files;
        snprintf(name, sizeof(name), "c%d", c);
        lc_buf_init(&all, 0);
        files = check_bounds(dir, name, 1000, 1, BIG_LIMIT, &all);
        /* each container gets about 280 KB: tens of files, not one or two per batch */
        bad += files < 2 * (int)(expect[c].len / BIG_LIMIT) / 3;
        bad += all.len != expect[c].len || memcmp(all.data, expect[c].data, all.len) != 0;
        lc_buf_close(&all);
        lc_buf_close(&expect[c]);
        lc_meta_unref(metas[c]);
    }
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(bad, 0);
}

TEST(rotation_at_record_boundaries_in_large_batches)
{
    with_tmpdir(check_rotation_bounds, lc_test_failed);
}

TEST(rotation_keeps_every_record_once)
{
    with_tmpdir(check_rotation_every_record, lc_test_failed);
}

static void check_rotation_plain(const char *dir, int *lc_test_failed)
{
    struct lc_output_config cfg = config(dir, LC_FILE_FORMAT_TEXT, 100, 2, 0);
    struct lc_meta *web = meta("web", 'a');
    void *st = NULL;
    struct lc_buf all;
    int ok;

    ASSERT_EQ(lc_output_file.init(&st, &cfg), 0);
    ASSERT_EQ(send_lines(st, web, 1, 95, 3), 0);
    lc_output_file.destroy(st);
    lc_meta_unref(web);

    ASSERT_TRUE(exists(dir, "web.log.1"));
    ASSERT_TRUE(exists(dir, "web.log.2"));
    ASSERT_TRUE(!exists(dir, "web.log.3"));
    ASSERT_TRUE(!exists(dir, "web.log.1.gz"));
    lc_buf_init(&all, 0);
    concat_rotated(dir, "web", 2, 0, &all);
    /* three files of at most 100 bytes, rotated between batches, ending at line 95 */
    ok = all.len >= 150 && all.len <= 300 && lines_are(&all, 96 - (int)all.len / 10, 95);
    lc_buf_close(&all);
    ASSERT_TRUE(ok);
}

TEST(rotation_without_compression)
{
    with_tmpdir(check_rotation_plain, lc_test_failed);
}

static void check_max_files_zero(const char *dir, int *lc_test_failed)
{
    struct lc_output_config cfg = config(dir, LC_FILE_FORMAT_TEXT, 20, 0, 1);
    struct lc_meta *web = meta("web", 'a');
    void *st = NULL;
    char *data;
    size_t len;

    ASSERT_EQ(lc_output_file.init(&st, &cfg), 0);
    ASSERT_EQ(send_lines(st, web, 1, 3, 1), 0);
    lc_output_file.destroy(st);
    lc_meta_unref(web);
    data = slurp(dir, "web.log", &len);
    ASSERT_TRUE(data != NULL);
    ASSERT_MEM_EQ(data, len, "line-0003\n", 10);
    free(data);
    ASSERT_TRUE(!exists(dir, "web.log.1"));
    ASSERT_TRUE(!exists(dir, "web.log.1.gz"));
}

TEST(rotation_with_max_files_zero)
{
    with_tmpdir(check_max_files_zero, lc_test_failed);
}

static void check_large_record(const char *dir, int *lc_test_failed)
{
    struct lc_output_config cfg = config(dir, LC_FILE_FORMAT_TEXT, 100, 5, 1);
    struct lc_meta *web = meta("web", 'a');
    struct lc_meta *metas[] = {web, web, web};
    const char *msgs[] = {"big-batch-1", "big-batch-2", NULL};
    char big[500], *data;
    void *st = NULL;
    size_t len;

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    msgs[2] = big;
    ASSERT_EQ(lc_output_file.init(&st, &cfg), 0);
    ASSERT_EQ(send_lines(st, web, 1, 3, 1), 0);
    ASSERT_EQ(send_one(st, web, big), LC_OK);
    ASSERT_EQ(file_size(dir, "web.log"), 500);
    ASSERT_EQ(send_msgs(st, metas, msgs, 3), LC_OK);
    lc_output_file.destroy(st);
    lc_meta_unref(web);

    /* the 3 small lines, the big record alone, the two small records of the last batch,
     * then its big record alone again: rotation splits a batch between records */
    data = gunzip(dir, "web.log.3.gz", &len);
    ASSERT_TRUE(data != NULL);
    ASSERT_MEM_EQ(data, len, "line-0001\nline-0002\nline-0003\n", 30);
    free(data);
    data = gunzip(dir, "web.log.2.gz", &len);
    ASSERT_TRUE(data != NULL);
    ASSERT_EQ(len, 500);
    ASSERT_TRUE(data[0] == 'x' && data[498] == 'x' && data[499] == '\n');
    free(data);
    data = gunzip(dir, "web.log.1.gz", &len);
    ASSERT_TRUE(data != NULL);
    ASSERT_MEM_EQ(data, len, "big-batch-1\nbig-batch-2\n", 24);
    free(data);
    data = slurp(dir, "web.log", &len);
    ASSERT_TRUE(data != NULL);
    ASSERT_EQ(len, 500);
    ASSERT_TRUE(data[0] == 'x' && data[499] == '\n');
    free(data);
    ASSERT_TRUE(!exists(dir, "web.log.4.gz"));
}

static void check_large_first(const char *dir, int *lc_test_failed)
{
    struct lc_output_config cfg = config(dir, LC_FILE_FORMAT_TEXT, 100, 5, 1);
    struct lc_meta *web = meta("web", 'a');
    char big[300];
    void *st = NULL;

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ASSERT_EQ(lc_output_file.init(&st, &cfg), 0);
    /* an empty file is never rotated, however large the batch */
    ASSERT_EQ(send_one(st, web, big), LC_OK);
    lc_output_file.destroy(st);
    lc_meta_unref(web);
    ASSERT_EQ(file_size(dir, "web.log"), 300);
    ASSERT_TRUE(!exists(dir, "web.log.1.gz"));
}

TEST(large_record_into_empty_file)
{
    with_tmpdir(check_large_first, lc_test_failed);
}

static void check_interrupted(const char *dir, int *lc_test_failed)
{
    struct lc_output_config cfg = config(dir, LC_FILE_FORMAT_TEXT, 8, 5, 1);
    struct lc_meta *web = meta("web", 'a'), *api = meta("api", 'b');
    char *data;
    void *st = NULL;
    size_t len;

    /* web: renamed to .log.1, never compressed; api: compressed, .log.1 not yet removed */
    ASSERT_EQ(put(dir, "web.log.1", "old-1\n", 0), 0);
    ASSERT_EQ(put(dir, "web.log", "old-2\n", 0), 0);
    ASSERT_EQ(put(dir, "api.log.1", "dup-1\n", 0), 0);
    ASSERT_EQ(put(dir, "api.log.1.gz", "dup-1\n", 1), 0);
    ASSERT_EQ(put(dir, "api.log", "api-2\n", 0), 0);
    ASSERT_EQ(lc_output_file.init(&st, &cfg), 0);
    ASSERT_EQ(send_one(st, web, "new"), LC_OK);
    ASSERT_EQ(send_one(st, api, "new"), LC_OK);
    lc_output_file.destroy(st);
    lc_meta_unref(web);
    lc_meta_unref(api);

    data = gunzip(dir, "web.log.2.gz", &len);
    ASSERT_TRUE(data != NULL);
    ASSERT_MEM_EQ(data, len, "old-1\n", 6);
    free(data);
    data = gunzip(dir, "web.log.1.gz", &len);
    ASSERT_TRUE(data != NULL);
    ASSERT_MEM_EQ(data, len, "old-2\n", 6);
    free(data);
    data = gunzip(dir, "api.log.2.gz", &len);
    ASSERT_TRUE(data != NULL);
    ASSERT_MEM_EQ(data, len, "dup-1\n", 6);
    free(data);
    ASSERT_TRUE(!exists(dir, "web.log.1"));
    ASSERT_TRUE(!exists(dir, "api.log.1"));
    ASSERT_TRUE(!exists(dir, "api.log.3.gz"));
    ASSERT_EQ(file_size(dir, "web.log"), 4);
}

TEST(interrupted_rotation_is_finished)
{
    with_tmpdir(check_interrupted, lc_test_failed);
}

TEST(record_larger_than_rotate_bytes)
{
    with_tmpdir(check_large_record, lc_test_failed);
}

#define N_CONTAINERS 300

static void check_many(const char *dir, int *lc_test_failed)
{
    struct lc_output_config cfg = config(dir, LC_FILE_FORMAT_TEXT, 1 << 20, 5, 1);
    static struct lc_meta *metas[N_CONTAINERS];
    static char text[N_CONTAINERS][32];
    const char *msgs[N_CONTAINERS];
    int before = count_fds(), during, bad = 0;
    void *st = NULL;

    for (int i = 0; i < N_CONTAINERS; i++) {
        snprintf(text[i], sizeof(text[i]), "c%03d", i);
        metas[i] = meta(text[i], 'a');
        msgs[i] = text[i];
    }
    ASSERT_TRUE(before > 0);
    ASSERT_EQ(lc_output_file.init(&st, &cfg), 0);
    ASSERT_EQ(send_msgs(st, metas, msgs, N_CONTAINERS), LC_OK);
    ASSERT_EQ(send_msgs(st, metas, msgs, N_CONTAINERS), LC_OK);
    during = count_fds();
    ASSERT_EQ(lc_output_file.flush(st), 0);
    lc_output_file.destroy(st);
    for (int i = 0; i < N_CONTAINERS; i++) {
        char name[64], expect[64];
        size_t len;
        char *data;
        snprintf(name, sizeof(name), "c%03d.log", i);
        snprintf(expect, sizeof(expect), "c%03d\nc%03d\n", i, i);
        data = slurp(dir, name, &len);
        bad += data == NULL || len != strlen(expect) || memcmp(data, expect, len) != 0;
        free(data);
        lc_meta_unref(metas[i]);
    }
    ASSERT_EQ(bad, 0);
    /* 128 log files and the directory */
    ASSERT_EQ(during - before, 129);
    ASSERT_EQ(count_fds(), before);
}

TEST(descriptor_cache)
{
    with_tmpdir(check_many, lc_test_failed);
}

#define N_ROLLBACK 130

/* Fills b.log to 4000 bytes and lowers RLIMIT_FSIZE to 4096 so that the next 200-byte
 * line to b.log is written short and then fails with EFBIG. */
static int prepare_short_write(void *st, struct lc_meta *b, struct rlimit *saved)
{
    char line[100];
    struct rlimit lim;

    memset(line, 'b', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    for (int i = 0; i < 40; i++) {
        if (send_one(st, b, line) != LC_OK) {
            return -1;
        }
    }
    signal(SIGXFSZ, SIG_IGN);
    if (getrlimit(RLIMIT_FSIZE, saved) != 0) {
        return -1;
    }
    lim = *saved;
    lim.rlim_cur = 4096;
    return setrlimit(RLIMIT_FSIZE, &lim);
}

static void check_retry(const char *dir, int *lc_test_failed)
{
    struct lc_output_config cfg = config(dir, LC_FILE_FORMAT_TEXT, 1 << 20, 5, 1);
    static struct lc_meta *metas[N_ROLLBACK + 1];
    static char text[N_ROLLBACK][32];
    const char *msgs[N_ROLLBACK + 1];
    char big[200], name[64];
    struct lc_record **recs;
    struct rlimit saved;
    enum lc_send_result res;
    void *st = NULL;
    int bad = 0, rc;

    memset(big, 'B', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    /* the batch: one line to each of 130 files (more than the cache holds), then b.log */
    for (int i = 0; i < N_ROLLBACK; i++) {
        snprintf(text[i], sizeof(text[i]), "r%03d", i);
        metas[i] = meta(text[i], 'a');
        msgs[i] = text[i];
    }
    metas[N_ROLLBACK] = meta("b", 'b');
    msgs[N_ROLLBACK] = big;
    ASSERT_EQ(lc_output_file.init(&st, &cfg), 0);
    rc = prepare_short_write(st, metas[N_ROLLBACK], &saved);
    ASSERT_EQ(rc, 0);
    recs = make_recs(metas, msgs, N_ROLLBACK + 1);
    res = send_reported(st, recs, N_ROLLBACK + 1);
    rc = setrlimit(RLIMIT_FSIZE, &saved);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res, LC_RETRY);

    /* everything this batch wrote was undone, including files closed since */
    ASSERT_EQ(file_size(dir, "b.log"), 4000);
    for (int i = 0; i < N_ROLLBACK; i++) {
        snprintf(name, sizeof(name), "r%03d.log", i);
        bad += file_size(dir, name) != 0;
    }
    ASSERT_EQ(bad, 0);

    /* the same batch again, as the pipeline does */
    res = send_reported(st, recs, N_ROLLBACK + 1);
    free_recs(recs, N_ROLLBACK + 1);
    ASSERT_EQ(res, LC_OK);
    ASSERT_EQ(lc_output_file.flush(st), 0);
    lc_output_file.destroy(st);
    ASSERT_EQ(file_size(dir, "b.log"), 4200);
    for (int i = 0; i < N_ROLLBACK; i++) {
        snprintf(name, sizeof(name), "r%03d.log", i);
        bad += file_size(dir, name) != 5;
        lc_meta_unref(metas[i]);
    }
    lc_meta_unref(metas[N_ROLLBACK]);
    ASSERT_EQ(bad, 0);
}

TEST(short_write_is_undone_for_retry)
{
    with_tmpdir(check_retry, lc_test_failed);
}

#define X_LINES 30 /* web lines of 100 bytes in the batch, with rotate_bytes 1000 */
#define X_BIG 25   /* the huge web line comes after this many */
#define X_API 6    /* api lines interleaved */
#define X_N (X_LINES + 1 + X_API)

/* The batch for check_retry_rotation: api-0, web-1 .. web-25, web's huge line, web-26 ..
 * web-30, with api-1 .. api-5 among them. Appends what each container gets to WEB and API. */
static size_t rotation_batch(struct lc_meta *web, struct lc_meta *api, struct lc_meta **metas,
                             const char **msgs, struct lc_buf *want_web, struct lc_buf *want_api)
{
    static char text[X_N][100], huge[3000];
    size_t n = 0;
    int a = 0;

    for (int i = 0; i <= X_LINES; i++) {
        if (i % 6 == 0 && a < X_API) {
            line_of(text[n], 20, "api", a++);
            metas[n] = api;
            msgs[n] = text[n];
            n++;
        }
        if (i > 0) {
            line_of(text[n], 99, "web", i);
            metas[n] = web;
            msgs[n] = text[n];
            n++;
        }
        if (i == X_BIG) {
            line_of(huge, sizeof(huge) - 1, "huge", 0);
            metas[n] = web;
            msgs[n++] = huge;
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct lc_buf *b = metas[i] == web ? want_web : want_api;
        lc_buf_adds(b, msgs[i]);
        lc_buf_addc(b, '\n');
    }
    return n;
}

/* Sends the records of RECS that BATCH (the batch's report, kept across its tries) has not
 * marked, and keeps the output's marks in BATCH: what the delivery engine does with a batch
 * sent again (lc_output_send_rest). */
static enum lc_send_result send_unmarked(void *st, struct lc_record **recs, size_t n,
                                         struct lc_send_report *batch)
{
    struct lc_send_report scratch = {0};
    enum lc_send_result res = lc_output_send_rest(&lc_output_file, st, recs, n, batch, &scratch);

    lc_send_report_close(&scratch);
    return res;
}

/* send_unmarked with RLIMIT_FSIZE at LIMIT. */
static enum lc_send_result send_limited(void *st, struct lc_record **recs, size_t n, rlim_t limit,
                                        struct lc_send_report *batch)
{
    struct rlimit saved, lim;
    enum lc_send_result res;

    signal(SIGXFSZ, SIG_IGN);
    if (getrlimit(RLIMIT_FSIZE, &saved) != 0) {
        return (enum lc_send_result) - 1;
    }
    lim = saved;
    lim.rlim_cur = limit;
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) {
        return (enum lc_send_result) - 1;
    }
    res = send_unmarked(st, recs, n, batch);
    if (setrlimit(RLIMIT_FSIZE, &saved) != 0) {
        return (enum lc_send_result) - 1;
    }
    return res;
}

static void check_retry_rotation(const char *dir, int *lc_test_failed)
{
    struct lc_output_config cfg = config(dir, LC_FILE_FORMAT_TEXT, 1000, 10, 1);
    struct lc_meta *web = meta("web", 'a'), *api = meta("api", 'b');
    struct lc_meta *metas[X_N];
    const char *msgs[X_N];
    struct lc_buf want_web, want_api, got;
    struct lc_record **recs;
    struct lc_send_report batch = {0};
    char pre[100];
    void *st = NULL;
    size_t n;
    int ok, files;

    lc_buf_init(&want_web, 0);
    lc_buf_init(&want_api, 0);
    ASSERT_EQ(lc_output_file.init(&st, &cfg), 0);
    /* web.log starts with 300 bytes */
    for (int i = 0; i < 3; i++) {
        line_of(pre, 99, "pre", i);
        ASSERT_EQ(send_one(st, web, pre), LC_OK);
        lc_buf_adds(&want_web, pre);
        lc_buf_addc(&want_web, '\n');
    }
    n = rotation_batch(web, api, metas, msgs, &want_web, &want_api);
    ASSERT_EQ(n, X_N);
    recs = make_recs(metas, msgs, n);

    /* web rotates before web-8, web-18 and the huge line, whose write into the fresh file
     * then stops at 2048 bytes: twice, the second time without rotating again. What went
     * into rotated files (web-1 .. web-25) is marked done, and only that: it is not sent
     * again; the rest was cut back. */
    lc_send_report_reset(&batch, n);
    ASSERT_EQ(send_limited(st, recs, n, 2048, &batch), LC_RETRY);
    ASSERT_EQ(batch.n_done, 25);
    ASSERT_EQ(file_size(dir, "web.log"), 0);
    ASSERT_EQ(file_size(dir, "api.log"), 0);
    ASSERT_TRUE(exists(dir, "web.log.3.gz"));
    ASSERT_TRUE(!exists(dir, "web.log.4.gz"));
    ASSERT_EQ(send_limited(st, recs, n, 2048, &batch), LC_RETRY);
    ASSERT_EQ(batch.n_done, 25);
    ASSERT_EQ(file_size(dir, "web.log"), 0);
    ASSERT_EQ(file_size(dir, "api.log"), 0);
    ASSERT_TRUE(!exists(dir, "web.log.4.gz"));
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ(batch.done[i], strncmp(msgs[i], "web-", 4) == 0 && atoi(msgs[i] + 4) <= 25);
    }

    /* the retry that succeeds writes only what is not in a rotated file yet */
    ASSERT_EQ(send_unmarked(st, recs, n, &batch), LC_OK);
    lc_send_report_close(&batch);
    ASSERT_EQ(lc_output_file.flush(st), 0);
    lc_output_file.destroy(st);
    free_recs(recs, n);
    lc_meta_unref(web);
    lc_meta_unref(api);

    lc_buf_init(&got, 0);
    files = check_bounds(dir, "web", 10, 1, 1000, &got);
    ok = got.len == want_web.len && memcmp(got.data, want_web.data, got.len) == 0;
    lc_buf_close(&got);
    lc_buf_init(&got, 0);
    ok = ok && check_bounds(dir, "api", 10, 1, 1000, &got) == 1;
    ok = ok && got.len == want_api.len && memcmp(got.data, want_api.data, got.len) == 0;
    lc_buf_close(&got);
    lc_buf_close(&want_web);
    lc_buf_close(&want_api);
    /* pre + web-1..7, web-8..17, web-18..25, the huge line alone, web-26..30 */
    ASSERT_EQ(files, 5);
    ASSERT_EQ(file_size(dir, "web.log"), 500);
    ASSERT_TRUE(ok);
}

TEST(retry_after_failure_across_rotations)
{
    with_tmpdir(check_retry_rotation, lc_test_failed);
}

static void check_init_fails(const char *dir, int *lc_test_failed)
{
    struct lc_output_config cfg;
    char file[512], path[512];
    void *st = NULL;
    FILE *f;

    snprintf(file, sizeof(file), "%s/plain", dir);
    f = fopen(file, "w");
    ASSERT_TRUE(f != NULL);
    fclose(f);
    snprintf(path, sizeof(path), "%s/plain/logs", dir);
    cfg = config(path, LC_FILE_FORMAT_JSON, 0, 5, 1);
    ASSERT_EQ(lc_output_file.init(&st, &cfg), -ENOTDIR);
    ASSERT_TRUE(st == NULL);
    cfg = config(file, LC_FILE_FORMAT_JSON, 0, 5, 1);
    ASSERT_EQ(lc_output_file.init(&st, &cfg), -ENOTDIR);
    ASSERT_TRUE(st == NULL);
    lc_output_file.destroy(NULL);
}

TEST(init_fails_when_path_unusable)
{
    with_tmpdir(check_init_fails, lc_test_failed);
}

TEST_MAIN(TEST_ENTRY(json_lines_per_container), TEST_ENTRY(text_format),
          TEST_ENTRY(unusable_names_and_renames), TEST_ENTRY(append_across_restart),
          TEST_ENTRY(torn_tail_cut_at_open), TEST_ENTRY(rotation_keeps_max_files),
          TEST_ENTRY(rotation_keeps_every_record_once),
          TEST_ENTRY(rotation_at_record_boundaries_in_large_batches),
          TEST_ENTRY(rotation_without_compression), TEST_ENTRY(rotation_with_max_files_zero),
          TEST_ENTRY(record_larger_than_rotate_bytes), TEST_ENTRY(large_record_into_empty_file),
          TEST_ENTRY(interrupted_rotation_is_finished), TEST_ENTRY(descriptor_cache),
          TEST_ENTRY(short_write_is_undone_for_retry),
          TEST_ENTRY(retry_after_failure_across_rotations),
          TEST_ENTRY(init_fails_when_path_unusable))
