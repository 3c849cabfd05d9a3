/* bench_decode: throughput of the hot path on 100-byte lines: lc_docker_lines_feed over a
 * non-TTY and a TTY body fed in 16 KiB reads (as curl hands them over), and
 * lc_json_add_record into a batch buffer. Not built by CMake; build by hand:
 *
 *   gcc -O2 -std=c11 -D_GNU_SOURCE -Isrc bench/bench_decode.c src/inputs/docker/lines.c \
 *       src/inputs/docker/frame.c src/base/timefmt.c src/core/json.c src/core/record.c \
 *       src/base/buf.c src/base/util.c src/base/log.c -o bench_decode && ./bench_decode
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "core/json.h"
#include "core/record.h"
#include "inputs/docker/lines.h"

#define LINES 2000000
#define LINE_LEN 100 /* content bytes including the '\n' */
#define READ_SIZE 16384

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A log-like line of LINE_LEN - 1 printable bytes. */
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

static void build_body(struct lc_buf *b, int tty)
{
    char line[LINE_LEN + 1];
    const char *ts = "2026-11-22T12:24:43.463703600Z ";
    lc_buf_init(b, 0);
    for (uint64_t i = 0; i < LINES; i++) {
        make_line(line, i);
        if (!tty) {
            uint32_t n = 31 + LINE_LEN;
            unsigned char h[8] = {1,
                                  0,
                                  0,
                                  0,
                                  (unsigned char)(n >> 24),
                                  (unsigned char)(n >> 16),
                                  (unsigned char)(n >> 8),
                                  (unsigned char)n};
            lc_buf_add(b, h, 8);
            lc_buf_add(b, ts, 31);
            lc_buf_add(b, line, LINE_LEN);
        } else {
            lc_buf_add(b, ts, 31);
            lc_buf_add(b, line, LINE_LEN - 1);
            lc_buf_add(b, "\r\n", 2);
        }
    }
}

static int on_line(void *ud, const struct lc_docker_line *l)
{
    uint64_t *sum = ud;
    *sum += l->len + (uint64_t)l->ts_ns;
    return 0;
}

static void bench_lines(int tty)
{
    struct lc_buf body;
    uint64_t sum = 0;
    double best = 1e9;
    build_body(&body, tty);
    for (int rep = 0; rep < 5; rep++) {
        struct lc_docker_lines *l = lc_docker_lines_create(tty, 1 << 20, on_line, &sum);
        double t0 = now();
        for (size_t off = 0; off < body.len; off += READ_SIZE) {
            size_t n = body.len - off < READ_SIZE ? body.len - off : READ_SIZE;
            lc_docker_lines_feed(l, body.data + off, n);
        }
        lc_docker_lines_finish(l, 1);
        double dt = now() - t0;
        best = dt < best ? dt : best;
        lc_docker_lines_destroy(l);
    }
    printf(
        "lc_docker_lines_feed (%s): %.0f MB/s of body, %.0f MB/s of line content, %.2f M lines/s "
        "(sum %llu)\n",
        tty ? "tty" : "non-tty", body.len / best / 1e6, (double)LINES * (LINE_LEN - 1) / best / 1e6,
        LINES / best / 1e6, (unsigned long long)(sum % 10));
    lc_buf_close(&body);
}

static void bench_json(void)
{
    char line[LINE_LEN + 1];
    const char *ts = "2026-11-22T12:24:43.463703600Z";
    struct lc_meta *m = lc_meta_docker_create(
        "4f1c8e0a7d2b9c3e5f60718293a4b5c6d7e8f90112233445566778899aabbccd", "shop-web-1",
        "nginx:1.25", "host-7", "{\"tier\":\"web\",\"team\":\"shop\"}", "shop", "web");
    struct lc_record *recs[1024];
    struct lc_buf out;
    double best = 1e9;
    uint64_t out_bytes = 0;
    for (int i = 0; i < 1024; i++) {
        make_line(line, (uint64_t)i * 7919);
        recs[i] = lc_record_create(m, 1, 1795350283463703600LL, ts, 30, line, LINE_LEN - 1, 0);
    }
    lc_buf_init(&out, 8 << 20);
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        out_bytes = 0;
        for (int i = 0; i < LINES; i++) {
            if (lc_json_add_record(&out, recs[i & 1023]) != 0) {
                out_bytes += out.len;
                lc_buf_reset(&out);
                lc_json_add_record(&out, recs[i & 1023]);
            }
        }
        out_bytes += out.len;
        lc_buf_reset(&out);
        double dt = now() - t0;
        best = dt < best ? dt : best;
    }
    printf("lc_json_add_record: %.0f MB/s of message, %.0f MB/s of JSON out, %.2f M records/s "
           "(%.0f bytes/record)\n",
           (double)LINES * (LINE_LEN - 1) / best / 1e6, out_bytes / best / 1e6, LINES / best / 1e6,
           (double)out_bytes / LINES);
    for (int i = 0; i < 1024; i++) {
        lc_record_destroy(recs[i]);
    }
    lc_meta_unref(m);
    lc_buf_close(&out);
}

int main(void)
{
    bench_lines(0);
    bench_lines(1);
    bench_json();
    return 0;
}
