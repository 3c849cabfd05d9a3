/* test_output_file: the file output against a real directory (a mkdtemp directory under
 * /tmp, removed at the end of each test): JSON and text lines per container file, names
 * that cannot be file names, append across restarts, rotation with and without gzip,
 * records larger than rotate_bytes, the descriptor cache, and the retry after a short
 * write (forced with RLIMIT_FSIZE). */
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

#include "core/buf.h"
#include "core/log.h"
#include "core/record.h"
#include "core/util.h"
#include "outputs/file.h"
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

static struct lc_output_config config(const char *dir, enum lc_format format, uint64_t rotate,
                                      unsigned max_files, int compress)
{
    struct lc_output_config c;

    memset(&c, 0, sizeof(c));
    c.type = "file";
    c.name = "test";
    c.path = (char *)dir;
    c.format = format;
    c.rotate_bytes = rotate;
    c.max_files = max_files;
    c.compress = compress;
    return c;
}

/* Metadata whose id is 64 times the hex digit ID. */
static struct lc_meta *meta(const char *name, char id)
{
    char hex[65];

    memset(hex, id, 64);
    hex[64] = '\0';
    return lc_meta_create(hex, name, "nginx:1.25", "host-1", NULL, NULL, NULL);
}

/* Sends one record per message, MSGS[i] from container METAS[i]. */
static enum lc_send_result send_msgs(void *st, struct lc_meta *const *metas,
                                     const char *const *msgs, size_t n)
{
    struct lc_record **recs = lc_xcalloc(n, sizeof(*recs));
    enum lc_send_result res;

    for (size_t i = 0; i < n; i++) {
        recs[i] =
            lc_record_create(metas[i], (i % 2) ? LC_STREAM_STDERR : LC_STREAM_STDOUT,
                             1700000000000000000LL + (int64_t)i, "2023-11-14T22:13:20.000000000Z",
                             30, msgs[i], strlen(msgs[i]), 0);
    }
    res = lc_output_file.send(st, recs, n);
    for (size_t i = 0; i < n; i++) {
        lc_record_destroy(recs[i]);
    }
    free(recs);
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
    cfg = config(path, LC_FORMAT_JSON, 1 << 20, 5, 1);
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
    struct lc_output_config cfg = config(dir, LC_FORMAT_TEXT, 0, 5, 1);
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
    struct lc_output_config cfg = config(dir, LC_FORMAT_TEXT, 0, 5, 1);
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
    struct lc_output_config cfg = config(dir, LC_FORMAT_TEXT, 25, 5, 0);
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
    struct lc_output_config cfg = config(dir, LC_FORMAT_TEXT, 100, 3, 1);
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
    struct lc_output_config cfg = config(dir, LC_FORMAT_TEXT, 100, 100, 1);
    struct lc_meta *web = meta("web", 'a');
    void *st = NULL;
    struct lc_buf all;
    int ok;

    ASSERT_EQ(lc_output_file.init(&st, &cfg), 0);
    ASSERT_EQ(send_lines(st, web, 1, 300, 7), 0);
    ASSERT_EQ(lc_output_file.flush(st), 0);
    lc_output_file.destroy(st);
    lc_meta_unref(web);

    /* 3000 bytes in files of at most 100 bytes */
    ASSERT_TRUE(exists(dir, "web.log.29.gz"));
    ASSERT_TRUE(file_size(dir, "web.log") <= 100);
    lc_buf_init(&all, 0);
    concat_rotated(dir, "web", 100, 1, &all);
    ok = lines_are(&all, 1, 300);
    lc_buf_close(&all);
    ASSERT_TRUE(ok);
}

TEST(rotation_keeps_every_record_once)
{
    with_tmpdir(check_rotation_every_record, lc_test_failed);
}

static void check_rotation_plain(const char *dir, int *lc_test_failed)
{
    struct lc_output_config cfg = config(dir, LC_FORMAT_TEXT, 100, 2, 0);
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
    struct lc_output_config cfg = config(dir, LC_FORMAT_TEXT, 20, 0, 1);
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
    struct lc_output_config cfg = config(dir, LC_FORMAT_TEXT, 100, 5, 1);
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

    /* the 3 small lines, then the big record alone, then the whole last batch together */
    data = gunzip(dir, "web.log.2.gz", &len);
    ASSERT_TRUE(data != NULL);
    ASSERT_MEM_EQ(data, len, "line-0001\nline-0002\nline-0003\n", 30);
    free(data);
    data = gunzip(dir, "web.log.1.gz", &len);
    ASSERT_TRUE(data != NULL);
    ASSERT_EQ(len, 500);
    ASSERT_TRUE(data[0] == 'x' && data[498] == 'x' && data[499] == '\n');
    free(data);
    ASSERT_EQ(file_size(dir, "web.log"), 12 + 12 + 500);
    ASSERT_TRUE(!exists(dir, "web.log.3.gz"));
}

static void check_large_first(const char *dir, int *lc_test_failed)
{
    struct lc_output_config cfg = config(dir, LC_FORMAT_TEXT, 100, 5, 1);
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
    struct lc_output_config cfg = config(dir, LC_FORMAT_TEXT, 8, 5, 1);
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
    struct lc_output_config cfg = config(dir, LC_FORMAT_TEXT, 1 << 20, 5, 1);
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
    struct lc_output_config cfg = config(dir, LC_FORMAT_TEXT, 1 << 20, 5, 1);
    static struct lc_meta *metas[N_ROLLBACK + 1];
    static char text[N_ROLLBACK][32];
    const char *msgs[N_ROLLBACK + 1];
    char big[200], name[64];
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
    res = send_msgs(st, metas, msgs, N_ROLLBACK + 1);
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

    ASSERT_EQ(send_msgs(st, metas, msgs, N_ROLLBACK + 1), LC_OK);
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
    cfg = config(path, LC_FORMAT_JSON, 0, 5, 1);
    ASSERT_EQ(lc_output_file.init(&st, &cfg), -ENOTDIR);
    ASSERT_TRUE(st == NULL);
    cfg = config(file, LC_FORMAT_JSON, 0, 5, 1);
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
          TEST_ENTRY(rotation_keeps_max_files), TEST_ENTRY(rotation_keeps_every_record_once),
          TEST_ENTRY(rotation_without_compression), TEST_ENTRY(rotation_with_max_files_zero),
          TEST_ENTRY(record_larger_than_rotate_bytes), TEST_ENTRY(large_record_into_empty_file),
          TEST_ENTRY(interrupted_rotation_is_finished), TEST_ENTRY(descriptor_cache),
          TEST_ENTRY(short_write_is_undone_for_retry), TEST_ENTRY(init_fails_when_path_unusable))
