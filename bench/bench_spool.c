/* bench_spool: how fast the spool takes 100-byte records and gives them back.
 *
 * The appender does what the Docker input does on the loop: lc_spool_add for each line
 * (10 containers, a 30-byte timestamp text), one position per append, lc_spool_commit every
 * COMMIT_EVERY lines, and a pause until the room hook when commit reports the spool full
 * (the writer behind). The writer thread runs with sync: interval (1 s), 64 MiB segments.
 * Append figures count until the writer has written the last record (readers see it), and
 * "synced" until lc_spool_stop returned (everything fdatasync'ed). Then one reader reads
 * every record back from the oldest (an lc_record each, as an output gets them).
 *
 *   cmake -S . -B build-bench -DLOGCAP_BENCH=ON && cmake --build build-bench --target bench_spool
 *   build-bench/bench_spool [RECORDS] [DIR]     (defaults: 2000000, a new /tmp/lc_bench_spool.*)
 *
 * Prints a RESULT line with records/s and MB/s (10^6 bytes of message payload; disk_mbps
 * counts the segment bytes, frames and metadata included). */
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "core/record.h"
#include "core/snapshot.h"
#include "spool/spool.h"
#include "spool/spool_reader.h"
#include "base/util.h"

#define LINE_LEN 100 /* message bytes, '\n' included, as Docker hands them over */
#define COMMIT_EVERY 100
#define CONTAINERS 10
#define LINES 1024 /* distinct lines cycled through (built before the clock starts) */

struct room {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int full;
};

static void on_room(void *ud)
{
    struct room *r = ud;
    pthread_mutex_lock(&r->lock);
    r->full = 0;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void make_line(char *out, uint64_t i)
{
    int n = snprintf(out, LINE_LEN,
                     "10.0.%d.%d - - [22/Nov/2026:12:24:43 +0000] \"GET /items/%llu\" 200 \"-\" ",
                     (int)(i % 256), (int)(i / 256 % 256), (unsigned long long)i);
    if (n < LINE_LEN - 1) {
        memset(out + n, 'x', LINE_LEN - 1 - (size_t)n);
    }
    out[LINE_LEN - 1] = '\n';
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Waits until the writer has made N records visible. */
static void wait_written(struct lc_spool *sp, uint64_t n)
{
    for (;;) {
        struct lc_spool_pos end;
        uint64_t idx;
        lc_spool_end(sp, &end, &idx);
        if (idx >= n) {
            return;
        }
        lc_spool_wait(sp, &end, 100);
    }
}

/* Appends N records as the loop would. Returns how many times the appender paused. */
static uint64_t append(struct lc_spool *sp, struct room *room, struct lc_meta **metas,
                       const char *lines, uint64_t n)
{
    const char *ts = "2026-11-22T12:24:43.463703600Z";
    int64_t ts0 = 1795350283463703600LL;
    uint64_t pauses = 0;
    char pos[96];
    for (uint64_t i = 0; i < n; i++) {
        const char *msg = lines + (i % LINES) * LINE_LEN;
        lc_spool_add(sp, metas[i % CONTAINERS], 1, ts0 + (int64_t)i, ts, 30, msg, LINE_LEN, 0);
        if ((i + 1) % COMMIT_EVERY != 0 && i + 1 != n) {
            continue;
        }
        int len = snprintf(pos, sizeof(pos), "{\"stdout\":[%lld,1],\"stderr\":[-1,0]}",
                           (long long)(ts0 + (int64_t)i));
        lc_spool_set_position(sp, "container_0123456789ab", pos, (size_t)len);
        pthread_mutex_lock(&room->lock);
        room->full = 1; /* set before: the hook may run before commit returns */
        pthread_mutex_unlock(&room->lock);
        if (lc_spool_commit(sp)) {
            pauses++;
            pthread_mutex_lock(&room->lock);
            while (room->full) {
                pthread_cond_wait(&room->cond, &room->lock);
            }
            pthread_mutex_unlock(&room->lock);
        }
    }
    return pauses;
}

/* Reads every record back. Returns the count; *BYTES gets the message bytes. */
static uint64_t read_back(struct lc_spool *sp, uint64_t *bytes, int *bad)
{
    struct lc_spool_pos oldest = {0, 0}, end;
    struct lc_spool_reader *r = lc_spool_reader_create(sp, &oldest);
    struct lc_record *rec;
    uint64_t n = 0;
    *bytes = 0;
    *bad = 0;
    while (lc_spool_reader_next(r, &rec, &end) == 1) {
        if (rec->seq != n || rec->len != LINE_LEN) {
            *bad = 1;
        }
        *bytes += rec->len;
        n++;
        lc_record_destroy(rec);
    }
    lc_spool_reader_destroy(r);
    return n;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
    char dir[256], *lines = lc_xmalloc(LINES * LINE_LEN);
    struct room room = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    struct lc_meta *metas[CONTAINERS];
    struct lc_spool *sp;
    struct lc_spool_snap snap;
    struct lc_spool_options o = {.dir = dir,
                                 .segment_bytes = 64u << 20,
                                 .max_bytes = 64ull << 30,
                                 .sync = LC_SYNC_INTERVAL,
                                 .sync_interval_ms = 1000,
                                 .hooks = {.room = on_room, .ud = &room}};
    double t0, t_app, t_written, t_synced, t_read;
    uint64_t pauses, got, bytes;
    int bad, own_dir = argc <= 2;

    if (own_dir) {
        snprintf(dir, sizeof(dir), "/tmp/lc_bench_spool.XXXXXX");
        if (mkdtemp(dir) == NULL) {
            perror("mkdtemp");
            return 1;
        }
    } else {
        snprintf(dir, sizeof(dir), "%s", argv[2]);
    }
    for (uint64_t i = 0; i < LINES; i++) {
        make_line(lines + i * LINE_LEN, i);
    }
    for (int c = 0; c < CONTAINERS; c++) {
        char id[80], name[32];
        snprintf(id, sizeof(id), "%064d", c);
        snprintf(name, sizeof(name), "web-%d", c);
        metas[c] = lc_meta_docker_create(id, name, "nginx:1.25", "bench-host",
                                         "{\"app\":\"web\",\"tier\":\"front\"}", "shop", "web");
    }
    if (lc_spool_open(&o, &sp, NULL) != 0 || lc_spool_start(sp) != 0) {
        fprintf(stderr, "bench_spool: cannot open the spool in %s\n", dir);
        return 1;
    }

    t0 = now_s();
    pauses = append(sp, &room, metas, lines, n);
    t_app = now_s() - t0;
    wait_written(sp, n);
    t_written = now_s() - t0;
    lc_spool_stop(sp);
    t_synced = now_s() - t0;
    lc_spool_fill(sp, &snap);

    t0 = now_s();
    got = read_back(sp, &bytes, &bad);
    t_read = now_s() - t0;

    printf("appended %llu records of %d bytes in %.3f s (appender done at %.3f s, %llu "
           "pauses), synced at %.3f s; %llu segment bytes in %llu segments; read back %llu in "
           "%.3f s\n",
           (unsigned long long)n, LINE_LEN, t_written, t_app, (unsigned long long)pauses, t_synced,
           (unsigned long long)snap.bytes, (unsigned long long)snap.segments,
           (unsigned long long)got, t_read);
    printf("RESULT bench=spool records=%llu record_bytes=%d append_rps=%.0f append_mbps=%.1f "
           "append_disk_mbps=%.1f synced_rps=%.0f read_rps=%.0f read_mbps=%.1f ok=%d\n",
           (unsigned long long)n, LINE_LEN, (double)n / t_written,
           (double)n * LINE_LEN / t_written / 1e6, (double)snap.appended_bytes / t_written / 1e6,
           (double)n / t_synced, (double)got / t_read, (double)bytes / t_read / 1e6,
           got == n && !bad);

    lc_spool_close(sp);
    for (int c = 0; c < CONTAINERS; c++) {
        lc_meta_unref(metas[c]);
    }
    free(lines);
    if (own_dir) {
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    return got == n && !bad ? 0 : 1;
}
