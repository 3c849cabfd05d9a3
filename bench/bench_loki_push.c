/* bench_loki_push: what building Loki's push bodies costs per record, for batches as the
 * Loki output will send them (1 MiB of 100-byte lines: about 9,000 entries in 6 streams):
 * protobuf, protobuf + snappy, JSON, JSON + gzip (libdeflate level 1). Single thread, CPU
 * time. The target for the whole Loki output: 1M records per CPU-second, so the
 * body must cost well under 1 us per record.
 *   cmake -DLOGCAP_BENCH=ON ... && build/bench_loki_push [batches] */
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "outputs/loki/loki_push.h"

#define STREAMS 6
#define PER_STREAM 1500

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static struct lc_loki_entry entries[STREAMS * PER_STREAM];
    static char lines[STREAMS * PER_STREAM][100];
    struct lc_loki_stream streams[STREAMS];
    struct lc_attr pairs[STREAMS][4];
    struct lc_buf labels[STREAMS], body, packed;
    struct libdeflate_compressor *gz = libdeflate_alloc_compressor(1);
    long batches = argc > 1 ? atol(argv[1]) : 200;
    const char *modes[4] = {"protobuf", "protobuf+snappy", "json", "json+gzip"};
    char names[STREAMS][16];

    for (int s = 0; s < STREAMS; s++) {
        snprintf(names[s], sizeof names[s], "web-%d", s + 1);
        pairs[s][0] = (struct lc_attr){"job", "logcap", 0};
        pairs[s][1] = (struct lc_attr){"host", "node-3", 0};
        pairs[s][2] = (struct lc_attr){"container", names[s], 0};
        pairs[s][3] = (struct lc_attr){"stream", "stdout", 0};
        lc_buf_init(&labels[s], 0);
        lc_loki_labels_format(&labels[s], pairs[s], 4);
        for (int k = 0; k < PER_STREAM; k++) {
            int i = s * PER_STREAM + k;
            snprintf(lines[i], sizeof lines[i], "c%03d %09d %0*d", s, k, 84, 0);
            entries[i] = (struct lc_loki_entry){1795350283463703600LL + i, lines[i], 99, NULL, 0};
        }
        streams[s] = (struct lc_loki_stream){labels[s].data,           labels[s].len, pairs[s], 4,
                                             entries + s * PER_STREAM, PER_STREAM};
    }
    lc_buf_init(&body, 0);
    lc_buf_init(&packed, 0);
    for (int mode = 0; mode < 4; mode++) {
        double t0 = cpu_now(), secs;
        size_t bytes = 0;
        for (long b = 0; b < batches; b++) {
            lc_buf_reset(&body);
            lc_buf_reset(&packed);
            if (mode < 2) {
                lc_loki_push_proto(&body, streams, STREAMS);
            } else {
                lc_loki_push_json(&body, streams, STREAMS);
            }
            if (mode == 1) {
                lc_loki_snappy(&packed, body.data, body.len);
            } else if (mode == 3) {
                size_t cap = libdeflate_gzip_compress_bound(gz, body.len);
                lc_buf_reserve(&packed, cap);
                packed.len = libdeflate_gzip_compress(gz, body.data, body.len, packed.data, cap);
            }
            bytes += mode == 1 || mode == 3 ? packed.len : body.len;
        }
        secs = cpu_now() - t0;
        printf("%-16s %6.1f M records per CPU-s  %5.0f ns/record  body %zu bytes/batch\n",
               modes[mode], (double)batches * STREAMS * PER_STREAM / secs / 1e6,
               secs * 1e9 / ((double)batches * STREAMS * PER_STREAM), bytes / (size_t)batches);
    }
    for (int s = 0; s < STREAMS; s++) {
        lc_buf_close(&labels[s]);
    }
    lc_buf_close(&body);
    lc_buf_close(&packed);
    libdeflate_free_compressor(gz);
    return 0;
}
