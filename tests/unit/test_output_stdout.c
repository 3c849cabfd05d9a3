/* test_output_stdout: the stdout output with fd 1 swapped for a pipe (or a file) while it
 * sends: JSON and text lines byte-identical to what the file output writes for the same
 * records; a batch larger than the pipe, through short writes and (non-blocking pipe)
 * EAGAIN, arrives whole; a reader that stops reading makes the batch fail (LC_RETRY) with
 * the records written in full marked done, and the next try finishes the record that was
 * cut, so the reader sees every line once and none torn; a closed pipe is an LC_RETRY with
 * a reason, not a crash; flush of a pipe (fsync: EINVAL) is not an error. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/util.h"
#include "core/json.h"
#include "config/config.h"
#include "core/record.h"
#include "inputs/docker/docker_config.h"
#include "outputs/file/file.h"
#include "outputs/stdout/stdout.h"
#include "test.h"

/* ---- fd 1 swapped for a pipe, drained by a thread ---- */

struct capture {
    int saved;        /* the real fd 1 */
    int rfd;          /* the pipe's read end */
    pthread_t thread; /* reads RFD into OUT until EOF, once started */
    int started;
    struct lc_buf out;
};

/* Puts a pipe of capacity PIPE_SZ (0: the default) on fd 1, non-blocking when NONBLOCK. */
static int capture_begin(struct capture *c, int pipe_sz, int nonblock)
{
    int p[2];

    memset(c, 0, sizeof(*c));
    lc_buf_init(&c->out, 0);
    if (pipe2(p, O_CLOEXEC) != 0) {
        return -1;
    }
    if (pipe_sz > 0 && fcntl(p[1], F_SETPIPE_SZ, pipe_sz) < 0) {
        return -1;
    }
    if (nonblock && fcntl(p[1], F_SETFL, O_NONBLOCK) != 0) {
        return -1;
    }
    fflush(stdout);
    c->saved = dup(STDOUT_FILENO);
    if (c->saved < 0 || dup2(p[1], STDOUT_FILENO) < 0) {
        return -1;
    }
    close(p[1]);
    c->rfd = p[0];
    return 0;
}

static void *drain(void *arg)
{
    struct capture *c = arg;
    char chunk[1000]; /* small reads: the writer sees the pipe fill and empty */
    ssize_t n;

    while ((n = read(c->rfd, chunk, sizeof(chunk))) != 0) {
        if (n > 0) {
            lc_buf_add(&c->out, chunk, (size_t)n);
        } else if (errno != EINTR) {
            break;
        }
    }
    return NULL;
}

static void capture_start_reader(struct capture *c)
{
    pthread_create(&c->thread, NULL, drain, c);
    c->started = 1;
}

/* Restores fd 1 (closing the pipe's write end) and collects everything written. */
static void capture_end(struct capture *c)
{
    dup2(c->saved, STDOUT_FILENO);
    close(c->saved);
    if (!c->started) {
        capture_start_reader(c);
    }
    pthread_join(c->thread, NULL);
    close(c->rfd);
}

/* ---- records ---- */

static struct lc_meta *meta(const char *name, char id)
{
    char hex[65];

    memset(hex, id, 64);
    hex[64] = '\0';
    return lc_meta_docker_create(hex, name, "nginx:1.25", "host-1", "{\"a\":\"b\"}", "proj", NULL);
}

static uint64_t next_seq = 1;

/* N records alternating between containers A and B, messages of about LEN bytes (some
 * with bytes JSON must escape, and invalid UTF-8). */
static struct lc_record **make_recs(struct lc_meta *a, struct lc_meta *b, size_t n, size_t len)
{
    struct lc_record **recs = lc_xcalloc(n, sizeof(*recs));
    char *msg = lc_xmalloc(len + 64);

    for (size_t i = 0; i < n; i++) {
        int k = snprintf(msg, len + 64, "line %zu \"q\" \\ tab\t\xff ", i);
        memset(msg + k, 'a' + (int)(i % 26), len > (size_t)k ? len - (size_t)k : 0);
        recs[i] =
            lc_record_create((i % 2) ? b : a, (i % 3) ? LC_STREAM_STDOUT : LC_STREAM_STDERR,
                             1700000000000000000LL + (int64_t)i, "2023-11-14T22:13:20.000000000Z",
                             30, msg, len > (size_t)k ? len : (size_t)k, i == 3);
        recs[i]->seq = next_seq++;
    }
    free(msg);
    return recs;
}

static void free_recs(struct lc_record **recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lc_record_destroy(recs[i]);
    }
    free(recs);
}

/* What the file output's encoder makes of RECS, in order. */
static void expected(struct lc_buf *b, struct lc_record **recs, size_t n, int text)
{
    lc_buf_init(b, 0);
    for (size_t i = 0; i < n; i++) {
        if (text) {
            lc_json_add_text(b, recs[i]);
        } else {
            lc_json_add_record(b, recs[i]);
        }
    }
}

static struct lc_output_config config(struct lc_stdout_config *sc, int format)
{
    struct lc_output_config c;

    memset(&c, 0, sizeof(c));
    memset(sc, 0, sizeof(*sc));
    sc->format = format;
    sc->wait_ms = 300;
    c.type = "stdout";
    c.name = "out";
    c.opts = sc;
    return c;
}

static enum lc_send_result send_reported(void *st, struct lc_record **recs, size_t n,
                                         struct lc_send_report *rep)
{
    lc_send_report_reset(rep, n);
    return lc_output_stdout.send(st, recs, n, rep);
}

/* ---- tests ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* The same records through the file output (one container: one file) and through stdout:
 * the same bytes, in FORMAT. */
static void same_as_file_output(int format, int *lc_test_failed)
{
    char dir[] = "/tmp/lc_test_output_stdout_XXXXXX", path[PATH_MAX];
    struct lc_meta *a = meta("web", 'a');
    struct lc_record **recs = make_recs(a, a, 7, 40);
    struct lc_file_config fc = {
        .path = dir, .format = format, .rotate_bytes = 1 << 20, .max_files = 2};
    struct lc_output_config fcfg = {.type = "file", .name = "f", .opts = &fc}, scfg;
    struct lc_stdout_config sc;
    struct lc_send_report rep = {0};
    struct capture cap;
    void *fst = NULL, *sst = NULL;
    char *file = NULL;
    size_t flen = 0;

    ASSERT_TRUE(mkdtemp(dir) != NULL);
    ASSERT_EQ(lc_output_file.init(&fst, &fcfg), 0);
    lc_send_report_reset(&rep, 7);
    ASSERT_EQ(lc_output_file.send(fst, recs, 7, &rep), LC_OK);
    lc_output_file.destroy(fst);
    snprintf(path, sizeof(path), "%s/web.log", dir);
    ASSERT_EQ(lc_read_file(path, 1 << 20, &file, &flen), 0);

    scfg = config(&sc, format);
    ASSERT_EQ(capture_begin(&cap, 0, 0), 0);
    capture_start_reader(&cap);
    ASSERT_EQ(lc_output_stdout.init(&sst, &scfg), 0);
    ASSERT_EQ(send_reported(sst, recs, 7, &rep), LC_OK);
    ASSERT_EQ(lc_output_stdout.flush(sst), 0); /* a pipe: fsync's EINVAL is no error */
    lc_output_stdout.destroy(sst);
    capture_end(&cap);

    ASSERT_U64_EQ(cap.out.len, flen);
    ASSERT_TRUE(memcmp(cap.out.data, file, flen) == 0);
    free(file);
    lc_buf_close(&cap.out);
    lc_send_report_close(&rep);
    free_recs(recs, 7);
    lc_meta_unref(a);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TEST(json_lines_as_the_file_output)
{
    same_as_file_output(LC_STDOUT_FORMAT_JSON, lc_test_failed);
}

TEST(text_lines_as_the_file_output)
{
    same_as_file_output(LC_STDOUT_FORMAT_TEXT, lc_test_failed);
}

/* A batch of N records of LEN bytes from two containers through a pipe of PIPE_SZ bytes
 * that a thread drains in small reads: every byte, in order, answered LC_OK. */
static void whole_batch(size_t n, size_t len, int pipe_sz, int nonblock, int format,
                        int *lc_test_failed)
{
    struct lc_meta *a = meta("web", 'a'), *b = meta("db", 'b');
    struct lc_record **recs = make_recs(a, b, n, len);
    struct lc_output_config cfg;
    struct lc_stdout_config sc;
    struct lc_send_report rep = {0};
    struct lc_buf want;
    struct capture cap;
    void *st = NULL;

    expected(&want, recs, n, format == LC_STDOUT_FORMAT_TEXT);
    cfg = config(&sc, format);
    ASSERT_EQ(capture_begin(&cap, pipe_sz, nonblock), 0);
    capture_start_reader(&cap);
    ASSERT_EQ(lc_output_stdout.init(&st, &cfg), 0);
    ASSERT_EQ(send_reported(st, recs, n, &rep), LC_OK);
    ASSERT_U64_EQ(rep.n_done, 0);
    lc_output_stdout.destroy(st);
    capture_end(&cap);
    ASSERT_U64_EQ(cap.out.len, want.len);
    ASSERT_TRUE(memcmp(cap.out.data, want.data, want.len) == 0);
    lc_buf_close(&want);
    lc_buf_close(&cap.out);
    lc_send_report_close(&rep);
    free_recs(recs, n);
    lc_meta_unref(a);
    lc_meta_unref(b);
}

TEST(two_containers_in_order_through_a_small_blocking_pipe)
{
    whole_batch(600, 300, 4096, 0, LC_STDOUT_FORMAT_JSON, lc_test_failed);
}

/* A non-blocking pipe: writes come back short and with EAGAIN; the output waits for room. */
TEST(short_writes_and_eagain_on_a_nonblocking_pipe)
{
    whole_batch(600, 300, 4096, 1, LC_STDOUT_FORMAT_JSON, lc_test_failed);
    whole_batch(50, 20000, 4096, 1, LC_STDOUT_FORMAT_TEXT, lc_test_failed);
}

/* Nobody reads: the try ends after wait_ms with LC_RETRY, the records written in full
 * marked done; the next try (the rest, as the delivery engine sends it) finishes the
 * record that was cut where it stopped. */
static void stalled_reader(int nonblock, int *lc_test_failed)
{
    struct lc_meta *a = meta("web", 'a'), *b = meta("db", 'b');
    size_t n = 100;
    struct lc_record **recs = make_recs(a, b, n, 500);
    struct lc_output_config cfg;
    struct lc_stdout_config sc;
    struct lc_send_report batch = {0}, scratch = {0};
    struct lc_buf want;
    struct capture cap;
    void *st = NULL;
    enum lc_send_result res;

    expected(&want, recs, n, 0);
    cfg = config(&sc, LC_STDOUT_FORMAT_JSON);
    ASSERT_EQ(capture_begin(&cap, 4096, nonblock), 0);
    ASSERT_EQ(lc_output_stdout.init(&st, &cfg), 0);
    lc_send_report_reset(&batch, n);
    res = lc_output_send_rest(&lc_output_stdout, st, recs, n, &batch, &scratch);
    ASSERT_EQ(res, LC_RETRY);
    ASSERT_TRUE(batch.n_done > 0 && batch.n_done < n);
    ASSERT_TRUE(strstr(batch.why, "not reading") != NULL);
    capture_start_reader(&cap);
    batch.why[0] = '\0';
    res = lc_output_send_rest(&lc_output_stdout, st, recs, n, &batch, &scratch);
    ASSERT_EQ(res, LC_OK);
    lc_output_stdout.destroy(st);
    capture_end(&cap);
    ASSERT_U64_EQ(cap.out.len, want.len);
    ASSERT_TRUE(memcmp(cap.out.data, want.data, want.len) == 0);
    lc_buf_close(&want);
    lc_buf_close(&cap.out);
    lc_send_report_close(&batch);
    lc_send_report_close(&scratch);
    free_recs(recs, n);
    lc_meta_unref(a);
    lc_meta_unref(b);
}

TEST(stalled_reader_fails_the_try_and_the_retry_finishes_the_cut_record)
{
    stalled_reader(0, lc_test_failed);
    stalled_reader(1, lc_test_failed);
}

/* The reader is gone (EPIPE; SIGPIPE ignored as the daemon does): an LC_RETRY that says
 * so, every try, and the process lives on. */
TEST(closed_pipe_is_a_retry_with_a_reason)
{
    struct lc_meta *a = meta("web", 'a');
    struct lc_record **recs = make_recs(a, a, 3, 10);
    struct lc_output_config cfg;
    struct lc_stdout_config sc;
    struct lc_send_report rep = {0};
    struct capture cap;
    void *st = NULL;

    signal(SIGPIPE, SIG_IGN);
    cfg = config(&sc, LC_STDOUT_FORMAT_JSON);
    ASSERT_EQ(capture_begin(&cap, 0, 0), 0);
    close(cap.rfd);
    ASSERT_EQ(lc_output_stdout.init(&st, &cfg), 0);
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(send_reported(st, recs, 3, &rep), LC_RETRY);
        ASSERT_TRUE(strstr(rep.why, "closed") != NULL);
        ASSERT_U64_EQ(rep.n_done, 0);
    }
    lc_output_stdout.destroy(st);
    dup2(cap.saved, STDOUT_FILENO);
    close(cap.saved);
    lc_buf_close(&cap.out);
    lc_send_report_close(&rep);
    free_recs(recs, 3);
    lc_meta_unref(a);
}

/* stdout redirected to a regular file: written, and flush syncs it (0). */
TEST(regular_file_is_written_and_flushed)
{
    char path[] = "/tmp/lc_test_output_stdout_file_XXXXXX";
    struct lc_meta *a = meta("web", 'a');
    struct lc_record **recs = make_recs(a, a, 5, 100);
    struct lc_output_config cfg;
    struct lc_stdout_config sc;
    struct lc_send_report rep = {0};
    struct lc_buf want;
    int fd = mkstemp(path), saved;
    void *st = NULL;
    char *got = NULL;
    size_t len = 0;

    ASSERT_TRUE(fd >= 0);
    expected(&want, recs, 5, 0);
    cfg = config(&sc, LC_STDOUT_FORMAT_JSON);
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    ASSERT_EQ(lc_output_stdout.init(&st, &cfg), 0);
    ASSERT_EQ(send_reported(st, recs, 5, &rep), LC_OK);
    ASSERT_EQ(lc_output_stdout.flush(st), 0);
    lc_output_stdout.destroy(st);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    ASSERT_EQ(lc_read_file(path, 1 << 20, &got, &len), 0);
    ASSERT_U64_EQ(len, want.len);
    ASSERT_TRUE(memcmp(got, want.data, len) == 0);
    unlink(path);
    free(got);
    lc_buf_close(&want);
    lc_send_report_close(&rep);
    free_recs(recs, 5);
    lc_meta_unref(a);
}

/* ---- its config ---- */

static const struct lc_config_plugin *const cat_inputs[] = {&lc_docker_config_plugin, NULL};
static const struct lc_config_plugin *const cat_outputs[] = {&lc_file_config_plugin,
                                                             &lc_stdout_config_plugin, NULL};
static const struct lc_config_catalog catalog = {.inputs = cat_inputs, .outputs = cat_outputs};

/* Loads TEXT; returns the return code, the errors printed in *ERRS (free them). */
static int load(struct lc_config *c, const char *text, char **errs)
{
    size_t n = 0;
    FILE *f = open_memstream(errs, &n);
    int rc = lc_config_load_string(c, &catalog, "x.yaml", text, strlen(text), f);

    fclose(f);
    return rc;
}

TEST(config_format_and_one_stdout_only)
{
    struct lc_config c;
    char *errs = NULL;
    const struct lc_stdout_config *sc;

    lc_config_defaults(&c, &catalog);
    ASSERT_EQ(load(&c, "outputs:\n  - type: stdout\n    format: text\n", &errs), 0);
    ASSERT_STR_EQ(errs, "");
    ASSERT_EQ(c.n_outputs, 1);
    ASSERT_STR_EQ(c.outputs[0].name, "stdout");
    sc = c.outputs[0].opts;
    ASSERT_EQ(sc->format, LC_STDOUT_FORMAT_TEXT);
    lc_config_free(&c);
    free(errs);

    lc_config_defaults(&c, &catalog);
    ASSERT_EQ(load(&c, "outputs:\n  - type: stdout\n", &errs), 0);
    sc = c.outputs[0].opts;
    ASSERT_EQ(sc->format, LC_STDOUT_FORMAT_JSON);
    lc_config_free(&c);
    free(errs);

    lc_config_defaults(&c, &catalog);
    ASSERT_EQ(load(&c,
                   "outputs:\n  - type: stdout\n    name: a\n  - type: file\n  - type: stdout\n"
                   "    name: b\n    format: yaml\n",
                   &errs),
              -EINVAL);
    ASSERT_TRUE(strstr(errs, "x.yaml:7: outputs[2].format: expected one of json, text") != NULL);
    ASSERT_TRUE(strstr(errs, "x.yaml:5: outputs[2].type: output \"a\" (line 2) writes to stdout "
                             "already; logcap has one stdout") != NULL);
    free(errs);
}

TEST_MAIN(TEST_ENTRY(json_lines_as_the_file_output), TEST_ENTRY(text_lines_as_the_file_output),
          TEST_ENTRY(two_containers_in_order_through_a_small_blocking_pipe),
          TEST_ENTRY(short_writes_and_eagain_on_a_nonblocking_pipe),
          TEST_ENTRY(stalled_reader_fails_the_try_and_the_retry_finishes_the_cut_record),
          TEST_ENTRY(closed_pipe_is_a_retry_with_a_reason),
          TEST_ENTRY(regular_file_is_written_and_flushed),
          TEST_ENTRY(config_format_and_one_stdout_only))
