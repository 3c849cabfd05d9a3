/* bench_delivery: how fast, and at what CPU cost, one output delivers a spool's backlog
 * (issue 10's Loki benchmark, issue 12's Kafka benchmark). Targets: Loki, 1M records per
 * CPU-second and 100k records/s when Loki answers after 20 ms; Kafka, 500k records/s and at
 * most 2 CPU-seconds per million with zstd.
 *
 * 1. Loads a config through the real loader: data_dir a new temporary directory, one
 *    output with `start_at: oldest` and the type's defaults for everything else (labels,
 *    batch), given either as a Loki URL and encoding (json: with compress: true, gzip) or
 *    as the output's own keys (--output: YAML lines such as "type: kafka\nbrokers: [...]"),
 *    plus LCB_EXTRA (YAML lines added to the output's section, e.g.
 *    "batch: {max_records: 8192}").
 * 2. Fills a fresh spool with N records of 100 bytes (message, newline included) from 10
 *    containers with Compose labels (record i from container i % 10, on stderr when
 *    i % 5 == 0: containers 0 and 5; so 10 streams), as the Docker input appends them (a position
 * per 100 lines, commit, pause while the spool says full), and waits until the writer wrote all.
 * 3. Runs the delivery engine (delivery.h) with the output, as the daemon does, until its
 *    counters say N records delivered; once less than one full batch is left, the engine
 *    is stopped as logcap's shutdown does, so the last partial batch is sent at once
 *    rather than after batch.max_wait (latency, not throughput). Only this phase is
 *    measured: wall time on the monotonic clock, CPU as getrusage(RUSAGE_SELF) after minus
 *    before, so every thread of the process counts (the output's thread, where libcurl
 *    runs, and librdkafka's own threads; the spool writer, which deletes passed segments;
 *    this thread's polling, every 2 ms).
 *
 * The destination (bench/loki_sink.c; the Kafka mock cluster, tests/kafka/kafkamock.c)
 * runs in another process: its CPU is not counted.
 *
 *   build/bench_delivery N URL protobuf|json       a Loki output
 *   build/bench_delivery N --output LINES LABEL    any output: LINES its keys, LABEL (one
 *                                                   word) the RESULT line's name for it
 *   build/bench_delivery --lines FILE N            writes the same N lines to FILE (the
 *                                                   input of the Fluent Bit comparison)
 *
 * Prints one RESULT line: records, seconds, records/s, CPU-s per million, requests. */
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "config/config.h"
#include "core/record.h"
#include "delivery/delivery.h"
#include "outputs/registry.h"
#include "spool/spool.h"
#include "spool/spool_reader.h"

#define LINE_LEN 100 /* message bytes, '\n' included */
#define COMMIT_EVERY 100
#define CONTAINERS 10
#define LINES 1024 /* distinct lines cycled through */
#define POLL_MS 2

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

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU seconds of the whole process (user + system); *SYS gets the system part. */
static double cpu_s(double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + *sys;
}

/* An access-log-like line of exactly LINE_LEN bytes: varied digits, so compression sees
 * something closer to real logs than a run of one byte. */
static void make_line(char *out, uint64_t i)
{
    int n = snprintf(out, LINE_LEN,
                     "10.0.%d.%d - - [06/Dec/2026:09:%02d:%02d +0000] \"GET /api/items/%llu "
                     "HTTP/1.1\" %d %llu ",
                     (int)(i % 251), (int)(i * 7 % 256), (int)(i / 60 % 60), (int)(i % 60),
                     (unsigned long long)(i * 2654435761u % 1000000), i % 17 == 0 ? 404 : 200,
                     (unsigned long long)(i * 40503 % 90000 + 100));
    for (int k = n; k < LINE_LEN - 1; k++) {
        out[k] = (char)('a' + (i + (uint64_t)k) % 26);
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

/* Appends N records as the Docker input does on the loop. */
static void fill(struct lc_spool *sp, struct room *room, struct lc_meta **metas, uint64_t n)
{
    char *lines = lc_xmalloc(LINES * LINE_LEN), ts[LC_TS_MAX], pos[96];
    int64_t ts0 = (int64_t)lc_wall_ns() - 60 * (int64_t)1000000000; /* a minute ago */
    for (uint64_t i = 0; i < LINES; i++) {
        make_line(lines + i * LINE_LEN, i);
    }
    for (uint64_t i = 0; i < n; i++) {
        int64_t t = ts0 + (int64_t)(i * 1000);
        int tl = snprintf(ts, sizeof ts, "2026-12-06T09:00:%02d.%09dZ", (int)(i / 1000000 % 60),
                          (int)(i % 1000000 * 1000));
        lc_spool_add(sp, metas[i % CONTAINERS], i % 5 == 0 ? 2 : 1, t, ts, (size_t)tl,
                     lines + (i % LINES) * LINE_LEN, LINE_LEN, 0);
        if ((i + 1) % COMMIT_EVERY != 0 && i + 1 != n) {
            continue;
        }
        int len =
            snprintf(pos, sizeof pos, "{\"stdout\":[%lld,1],\"stderr\":[-1,0]}", (long long)t);
        lc_spool_set_position(sp, "docker/container_0123456789ab", pos, (size_t)len);
        pthread_mutex_lock(&room->lock);
        room->full = 1;
        pthread_mutex_unlock(&room->lock);
        if (lc_spool_commit(sp)) {
            pthread_mutex_lock(&room->lock);
            while (room->full) {
                pthread_cond_wait(&room->cond, &room->lock);
            }
            pthread_mutex_unlock(&room->lock);
        }
    }
    free(lines);
}

/* Appends the YAML LINES to TEXT (at *N of CAP bytes), each indented as an output's key. */
static void add_keys(char *text, size_t cap, int *n, const char *lines)
{
    for (const char *p = lines; p != NULL && *p != '\0' && *n > 0 && (size_t)*n < cap;) {
        size_t len = strcspn(p, "\n");
        *n += snprintf(text + *n, cap - (size_t)*n, "    %.*s\n", (int)len, p);
        p += len + (p[len] == '\n');
    }
}

/* KEYS: the output's keys (YAML lines, "type: ..." among them). */
static int load_config(struct lc_config *cfg, const char *dir, const char *keys)
{
    char text[8192];
    int n = snprintf(text, sizeof text,
                     "data_dir: \"%s\"\nlog_level: warn\nhostname: bench-host\n"
                     "outputs:\n  - name: out\n    start_at: oldest\n",
                     dir);
    add_keys(text, sizeof text, &n, keys);
    add_keys(text, sizeof text, &n, getenv("LCB_EXTRA"));
    if (n <= 0 || (size_t)n >= sizeof text) {
        return -1;
    }
    memset(cfg, 0, sizeof *cfg);
    return lc_config_load_string(cfg, lc_cmd_catalog(), "bench.yaml", text, (size_t)n, stderr);
}

static void make_metas(struct lc_meta **metas)
{
    const char *services[CONTAINERS] = {"web", "web",    "web",    "api", "api",
                                        "api", "worker", "worker", "db",  "cache"};
    for (int c = 0; c < CONTAINERS; c++) {
        char id[80], name[32], labels[256];
        snprintf(id, sizeof id, "%016x%048d", 0xc0ffee00u + (unsigned)c, c);
        snprintf(name, sizeof name, "shop-%s-%d", services[c], c + 1);
        snprintf(labels, sizeof labels,
                 "{\"com.docker.compose.project\":\"shop\",\"com.docker.compose.service\":\"%s\","
                 "\"com.docker.compose.container-number\":\"%d\",\"tier\":\"backend\"}",
                 services[c], c + 1);
        metas[c] = lc_meta_docker_create(id, name, "registry.local/shop:1.4.2", "bench-host",
                                         labels, "shop", services[c]);
    }
}

/* Runs the delivery of N records; *SECS, *CPU and *SYS get wall, CPU and system CPU time,
 * *SNAP the output's counters. */
static int deliver(struct lc_spool *sp, const struct lc_config *cfg, uint64_t n, double *secs,
                   double *cpu, double *sys, struct lc_output_snap *snap)
{
    const struct lc_output_config *oc = &cfg->outputs[0];
    double s0, t0 = mono_s(), c0 = cpu_s(&s0);
    struct lc_delivery *dl =
        lc_delivery_create(sp, cfg->data_dir, cfg->spool.sync, cfg->spool.sync_interval_ms);
    int rc = lc_delivery_add_output(dl, lc_output_find(oc->type), oc, NULL);
    if (rc == 0) {
        rc = lc_delivery_start(dl);
    }
    while (rc == 0) {
        struct timespec ts = {0, POLL_MS * 1000000L};
        lc_delivery_fill(dl, 0, snap);
        if (snap->records >= n) {
            break;
        }
        /* Less than a full batch left: stop, as logcap's shutdown does, so that the last
         * partial batch goes now instead of after batch.max_wait (its latency, not the
         * throughput measured here). */
        if (snap->backlog_records < oc->batch.max_records &&
            snap->backlog_bytes < oc->batch.max_bytes) {
            lc_delivery_stop(dl, 600000);
            lc_delivery_fill(dl, 0, snap);
            break;
        }
        nanosleep(&ts, NULL);
    }
    *secs = mono_s() - t0;
    *cpu = cpu_s(sys) - c0;
    *sys -= s0;
    lc_delivery_destroy(dl);
    return rc;
}

/* Writes the N lines the spool gets to PATH, for another agent to read. */
static int write_lines(const char *path, uint64_t n)
{
    char line[LINE_LEN];
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    for (uint64_t i = 0; i < n; i++) {
        make_line(line, i % LINES);
        fwrite(line, 1, LINE_LEN, f);
    }
    return fclose(f) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--lines") == 0) {
        return write_lines(argv[2], strtoull(argv[3], NULL, 10));
    }
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    int generic = argc > 3 && strcmp(argv[2], "--output") == 0;
    const char *url = argc > 2 ? argv[2] : "http://127.0.0.1:3100";
    const char *enc = argc > 3 ? argv[3] : "protobuf";
    const char *label = generic                    ? (argc > 4 ? argv[4] : "output")
                        : strcmp(enc, "json") == 0 ? "json+gzip"
                                                   : "protobuf+snappy";
    char dir[64], spool_dir[96], keys[2048];
    struct room room = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    struct lc_meta *metas[CONTAINERS];
    struct lc_config cfg;
    struct lc_spool *sp;
    struct lc_output_snap snap;
    double secs, cpu, sys;
    int rc;

    if (generic) {
        snprintf(keys, sizeof keys, "%s", argv[3]);
    } else {
        snprintf(keys, sizeof keys, "type: loki\nurl: \"%s\"\nencoding: %s\n%s", url,
                 strcmp(enc, "json") == 0 ? "json" : "protobuf",
                 strcmp(enc, "json") == 0 ? "compress: true" : "");
    }
    snprintf(dir, sizeof dir, "/tmp/lc_bench_delivery.XXXXXX");
    if (mkdtemp(dir) == NULL || load_config(&cfg, dir, keys) != 0 || cfg.n_outputs != 1) {
        fprintf(stderr, "bench_delivery: cannot set up (directory or config)\n");
        return 1;
    }
    lc_log_set_level(cfg.log_level);
    snprintf(spool_dir, sizeof spool_dir, "%s/spool", dir);
    struct lc_spool_options o = {.dir = spool_dir,
                                 .segment_bytes = cfg.spool.segment_bytes,
                                 .max_bytes = cfg.spool.max_bytes,
                                 .sync = cfg.spool.sync,
                                 .sync_interval_ms = cfg.spool.sync_interval_ms,
                                 .hooks = {.room = on_room, .ud = &room}};
    make_metas(metas);
    if (lc_spool_open(&o, &sp, NULL) != 0 || lc_spool_start(sp) != 0) {
        fprintf(stderr, "bench_delivery: cannot open the spool in %s\n", spool_dir);
        return 1;
    }
    fill(sp, &room, metas, n);
    wait_written(sp, n);

    rc = deliver(sp, &cfg, n, &secs, &cpu, &sys, &snap);
    printf("RESULT bench=delivery output=%s records=%llu seconds=%.3f records_per_s=%.0f "
           "cpu_s=%.3f sys_s=%.3f cpu_s_per_m=%.3f records_per_cpu_s=%.0f requests=%llu "
           "request_ms_mean=%.2f retries=%llu rejected=%llu ok=%d\n",
           label, (unsigned long long)snap.records, secs, (double)n / secs, cpu, sys,
           cpu / ((double)n / 1e6), (double)n / cpu, (unsigned long long)snap.requests.count,
           snap.requests.count > 0 ? snap.requests.seconds_sum * 1e3 / (double)snap.requests.count
                                   : 0.0,
           (unsigned long long)snap.retries, (unsigned long long)snap.rejected,
           rc == 0 && snap.records == n && snap.rejected == 0);

    lc_spool_close(sp);
    for (int c = 0; c < CONTAINERS; c++) {
        lc_meta_unref(metas[c]);
    }
    lc_config_free(&cfg);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc == 0 && snap.records == n ? 0 : 1;
}
