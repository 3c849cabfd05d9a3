/* lines_sum: a digest of the lines a decoder delivered (lines.h), for the fuzz targets that
 * compare two runs over the same input (fuzz_lines, fuzz_jsonfile); it aborts on a line
 * outside the limits. */
#ifndef LC_FUZZ_LINES_SUM_H
#define LC_FUZZ_LINES_SUM_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "inputs/docker/lines.h"

struct sum {
    uint64_t hash;
    size_t lines;
    size_t max;
    int tty;
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ s[i]) * 0x100000001b3ULL;
    }
    return h;
}

/* The line callback: checks L against the limits and adds it to the digest UD. */
static int on_line(void *ud, const struct lc_docker_line *l)
{
    struct sum *s = ud;
    if (l->len > s->max || (l->truncated && l->len != s->max) || l->ts_len > 35 ||
        (l->stream != 1 && l->stream != 2) || (s->tty && l->stream != 1) || l->ts_ns < 0 ||
        (l->len > 0 && l->msg == NULL) || (l->ts_len > 0 && l->ts == NULL)) {
        abort();
    }
    /* Touch every byte so ASan sees a bad pointer. */
    s->hash = mix(s->hash, &l->stream, sizeof(l->stream));
    s->hash = mix(s->hash, &l->ts_ns, sizeof(l->ts_ns));
    s->hash = mix(s->hash, l->ts, l->ts_len);
    s->hash = mix(s->hash, &l->len, sizeof(l->len));
    s->hash = mix(s->hash, l->msg, l->len);
    s->hash = mix(s->hash, &l->truncated, sizeof(l->truncated));
    s->lines++;
    return 0;
}

#endif
