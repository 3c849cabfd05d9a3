/* test_spool_writer: a spool writer that cannot write shows it. The test process's file
 * size limit (RLIMIT_FSIZE, with SIGXFSZ ignored) makes the writer's next pwrite fail with
 * EFBIG, as ENOSPC or EIO would: lc_spool_fill must say the writer is failing, with the
 * errno text and a count, and the error hook must fire; once the limit is lifted the
 * writer's retry succeeds, nothing was lost, and the failure clears. Runs in a mkdtemp
 * directory under /tmp, removed afterwards. Waits for conditions with deadlines. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/record.h"
#include "core/snapshot.h"
#include "spool/spool.h"
#include "base/util.h"
#include "test.h"

#define DEADLINE_MS 10000
#define TS_NS 1795350283000000000LL
#define TS "2026-11-22T12:24:43.000000000Z"

struct hooks {
    int errors;   /* atomic */
    int progress; /* atomic: beats with progress */
    int last_err; /* atomic */
};

static void on_error(void *ud, int err, const char *what)
{
    struct hooks *h = ud;
    (void)what;
    __atomic_store_n(&h->last_err, err, __ATOMIC_RELAXED);
    __atomic_add_fetch(&h->errors, 1, __ATOMIC_ACQ_REL);
}

static void on_beat(void *ud, int progress)
{
    struct hooks *h = ud;
    if (progress) {
        __atomic_add_fetch(&h->progress, 1, __ATOMIC_ACQ_REL);
    }
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Polls the spool's figures until PRED holds; returns 1, or 0 past DEADLINE_MS. */
static int wait_fill(struct lc_spool *sp, struct lc_spool_snap *out,
                     int (*pred)(const struct lc_spool_snap *, uint64_t), uint64_t arg)
{
    uint64_t until = lc_now_ms() + DEADLINE_MS;
    for (;;) {
        memset(out, 0, sizeof(*out));
        lc_spool_fill(sp, out);
        if (pred(out, arg)) {
            return 1;
        }
        if (lc_now_ms() >= until) {
            return 0;
        }
        usleep(5000);
    }
}

static int appended_at_least(const struct lc_spool_snap *s, uint64_t n)
{
    return s->appended_records >= n && !s->writer_failing;
}

static int failing(const struct lc_spool_snap *s, uint64_t unused)
{
    (void)unused;
    return s->writer_failing;
}

static void add_line(struct lc_spool *sp, struct lc_meta *m, const char *msg)
{
    lc_spool_add(sp, m, 1, TS_NS, TS, strlen(TS), msg, strlen(msg), 0);
    lc_spool_commit(sp);
}

/* The file size limit that lets no segment grow: the size of the largest file in DIR. */
static rlim_t largest_segment(const char *dir)
{
    char path[512];
    struct dirent *e;
    struct stat st;
    off_t max = 0;
    DIR *d = opendir(dir);
    while (d != NULL && (e = readdir(d)) != NULL) {
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (strstr(e->d_name, ".seg") != NULL && stat(path, &st) == 0 && st.st_size > max) {
            max = st.st_size;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return (rlim_t)max;
}

TEST(failing_writer_shows_and_recovers)
{
    char dir[64];
    struct hooks hk = {0};
    struct lc_spool_options opt = {
        .segment_bytes = 1 << 20,
        .max_bytes = 8 << 20,
        .sync = LC_SYNC_INTERVAL,
        .sync_interval_ms = 50,
        .hooks = {.error = on_error, .beat = on_beat, .ud = &hk},
    };
    struct lc_spool_recovery rec;
    struct lc_spool *sp = NULL;
    struct lc_spool_snap fig;
    struct lc_meta *m =
        lc_meta_docker_create("cccccccccccc", "web-1", "nginx", "host", NULL, NULL, NULL);
    struct rlimit unlimited, small;
    int ok = 1;

    snprintf(dir, sizeof(dir), "/tmp/lc_spool_writer_test.XXXXXX");
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    opt.dir = dir;
    signal(SIGXFSZ, SIG_IGN); /* past the limit a write fails with EFBIG instead */
    getrlimit(RLIMIT_FSIZE, &unlimited);
    if (lc_spool_open(&opt, &sp, &rec) != 0 || lc_spool_start(sp) != 0) {
        ok = 0;
        goto out;
    }
    add_line(sp, m, "before the failure");
    ok = wait_fill(sp, &fig, appended_at_least, 1);
    if (!ok) {
        goto out;
    }
    ok = !fig.writer_failing && fig.writer_errors == 0 && fig.writer_error[0] == '\0';
    small = unlimited;
    small.rlim_cur = largest_segment(dir);
    ok = ok && small.rlim_cur > 0 && setrlimit(RLIMIT_FSIZE, &small) == 0;
    if (!ok) {
        goto out;
    }
    add_line(sp, m, "during the failure");
    ok = wait_fill(sp, &fig, failing, 0);
    setrlimit(RLIMIT_FSIZE, &unlimited); /* before any assertion can return */
    if (!ok) {
        goto out;
    }
    ok = fig.writer_errors >= 1 &&
         strcmp(fig.writer_error, "spool writer: cannot write to the spool: File too large") == 0 &&
         __atomic_load_n(&hk.last_err, __ATOMIC_RELAXED) == -EFBIG;
    if (!ok) {
        fprintf(stderr, "  failing: errors %llu, text \"%s\", hook err %d\n",
                (unsigned long long)fig.writer_errors, fig.writer_error, hk.last_err);
        goto out;
    }
    /* The limit is gone: the retry writes the record that failed, and the state clears. */
    ok = wait_fill(sp, &fig, appended_at_least, 2);
    ok = ok && fig.writer_error[0] == '\0' && fig.writer_errors >= 1;

out:
    setrlimit(RLIMIT_FSIZE, &unlimited);
    lc_spool_close(sp);
    lc_meta_unref(m);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    ASSERT_TRUE(ok);
    ASSERT_TRUE(__atomic_load_n(&hk.errors, __ATOMIC_RELAXED) >= 1);
}

TEST_MAIN(TEST_ENTRY(failing_writer_shows_and_recovers))
