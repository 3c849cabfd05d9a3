/* fuzz_jsonfile: the json-file decoder on arbitrary file contents, and the entry parser in
 * a round trip. The first byte selects the mode and the limits.
 *  - Mode 0: the rest is a file. Fed whole and fed in pieces (the caller keeping what was
 *    not taken, as a tailer does), it must give the same lines and errors, every line
 *    within the limits.
 *  - Mode 1: the rest is a log message; written as dockerd's encoder would (JSON string
 *    escapes, \u for control bytes, a mix of \u and literal for the rest), the parser must
 *    give it back byte for byte. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "inputs/docker/jsonfile.h"
#include "lines_sum.h"

/* Feeds FILE in pieces of a size from SEED (0: whole), as a tailer does: what was not
 * taken is fed again with the next bytes. */
static void run(struct sum *s, const char *file, size_t size, uint32_t seed, uint64_t *errors)
{
    struct lc_docker_jsonfile *j = lc_docker_jsonfile_create(0, s->max, on_line, s);
    size_t start = 0, end = 0;
    while (end < size) {
        size_t n = size - end, used;
        if (seed != 0) {
            seed = seed * 1103515245u + 12345u;
            n = (seed >> 16) % 200 + 1;
            n = n > size - end ? size - end : n;
        }
        end += n;
        if (lc_docker_jsonfile_feed(j, file + start, end - start, &used) != 0) {
            abort();
        }
        start += used;
    }
    lc_docker_jsonfile_finish(j, 1);
    *errors = lc_docker_jsonfile_decode_errors(j);
    lc_docker_jsonfile_destroy(j);
}

static void round_trip(const uint8_t *msg, size_t n, unsigned style)
{
    struct lc_buf line, log;
    struct lc_docker_jsonfile_entry e;
    lc_buf_init(&line, 0);
    lc_buf_init(&log, 0);
    lc_buf_adds(&line, "{\"log\":\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = msg[i];
        if (c == '"' || c == '\\') {
            lc_buf_addc(&line, '\\');
            lc_buf_addc(&line, (char)c);
        } else if (c < 0x20 || c == 0x7f || (style & 1 && c < 0x80 && (i & 1))) {
            lc_buf_printf(&line, "\\u%04x", c);
        } else {
            lc_buf_addc(&line, (char)c);
        }
    }
    lc_buf_adds(&line, "\",\"stream\":\"stdout\",\"time\":\"2026-11-22T12:24:43Z\"}");
    if (lc_docker_jsonfile_parse(line.data, line.len, &log, &e) != 0 || e.stream != 1 ||
        log.len != n || (n > 0 && memcmp(log.data, msg, n) != 0)) {
        abort();
    }
    lc_buf_close(&line);
    lc_buf_close(&log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t maxes[4] = {1, 100, 16384, 40000};
    struct sum whole, parts;
    uint64_t err_whole, err_parts;
    if (size < 1) {
        return 0;
    }
    if (data[0] & 1) {
        round_trip(data + 1, size - 1, data[0] >> 1);
        return 0;
    }
    memset(&whole, 0, sizeof(whole));
    whole.max = maxes[(data[0] >> 1) & 3];
    parts = whole;
    run(&whole, (const char *)data + 1, size - 1, 0, &err_whole);
    run(&parts, (const char *)data + 1, size - 1, data[0] * 2654435761u + 7, &err_parts);
    if (whole.hash != parts.hash || whole.lines != parts.lines || err_whole != err_parts) {
        abort();
    }
    return 0;
}
