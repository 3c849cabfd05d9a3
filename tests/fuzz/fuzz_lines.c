/* fuzz_lines: the line assembler on arbitrary bodies. The first byte selects TTY mode, a
 * small max_line_bytes and the feed sizes; the rest is the body. The lines delivered when
 * the body is fed in pieces must be exactly those delivered when it is fed whole, and
 * every line must respect the limits. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inputs/docker/lines.h"
#include "lines_sum.h"

static const size_t maxes[8] = {1, 2, 5, 31, 100, 16383, 16384, 40000};

/* Feeds BODY in pieces (SEED 0: whole) and finishes. Returns the first nonzero result. */
static int run(struct sum *s, const char *body, size_t size, uint32_t seed, int emit,
               uint64_t *errors)
{
    struct lc_docker_lines *l = lc_docker_lines_create(s->tty, s->max, on_line, s);
    size_t off = 0;
    int rc = 0;
    while (off < size && rc == 0) {
        size_t n = size - off;
        if (seed != 0) {
            seed = seed * 1103515245u + 12345u;
            n = (seed >> 16) % (seed & 0x100 ? 40 : 3000);
            n = n > size - off ? size - off : n;
        }
        rc = lc_docker_lines_feed(l, body + off, n);
        off += n;
    }
    int rc2 = lc_docker_lines_finish(l, emit);
    *errors = lc_docker_lines_decode_errors(l);
    lc_docker_lines_destroy(l);
    return rc != 0 ? rc : rc2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sum whole, parts;
    uint64_t err_whole, err_parts;
    int rc_whole, rc_parts, emit;
    if (size < 1) {
        return 0;
    }
    memset(&whole, 0, sizeof(whole));
    whole.tty = data[0] & 1;
    whole.max = maxes[(data[0] >> 1) & 7];
    emit = (data[0] >> 4) & 1;
    parts = whole;
    rc_whole = run(&whole, (const char *)data + 1, size - 1, 0, emit, &err_whole);
    rc_parts =
        run(&parts, (const char *)data + 1, size - 1, data[0] * 2654435761u + 7, emit, &err_parts);
    if (rc_whole != rc_parts || whole.hash != parts.hash || whole.lines != parts.lines ||
        err_whole != err_parts || (rc_whole != 0 && rc_whole != -EPROTO)) {
        abort();
    }
    return 0;
}
