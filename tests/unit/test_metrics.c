/* test_metrics: the Prometheus exposition. Exact sample lines for every family, HELP and
 * TYPE once per family and before its samples, every state for every task type, label
 * escaping and UTF-8 repair, the render without a snapshot, the spool families (only with a
 * spool) and the shape of the sync latency histogram, the /proc/self figures, and
 * `promtool check metrics` on the output when promtool is installed (Debian's prometheus
 * package; tests/run installs it). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/metrics.h"
#include "core/snapshot.h"
#include "base/util.h"
#include "test.h"

#define SEC 1000000000LL
#define NOW (1795350317LL * SEC)

static struct lc_snapshot *sample(void)
{
    /* cumulative: 2 syncs took at most 0.5 ms, ... 37 at most 2.5 s, and one took longer */
    static const uint64_t cum[LC_SYNC_BUCKETS] = {2, 5, 9, 14, 20, 27, 30, 33, 35, 36, 36, 37};
    struct lc_snapshot *s = lc_snapshot_create(3, 2, 1, 2);
    s->taken_mono_ns = NOW;
    lc_snapshot_add_input(s, "docker", "docker")->connected = 1;
    s->inputs[0].sources = 2;
    strcpy(s->containers[0].input, "docker");
    strcpy(s->containers[1].input, "docker");
    strcpy(s->containers[0].id, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    strcpy(s->containers[0].name, "web-1");
    s->containers[0].lines[1] = 10;
    s->containers[0].lines[2] = 3;
    s->containers[0].bytes[1] = 1000;
    s->containers[0].bytes[2] = 300;
    s->containers[0].reconnects = 4;
    s->containers[0].rotations = 5;
    s->containers[0].truncated = 6;
    s->containers[0].decode_errors = 7;
    s->containers[0].errors = 8;
    s->containers[0].drains = 11;
    strcpy(s->containers[1].id, "fedcba9876543210");
    strcpy(s->containers[1].name, "we\"ird\\name\nx\xff");
    strcpy(s->outputs[0].name, "files");
    strcpy(s->outputs[0].type, "file");
    s->outputs[0].records = 13;
    s->outputs[0].bytes = 1300;
    s->outputs[0].retries = 1;
    s->outputs[0].rejected = 2;
    s->outputs[0].dead_lettered = 5;
    s->outputs[0].dead_letter_records = 4;
    s->outputs[0].backlog_records = 120;
    s->outputs[0].backlog_bytes = 65536;
    s->outputs[0].oldest_age_s = 42.25;
    s->outputs[0].lag_s = 1.5;
    s->outputs[0].flush_failures = 2;
    s->spool.enabled = 1;
    s->spool.bytes = 805306368;
    s->spool.max_bytes = 1073741824;
    s->spool.records = 1500000;
    s->spool.segments = 12;
    s->spool.full = 1;
    s->spool.paused = 1;
    s->spool.paused_seconds = 12.5;
    s->spool.corrupt_records = 3;
    s->spool.torn_bytes = 117;
    s->spool.appended_records = 2000000;
    s->spool.appended_bytes = 900000000;
    s->spool.writer_failing = 1;
    s->spool.writer_errors = 7;
    s->spool.metadata = 41;
    s->spool.checkpoint_bytes = 9000;
    memcpy(s->spool.sync_buckets, cum, sizeof(cum));
    s->spool.sync_count = 38;
    s->spool.sync_seconds_sum = 7.125;
    strcpy(s->tasks[0].id, "container_0123456789ab");
    strcpy(s->tasks[0].type, "container");
    s->tasks[0].state = LC_TASK_RUNNING;
    s->tasks[0].last_heartbeat_mono_ns = NOW - 2500 * 1000000LL;
    s->tasks[0].last_heartbeat_ns = NOW + 3600 * SEC; /* the wall clock stepped: not the age */
    strcpy(s->tasks[1].id, "container_fedcba987654");
    strcpy(s->tasks[1].type, "container");
    s->tasks[1].state = LC_TASK_STALLED;
    s->tasks[1].last_heartbeat_mono_ns = NOW - 400 * SEC;
    strcpy(s->tasks[2].id, "output_files");
    strcpy(s->tasks[2].type, "output");
    s->tasks[2].state = LC_TASK_RUNNING; /* no heartbeat yet: no age sample */
    strcpy(s->type_counts[0].type, "container");
    s->type_counts[0].restarts = 3;
    s->type_counts[0].failures = 2;
    strcpy(s->type_counts[1].type, "docker_events"); /* no task left, counts remain */
    s->type_counts[1].restarts = 1;
    s->inputs[0].api_errors.logs = 9;
    s->inputs[0].api_errors.events = 1;
    return s;
}

static const struct lc_proc_stats proc_fixed = {
    .open_fds = 12,
    .max_fds = 1024,
    .resident_bytes = 4096000,
    .virtual_bytes = 100000000,
    .cpu_seconds = 1.25,
    .start_time_seconds = 1795350000.5,
    .threads = 5,
};

static char *render(const struct lc_snapshot *s, int stalled, const struct lc_proc_stats *p)
{
    size_t len = 0;
    char *text = lc_metrics_render(s, stalled, p, NOW, &len);
    if (text != NULL && strlen(text) != len) {
        free(text);
        return NULL;
    }
    return text;
}

/* True when TEXT holds LINE as a whole line. */
static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = strstr(text, line); p != NULL; p = strstr(p + 1, line)) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n') {
            return 1;
        }
    }
    return 0;
}

static int count_prefix(const char *text, const char *prefix)
{
    int n = 0;
    size_t plen = strlen(prefix);
    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, prefix, plen) == 0) {
            n++;
        }
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    return n;
}

/* Lines the sample snapshot must give, whole. */
static const char *const want[] = {
    "logcap_up 1",
    "logcap_loop_stalled 0",
    "logcap_docker_connected{input=\"docker\"} 1",
    "logcap_input_sources{input=\"docker\",type=\"docker\"} 2",
    "logcap_container_lines_total{input=\"docker\",container=\"web-1\",container_id="
    "\"0123456789ab\","
    "stream=\"stdout\"} 10",
    "logcap_container_lines_total{input=\"docker\",container=\"web-1\",container_id="
    "\"0123456789ab\","
    "stream=\"stderr\"} 3",
    "logcap_container_bytes_total{input=\"docker\",container=\"web-1\",container_id="
    "\"0123456789ab\","
    "stream=\"stdout\"} 1000",
    "logcap_container_bytes_total{input=\"docker\",container=\"web-1\",container_id="
    "\"0123456789ab\","
    "stream=\"stderr\"} 300",
    "logcap_stream_reconnects_total{input=\"docker\",container=\"web-1\",container_id="
    "\"0123456789ab\"} 4",
    "logcap_stream_rotations_total{input=\"docker\",container=\"web-1\",container_id="
    "\"0123456789ab\"} 5",
    "logcap_container_drains_total{input=\"docker\",container=\"web-1\",container_id="
    "\"0123456789ab\"} 11",
    "logcap_truncated_lines_total{input=\"docker\",container=\"web-1\",container_id="
    "\"0123456789ab\"} 6",
    "logcap_decode_errors_total{input=\"docker\",container=\"web-1\",container_id=\"0123456789ab\"}"
    " 7",
    "logcap_container_errors_total{input=\"docker\",container=\"web-1\",container_id="
    "\"0123456789ab\"} 8",
    "logcap_stream_reconnects_total{input=\"docker\",container=\"we\\\"ird\\\\name\\nx?\","
    "container_id=\"fedcba987654\"} 0",
    "logcap_output_records_total{output=\"files\"} 13",
    "logcap_output_bytes_total{output=\"files\"} 1300",
    "logcap_output_retries_total{output=\"files\"} 1",
    "logcap_output_permanent_failures_total{output=\"files\"} 2",
    "logcap_output_dead_lettered_total{output=\"files\"} 5",
    "logcap_output_dead_letter_records{output=\"files\"} 4",
    "logcap_output_backlog_records{output=\"files\"} 120",
    "logcap_output_backlog_bytes{output=\"files\"} 65536",
    "logcap_output_oldest_unacked_age_seconds{output=\"files\"} 42.25",
    "logcap_output_flush_failures_total{output=\"files\"} 2",
    "logcap_delivery_lag_seconds{output=\"files\"} 1.5",
    "logcap_spool_bytes 805306368",
    "logcap_spool_max_bytes 1073741824",
    "logcap_spool_records 1500000",
    "logcap_spool_segments 12",
    "logcap_spool_full 1",
    "logcap_backpressure_paused 1",
    "logcap_backpressure_paused_seconds_total 12.5",
    "logcap_spool_corrupt_records_total 3",
    "logcap_spool_torn_bytes_total 117",
    "logcap_spool_appended_records_total 2000000",
    "logcap_spool_appended_bytes_total 900000000",
    "logcap_spool_metadata 41",
    "logcap_spool_checkpoint_bytes 9000",
    "logcap_spool_writer_failing 1",
    "logcap_spool_writer_errors_total 7",
    "logcap_spool_sync_seconds_bucket{le=\"0.0005\"} 2",
    "logcap_spool_sync_seconds_bucket{le=\"0.001\"} 5",
    "logcap_spool_sync_seconds_bucket{le=\"0.0025\"} 9",
    "logcap_spool_sync_seconds_bucket{le=\"0.005\"} 14",
    "logcap_spool_sync_seconds_bucket{le=\"0.01\"} 20",
    "logcap_spool_sync_seconds_bucket{le=\"0.025\"} 27",
    "logcap_spool_sync_seconds_bucket{le=\"0.05\"} 30",
    "logcap_spool_sync_seconds_bucket{le=\"0.1\"} 33",
    "logcap_spool_sync_seconds_bucket{le=\"0.25\"} 35",
    "logcap_spool_sync_seconds_bucket{le=\"0.5\"} 36",
    "logcap_spool_sync_seconds_bucket{le=\"1\"} 36",
    "logcap_spool_sync_seconds_bucket{le=\"2.5\"} 37",
    "logcap_spool_sync_seconds_bucket{le=\"+Inf\"} 38",
    "logcap_spool_sync_seconds_sum 7.125",
    "logcap_spool_sync_seconds_count 38",
    "logcap_tasks{type=\"container\",state=\"running\"} 1",
    "logcap_tasks{type=\"container\",state=\"stalled\"} 1",
    "logcap_tasks{type=\"container\",state=\"failed\"} 0",
    "logcap_tasks{type=\"output\",state=\"running\"} 1",
    "logcap_tasks{type=\"docker_events\",state=\"running\"} 0",
    "logcap_task_restarts_total{type=\"container\"} 3",
    "logcap_task_restarts_total{type=\"docker_events\"} 1",
    "logcap_task_restarts_total{type=\"output\"} 0",
    "logcap_task_failures_total{type=\"container\"} 2",
    "logcap_task_heartbeat_age_seconds{task=\"container_0123456789ab\"} 2.5",
    "logcap_task_heartbeat_age_seconds{task=\"container_fedcba987654\"} 400",
    "logcap_docker_api_errors_total{input=\"docker\",endpoint=\"logs\"} 9",
    "logcap_docker_api_errors_total{input=\"docker\",endpoint=\"events\"} 1",
    "logcap_docker_api_errors_total{input=\"docker\",endpoint=\"version\"} 0",
    "logcap_docker_api_errors_total{input=\"docker\",endpoint=\"list\"} 0",
    "logcap_docker_api_errors_total{input=\"docker\",endpoint=\"inspect\"} 0",
    "process_open_fds 12",
    "process_max_fds 1024",
    "process_resident_memory_bytes 4096000",
    "process_virtual_memory_bytes 100000000",
    "process_cpu_seconds_total 1.25",
    "process_start_time_seconds 1795350000.5",
    "process_threads 5",
    "# TYPE logcap_container_lines_total counter",
    "# TYPE logcap_tasks gauge",
    "# TYPE logcap_task_heartbeat_age_seconds gauge",
    "# TYPE process_cpu_seconds_total counter",
    "# TYPE logcap_spool_bytes gauge",
    "# TYPE logcap_spool_full gauge",
    "# TYPE logcap_spool_writer_failing gauge",
    "# TYPE logcap_spool_writer_errors_total counter",
    "# TYPE logcap_backpressure_paused_seconds_total counter",
    "# TYPE logcap_spool_sync_seconds histogram",
    "# TYPE logcap_output_permanent_failures_total counter",
    "# TYPE logcap_output_dead_letter_records gauge",
    "# TYPE logcap_output_oldest_unacked_age_seconds gauge",
};

TEST(samples)
{
    struct lc_snapshot *s = sample();
    char *t = render(s, 0, &proc_fixed);
    ASSERT_TRUE(t != NULL);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (!has_line(t, want[i])) {
            fprintf(stderr, "  missing line: %s\n%s", want[i], t);
        }
        ASSERT_TRUE(has_line(t, want[i]));
    }
    /* Every state for every type, zeros included: 3 types x 6 states. */
    ASSERT_EQ(count_prefix(t, "logcap_tasks{"), 3 * LC_TASK_STATES);
    ASSERT_EQ(count_prefix(t, "logcap_task_heartbeat_age_seconds{"), 2);
    free(t);
    lc_snapshot_put(s);
}

/* The family a sample line belongs to: its name, less _bucket, _sum or _count when the
 * family is a histogram. */
static void family_of(const char *line, const char *type, char *name, size_t cap)
{
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    size_t n;
    snprintf(name, cap, "%.*s", (int)strcspn(line, "{ "), line);
    n = strlen(name);
    for (size_t i = 0; strcmp(type, "histogram") == 0 && i < 3; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && strcmp(name + n - k, suffixes[i]) == 0) {
            name[n - k] = '\0';
            return;
        }
    }
}

/* Every sample's family has one HELP and one TYPE, both before its first sample, and the
 * samples of a family are contiguous. */
TEST(families_well_formed)
{
    struct lc_snapshot *s = sample();
    char *t = render(s, 1, &proc_fixed);
    char current[128] = "", current_type[160] = "";
    int families = 0;
    ASSERT_TRUE(t != NULL);
    ASSERT_TRUE(has_line(t, "logcap_loop_stalled 1"));
    for (char *line = strtok(t, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char name[128], help[160], type[160];
        if (strncmp(line, "# HELP ", 7) == 0) {
            sscanf(line + 7, "%127s", name);
            snprintf(help, sizeof(help), "%s", name);
            ASSERT_TRUE(strcmp(name, current) != 0);
            snprintf(current, sizeof(current), "%s", name);
            families++;
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            sscanf(line + 7, "%127s %159s", name, type);
            ASSERT_STR_EQ(name, current);
            ASSERT_TRUE(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
                        strcmp(type, "histogram") == 0);
            snprintf(current_type, sizeof(current_type), "%s", type);
            if (strcmp(type, "counter") == 0) {
                size_t n = strlen(name);
                ASSERT_TRUE(n > 6 && strcmp(name + n - 6, "_total") == 0);
            }
            continue;
        }
        ASSERT_TRUE(line[0] != '#');
        family_of(line, current_type, name, sizeof(name));
        ASSERT_STR_EQ(name, current);
    }
    /* 27 before the spool, 13 spool families (the writer's two among them) and the sync
     * histogram, 5 new per output (permanent_failures_total replaced rejected_total); then
     * container drains, output flush failures, spool metadata and checkpoint size; then
     * the sources of each input; then outputs failing and config faults, their requests by
     * status class and the request latency histogram; then the 7 of file inputs; then the
     * 3 of files mode per container; then the 6 of Kafka outputs' brokers. */
    ASSERT_EQ(families, 71);
    free(t);
    lc_snapshot_put(s);
}

TEST(without_snapshot)
{
    char *t = render(NULL, 0, NULL);
    ASSERT_TRUE(t != NULL);
    ASSERT_TRUE(has_line(t, "logcap_up 1"));
    /* No snapshot, so no input is known yet: the families are there, without samples. */
    ASSERT_TRUE(has_line(t, "# TYPE logcap_docker_connected gauge"));
    ASSERT_EQ(count_prefix(t, "logcap_docker_connected"), 0);
    ASSERT_EQ(count_prefix(t, "logcap_docker_api_errors_total"), 0);
    ASSERT_TRUE(has_line(t, "# TYPE logcap_tasks gauge"));
    ASSERT_EQ(count_prefix(t, "logcap_tasks{"), 0);
    ASSERT_TRUE(strstr(t, "process_") == NULL);
    free(t);
}

/* The spool families are left out without a spool, and so are the backlog families of the
 * outputs (a 0 there would read "caught up"); the dead-letter families stay. */
TEST(without_spool)
{
    static const char *const absent[] = {"logcap_spool_", "logcap_backpressure_",
                                         "logcap_output_backlog_",
                                         "logcap_output_oldest_unacked_age_seconds"};
    struct lc_snapshot *s = sample();
    char *t;
    s->spool.enabled = 0;
    t = render(s, 0, NULL);
    ASSERT_TRUE(t != NULL);
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        if (strstr(t, absent[i]) != NULL) {
            fprintf(stderr, "  unexpected %s in:\n%s", absent[i], t);
        }
        ASSERT_TRUE(strstr(t, absent[i]) == NULL);
    }
    ASSERT_TRUE(has_line(t, "logcap_output_permanent_failures_total{output=\"files\"} 2"));
    ASSERT_TRUE(has_line(t, "logcap_output_dead_lettered_total{output=\"files\"} 5"));
    ASSERT_TRUE(has_line(t, "logcap_output_dead_letter_records{output=\"files\"} 4"));
    free(t);
    /* Before the first snapshot: no spool family at all, the output families empty. */
    t = render(NULL, 0, NULL);
    ASSERT_TRUE(t != NULL);
    ASSERT_TRUE(strstr(t, "logcap_spool_") == NULL);
    ASSERT_TRUE(strstr(t, "logcap_backpressure_") == NULL);
    ASSERT_TRUE(strstr(t, "logcap_output_backlog_") == NULL);
    ASSERT_TRUE(has_line(t, "# TYPE logcap_output_dead_lettered_total counter"));
    ASSERT_EQ(count_prefix(t, "logcap_output_dead_lettered_total{"), 0);
    free(t);
    lc_snapshot_put(s);
}

/* The flags are 0 or 1 whatever int the snapshot holds. */
TEST(spool_flags)
{
    struct lc_snapshot *s = sample();
    char *t;
    s->spool.full = 0;
    s->spool.paused = 0;
    t = render(s, 0, NULL);
    ASSERT_TRUE(t != NULL && has_line(t, "logcap_spool_full 0"));
    ASSERT_TRUE(has_line(t, "logcap_backpressure_paused 0"));
    free(t);
    s->spool.full = 2;
    s->spool.paused = -1;
    t = render(s, 0, NULL);
    ASSERT_TRUE(t != NULL && has_line(t, "logcap_spool_full 1"));
    ASSERT_TRUE(has_line(t, "logcap_backpressure_paused 1"));
    free(t);
    lc_snapshot_put(s);
}

/* Reads the histogram of TEXT: the le bounds and counts of its buckets in order (at most
 * CAP), its _count and whether _sum came. Returns the number of buckets, or -1 when a
 * line does not parse. */
static int read_histogram(const char *text, double *le, uint64_t *counts, int cap, uint64_t *count,
                          int *has_sum)
{
    static const char bucket[] = "logcap_spool_sync_seconds_bucket{le=\"";
    int n = 0;
    *count = 0;
    *has_sum = 0;
    for (const char *p = text; p != NULL && *p != '\0';) {
        char *end;
        if (strncmp(p, bucket, sizeof(bucket) - 1) == 0) {
            const char *v = p + sizeof(bucket) - 1;
            if (n == cap) {
                return -1;
            }
            le[n] = strncmp(v, "+Inf\"", 5) == 0 ? INFINITY : strtod(v, &end);
            v = strstr(v, "\"} ");
            if (v == NULL) {
                return -1;
            }
            counts[n++] = strtoull(v + 3, &end, 10);
        } else if (strncmp(p, "logcap_spool_sync_seconds_count ", 32) == 0) {
            *count = strtoull(p + 32, &end, 10);
        } else if (strncmp(p, "logcap_spool_sync_seconds_sum ", 30) == 0) {
            *has_sum = 1;
        }
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    return n;
}

/* A Prometheus histogram: a bucket per bound in lc_sync_bucket_le in order, then +Inf;
 * counts cumulative (never decreasing); +Inf equal to _count; a _sum. */
static int histogram_ok(const char *text, uint64_t want_count)
{
    double le[LC_SYNC_BUCKETS + 2];
    uint64_t counts[LC_SYNC_BUCKETS + 2], count;
    int has_sum, n = read_histogram(text, le, counts, LC_SYNC_BUCKETS + 2, &count, &has_sum);
    if (n != LC_SYNC_BUCKETS + 1 || !has_sum || !isinf(le[n - 1])) {
        return 0;
    }
    for (int i = 0; i < n; i++) {
        if ((i < LC_SYNC_BUCKETS && le[i] != lc_sync_bucket_le[i]) ||
            (i > 0 && (le[i] <= le[i - 1] || counts[i] < counts[i - 1]))) {
            return 0;
        }
    }
    return counts[n - 1] == count && count == want_count;
}

TEST(sync_histogram_shape)
{
    struct lc_snapshot *s = sample();
    char *t = render(s, 0, NULL);
    ASSERT_TRUE(t != NULL);
    ASSERT_TRUE(histogram_ok(t, 38));
    /* One HELP and one TYPE for the three kinds of line. */
    ASSERT_EQ(count_prefix(t, "# HELP logcap_spool_sync_seconds "), 1);
    ASSERT_EQ(count_prefix(t, "# TYPE logcap_spool_sync_seconds histogram"), 1);
    ASSERT_EQ(count_prefix(t, "# TYPE logcap_spool_sync_seconds_"), 0);
    free(t);
    /* No sync yet: every bucket 0, and still the whole family. */
    memset(s->spool.sync_buckets, 0, sizeof(s->spool.sync_buckets));
    s->spool.sync_count = 0;
    s->spool.sync_seconds_sum = 0;
    t = render(s, 0, NULL);
    ASSERT_TRUE(t != NULL);
    ASSERT_TRUE(histogram_ok(t, 0));
    ASSERT_TRUE(has_line(t, "logcap_spool_sync_seconds_sum 0"));
    free(t);
    lc_snapshot_put(s);
}

/* Counts that are not cumulative (a bookkeeping slip in the loop) still give a valid
 * histogram: each bucket at least the one before, +Inf and _count the largest. */
TEST(sync_histogram_repaired)
{
    static const uint64_t bad[LC_SYNC_BUCKETS] = {4, 3, 9, 1, 9, 9, 9, 9, 12, 9, 9, 9};
    struct lc_snapshot *s = sample();
    char *t;
    memcpy(s->spool.sync_buckets, bad, sizeof(bad));
    s->spool.sync_count = 10; /* below the 12 of le="0.25" */
    t = render(s, 0, NULL);
    ASSERT_TRUE(t != NULL);
    ASSERT_TRUE(histogram_ok(t, 12));
    ASSERT_TRUE(has_line(t, "logcap_spool_sync_seconds_bucket{le=\"0.001\"} 4"));
    ASSERT_TRUE(has_line(t, "logcap_spool_sync_seconds_bucket{le=\"0.5\"} 12"));
    free(t);
    lc_snapshot_put(s);
}

/* Requests by status class, per output, and their latency histogram: cumulative buckets,
 * +Inf equal to _count. */
TEST(request_families)
{
    struct lc_snapshot *s = sample();
    struct lc_request_stats *r = &s->outputs[0].requests;
    char *t;
    lc_request_stats_add(r, 204, 3000);    /* 0.003 s */
    lc_request_stats_add(r, 204, 40000);   /* 0.04 s */
    lc_request_stats_add(r, 429, 200000);  /* 0.2 s */
    lc_request_stats_add(r, 503, 2000000); /* 2 s */
    lc_request_stats_add(r, 0, 60000000);  /* a 60 s timeout: only +Inf */
    lc_request_stats_add(r, 302, 1000);
    s->outputs[0].failing = 1;
    s->outputs[0].config_fault = 1;
    t = render(s, 0, NULL);
    ASSERT_TRUE(t != NULL);
    ASSERT_TRUE(
        has_line(t, "logcap_output_requests_total{output=\"files\",status_class=\"2xx\"} 2"));
    ASSERT_TRUE(
        has_line(t, "logcap_output_requests_total{output=\"files\",status_class=\"3xx\"} 1"));
    ASSERT_TRUE(
        has_line(t, "logcap_output_requests_total{output=\"files\",status_class=\"4xx\"} 1"));
    ASSERT_TRUE(
        has_line(t, "logcap_output_requests_total{output=\"files\",status_class=\"5xx\"} 1"));
    ASSERT_TRUE(
        has_line(t, "logcap_output_requests_total{output=\"files\",status_class=\"error\"} 1"));
    ASSERT_TRUE(has_line(
        t, "logcap_output_request_duration_seconds_bucket{output=\"files\",le=\"0.005\"} 2"));
    ASSERT_TRUE(has_line(
        t, "logcap_output_request_duration_seconds_bucket{output=\"files\",le=\"0.05\"} 3"));
    ASSERT_TRUE(has_line(
        t, "logcap_output_request_duration_seconds_bucket{output=\"files\",le=\"0.25\"} 4"));
    ASSERT_TRUE(has_line(
        t, "logcap_output_request_duration_seconds_bucket{output=\"files\",le=\"2.5\"} 5"));
    ASSERT_TRUE(
        has_line(t, "logcap_output_request_duration_seconds_bucket{output=\"files\",le=\"30\"} 5"));
    ASSERT_TRUE(has_line(
        t, "logcap_output_request_duration_seconds_bucket{output=\"files\",le=\"+Inf\"} 6"));
    ASSERT_TRUE(has_line(t, "logcap_output_request_duration_seconds_count{output=\"files\"} 6"));
    ASSERT_TRUE(has_line(t, "logcap_output_request_duration_seconds_sum{output=\"files\"} 62.244"));
    ASSERT_TRUE(has_line(t, "logcap_output_failing{output=\"files\"} 1"));
    ASSERT_TRUE(has_line(t, "logcap_output_config_fault{output=\"files\"} 1"));
    ASSERT_EQ(count_prefix(t, "# TYPE logcap_output_request_duration_seconds histogram"), 1);
    free(t);
    lc_snapshot_put(s);
}

/* A Kafka output's brokers, for outputs that report them only. */
TEST(broker_families)
{
    struct lc_snapshot *s = sample();
    struct lc_brokers_snap *b = &s->outputs[0].brokers;
    char *t;

    t = render(s, 0, NULL);
    ASSERT_EQ(count_prefix(t, "logcap_kafka_broker_up{"), 0); /* no brokers: no series */
    ASSERT_EQ(count_prefix(t, "logcap_kafka_brokers_up{"), 0);
    free(t);
    b->valid = 1;
    b->up = 1;
    b->known = 2;
    b->queue_messages = 42;
    b->n = 2;
    snprintf(b->broker[0].name, sizeof b->broker[0].name, "k1:9092/1");
    b->broker[0].up = 1;
    b->broker[0].rtt_avg_s = 0.002;
    b->broker[0].rtt_p99_s = 0.015;
    b->broker[0].tx_errors = 3;
    b->broker[0].timeouts = 1;
    snprintf(b->broker[1].name, sizeof b->broker[1].name, "k2:9092/2");
    t = render(s, 0, NULL);
    ASSERT_TRUE(has_line(t, "logcap_kafka_brokers_up{output=\"files\"} 1"));
    ASSERT_TRUE(has_line(t, "logcap_kafka_brokers{output=\"files\"} 2"));
    ASSERT_TRUE(has_line(t, "logcap_kafka_queue_messages{output=\"files\"} 42"));
    ASSERT_TRUE(has_line(t, "logcap_kafka_broker_up{output=\"files\",broker=\"k1:9092/1\"} 1"));
    ASSERT_TRUE(has_line(t, "logcap_kafka_broker_up{output=\"files\",broker=\"k2:9092/2\"} 0"));
    ASSERT_TRUE(has_line(
        t, "logcap_kafka_broker_rtt_seconds{output=\"files\",broker=\"k1:9092/1\",stat=\"p99\"} "
           "0.015"));
    ASSERT_TRUE(has_line(t, "logcap_kafka_broker_errors_total{output=\"files\",broker=\"k1:9092/"
                            "1\",kind=\"tx\"} 3"));
    ASSERT_TRUE(has_line(t, "logcap_kafka_broker_errors_total{output=\"files\",broker=\"k1:9092/"
                            "1\",kind=\"timeout\"} 1"));
    free(t);
    lc_snapshot_put(s);
}

/* A file input's counters, for file inputs only. */
TEST(file_input_families)
{
    struct lc_snapshot *s = sample();
    struct lc_input_snap *f = lc_snapshot_add_input(s, "app", "file");
    char *t;
    f->sources = 3;
    f->files.lines = 120;
    f->files.bytes = 4000;
    f->files.truncated = 2;
    f->files.rotations = 4;
    f->files.truncations = 1;
    f->files.lost = 1;
    f->files.errors = 5;
    t = render(s, 0, NULL);
    ASSERT_TRUE(t != NULL);
    ASSERT_TRUE(has_line(t, "logcap_input_sources{input=\"app\",type=\"file\"} 3"));
    ASSERT_TRUE(has_line(t, "logcap_file_lines_total{input=\"app\"} 120"));
    ASSERT_TRUE(has_line(t, "logcap_file_bytes_total{input=\"app\"} 4000"));
    ASSERT_TRUE(has_line(t, "logcap_file_truncated_lines_total{input=\"app\"} 2"));
    ASSERT_TRUE(has_line(t, "logcap_file_rotations_total{input=\"app\"} 4"));
    ASSERT_TRUE(has_line(t, "logcap_file_truncations_total{input=\"app\"} 1"));
    ASSERT_TRUE(has_line(t, "logcap_file_lost_total{input=\"app\"} 1"));
    ASSERT_TRUE(has_line(t, "logcap_file_errors_total{input=\"app\"} 5"));
    ASSERT_EQ(count_prefix(t, "logcap_file_lines_total{"), 1); /* not for the Docker input */
    free(t);
    lc_snapshot_put(s);
}

TEST(escape_label)
{
    char out[64];
    ASSERT_EQ(lc_metrics_escape_label("a\\b\"c\nd", 64, out, sizeof(out)), 10);
    ASSERT_STR_EQ(out, "a\\\\b\\\"c\\nd");
    /* Valid UTF-8 stays; invalid bytes, overlongs, surrogates and cut sequences become '?'. */
    lc_metrics_escape_label("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 64, out, sizeof(out));
    ASSERT_STR_EQ(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    lc_metrics_escape_label("\xc0\xaf|\xed\xa0\x80|\xff|\xe2\x82", 64, out, sizeof(out));
    ASSERT_STR_EQ(out, "??|???|?|??");
    /* MAX_IN bounds the input; a value cut by CAP is cut at a character boundary. */
    lc_metrics_escape_label("0123456789abcdef", 12, out, sizeof(out));
    ASSERT_STR_EQ(out, "0123456789ab");
    ASSERT_EQ(lc_metrics_escape_label("ab\xc3\xa9", 64, out, 4), 2);
    ASSERT_STR_EQ(out, "ab");
    ASSERT_EQ(lc_metrics_escape_label("a\"", 64, out, 3), 1);
    ASSERT_STR_EQ(out, "a");
}

TEST(proc_read)
{
    struct lc_proc_stats p;
    double now = (double)lc_wall_ns() / 1e9;
    ASSERT_EQ(lc_metrics_proc_read(&p), 0);
    ASSERT_TRUE(p.open_fds >= 3 && p.open_fds < 1e6);
    ASSERT_TRUE(p.max_fds >= p.open_fds);
    ASSERT_TRUE(p.resident_bytes > 0);
    ASSERT_TRUE(p.virtual_bytes >= p.resident_bytes);
    ASSERT_TRUE(p.cpu_seconds >= 0);
    ASSERT_TRUE(p.threads >= 1);
    /* Started in the last hour, not in the future (clock ticks are 10 ms). */
    ASSERT_TRUE(p.start_time_seconds <= now + 1 && p.start_time_seconds > now - 3600);
}

/* Finds promtool in PATH. Returns 1 and its path in OUT. */
static int find_promtool(char *out, size_t cap)
{
    const char *path = getenv("PATH");
    char *copy = lc_xstrdup(path != NULL ? path : "/usr/bin:/bin");
    int found = 0;
    for (char *dir = strtok(copy, ":"); dir != NULL && !found; dir = strtok(NULL, ":")) {
        snprintf(out, cap, "%s/promtool", dir);
        found = access(out, X_OK) == 0;
    }
    free(copy);
    return found;
}

/* Runs `promtool check metrics` with TEXT on its stdin; returns its exit status and its
 * output (stdout and stderr) in OUT. */
static int promtool_check(const char *promtool, const char *text, char *out, size_t cap)
{
    char in_path[] = "/tmp/lc-metrics-XXXXXX", cmd[512];
    int fd = mkstemp(in_path), status;
    FILE *p;
    size_t n;
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        return -1;
    }
    close(fd);
    snprintf(cmd, sizeof(cmd), "'%s' check metrics < '%s' 2>&1", promtool, in_path);
    p = popen(cmd, "r");
    n = p != NULL ? fread(out, 1, cap - 1, p) : 0;
    out[n] = '\0';
    status = p != NULL ? pclose(p) : -1;
    unlink(in_path);
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(promtool_accepts)
{
    char promtool[512], out[8192];
    struct lc_snapshot *s = sample();
    struct lc_proc_stats real;
    char *t;
    if (!find_promtool(promtool, sizeof(promtool))) {
        printf("skip promtool_accepts: promtool not installed (apt-get install prometheus)\n");
        lc_snapshot_put(s);
        return;
    }
    lc_metrics_proc_read(&real);
    t = render(s, 0, &real);
    ASSERT_TRUE(t != NULL);
    ASSERT_EQ(promtool_check(promtool, t, out, sizeof(out)), 0);
    if (out[0] != '\0') {
        fprintf(stderr, "  promtool says:\n%s", out);
    }
    ASSERT_TRUE(out[0] == '\0'); /* no lint findings either */
    free(t);
    t = render(NULL, 1, NULL);
    ASSERT_EQ(promtool_check(promtool, t, out, sizeof(out)), 0);
    ASSERT_TRUE(out[0] == '\0');
    free(t);
    lc_snapshot_put(s);
}

TEST_MAIN(TEST_ENTRY(samples), TEST_ENTRY(families_well_formed), TEST_ENTRY(without_snapshot),
          TEST_ENTRY(without_spool), TEST_ENTRY(spool_flags), TEST_ENTRY(sync_histogram_shape),
          TEST_ENTRY(sync_histogram_repaired), TEST_ENTRY(request_families),
          TEST_ENTRY(broker_families), TEST_ENTRY(file_input_families), TEST_ENTRY(escape_label),
          TEST_ENTRY(proc_read), TEST_ENTRY(promtool_accepts))
