/* lines_got: what the line callbacks of lines.h delivered, recorded for the tests of the
 * line assembler (test_lines) and of the json-file decoder (test_jsonfile); and Docker's
 * non-TTY frames, to build API bodies. */
#ifndef LC_TEST_LINES_GOT_H
#define LC_TEST_LINES_GOT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "inputs/docker/lines.h"

struct item {
    int stream;
    int64_t ts_ns;
    char ts[48];
    int truncated;
    char *msg;
    size_t len;
    const char *ptr; /* where the callback saw the bytes */
};

struct got {
    int n;
    struct item *items;
    struct lc_buf ser; /* every line serialised, to compare runs */
    int stop_at;       /* return 5 for line number STOP_AT (1-based) */
};

static int on_line(void *ud, const struct lc_docker_line *line)
{
    struct got *g = ud;
    struct item *it;
    g->items = realloc(g->items, (size_t)(g->n + 1) * sizeof(*g->items));
    it = &g->items[g->n++];
    it->stream = line->stream;
    it->ts_ns = line->ts_ns;
    snprintf(it->ts, sizeof(it->ts), "%.*s", (int)line->ts_len, line->ts);
    it->truncated = line->truncated;
    it->msg = malloc(line->len + 1);
    memcpy(it->msg, line->msg, line->len);
    it->msg[line->len] = '\0';
    it->len = line->len;
    it->ptr = line->msg;
    lc_buf_printf(&g->ser, "%d|%lld|%s|%d|%zu|", line->stream, (long long)line->ts_ns, it->ts,
                  line->truncated, line->len);
    lc_buf_add(&g->ser, line->msg, line->len);
    lc_buf_addc(&g->ser, '\n');
    return g->n == g->stop_at ? 5 : 0;
}

static void got_init(struct got *g)
{
    memset(g, 0, sizeof(*g));
    lc_buf_init(&g->ser, 0);
}

static void got_close(struct got *g)
{
    for (int i = 0; i < g->n; i++) {
        free(g->items[i].msg);
    }
    free(g->items);
    lc_buf_close(&g->ser);
}

/* Appends a non-TTY frame holding TS, a space and CONTENT (LEN bytes). */
static void frame(struct lc_buf *b, int stream, const char *ts, const char *content, size_t len)
{
    size_t n = strlen(ts) + 1 + len;
    unsigned char h[8] = {(unsigned char)stream,
                          0,
                          0,
                          0,
                          (unsigned char)(n >> 24),
                          (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8),
                          (unsigned char)n};
    lc_buf_add(b, h, 8);
    lc_buf_adds(b, ts);
    lc_buf_addc(b, ' ');
    lc_buf_add(b, content, len);
}

static void frames(struct lc_buf *b, int stream, const char *ts, const char *content)
{
    frame(b, stream, ts, content, strlen(content));
}

#endif
