/* jsonfile: Docker's json-file log lines (see jsonfile.h).
 *
 * The parser is written by hand rather than with jansson: an entry is a flat object with
 * three string keys that matter, and building a jansson tree per line (allocations for the
 * object, each key and each string, then a copy out) would cost more than the rest of the
 * line's way to the spool. This one makes no allocation once the content buffer has grown,
 * copies runs of plain bytes with memcpy, and skips what it does not need. */
#include "inputs/docker/jsonfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/timefmt.h"
#include "base/util.h"

#define MAX_DEPTH 64   /* nesting skipped inside "attrs" (or any other key) */
#define SMALL_CAP 64   /* keys, "stream" and "time" values longer than this are unknown */
#define TS_TEXT_CAP 40 /* "2026-11-22T12:24:43.463703600Z" */

struct cur {
    const char *p, *end;
};

static void skip_ws(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')) {
        c->p++;
    }
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char ch = p[i];
        v <<= 4;
        if (ch >= '0' && ch <= '9') {
            v |= (unsigned)(ch - '0');
        } else if (ch >= 'a' && ch <= 'f') {
            v |= (unsigned)(ch - 'a' + 10);
        } else if (ch >= 'A' && ch <= 'F') {
            v |= (unsigned)(ch - 'A' + 10);
        } else {
            return -1;
        }
    }
    *out = v;
    return 0;
}

/* Appends code point CP as UTF-8. */
static int put_utf8(struct lc_buf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return lc_buf_add(b, u, n);
}

/* After "\u" at C->p: the code point of one escape, a surrogate pair joined; a lone
 * surrogate is U+FFFD. Advances C past what it read. */
static int read_u(struct cur *c, unsigned *cp)
{
    unsigned hi, lo;
    if (c->end - c->p < 4 || hex4(c->p, &hi) != 0) {
        return -1;
    }
    c->p += 4;
    *cp = hi;
    if (hi >= 0xDC00 && hi <= 0xDFFF) {
        *cp = 0xFFFD;
    } else if (hi >= 0xD800 && hi <= 0xDBFF) {
        *cp = 0xFFFD;
        if (c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u' && hex4(c->p + 2, &lo) == 0 &&
            lo >= 0xDC00 && lo <= 0xDFFF) {
            *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
            c->p += 6;
        }
    }
    return 0;
}

/* One escape after the backslash at C->p - 1, appended to OUT. */
static int read_escape(struct cur *c, struct lc_buf *out)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *k;
    unsigned cp;
    if (c->p >= c->end) {
        return -1;
    }
    if (*c->p == 'u') {
        c->p++;
        return read_u(c, &cp) == 0 ? put_utf8(out, cp) : -1;
    }
    k = memchr(from, *c->p, sizeof(from) - 1);
    if (k == NULL) {
        return -1;
    }
    c->p++;
    return lc_buf_addc(out, to[k - from]);
}

/* A JSON string at C->p (its opening quote), unescaped into OUT (appended). With OUT NULL
 * the string is only skipped. */
static int read_string(struct cur *c, struct lc_buf *out)
{
    if (c->p >= c->end || *c->p != '"') {
        return -1;
    }
    c->p++;
    for (;;) {
        const char *run = c->p;
        while (c->p < c->end && *c->p != '"' && *c->p != '\\') {
            c->p++;
        }
        if (out != NULL && c->p > run && lc_buf_add(out, run, (size_t)(c->p - run)) != 0) {
            return -1;
        }
        if (c->p >= c->end) {
            return -1;
        }
        if (*c->p++ == '"') {
            return 0;
        }
        if (out != NULL ? read_escape(c, out) != 0 : c->p++ >= c->end) {
            return -1;
        }
    }
}

/* Skips one JSON value of any kind (loosely: numbers and literals are runs of their
 * characters). */
static int skip_value(struct cur *c, int depth)
{
    skip_ws(c);
    if (c->p >= c->end || depth > MAX_DEPTH) {
        return -1;
    }
    if (*c->p == '"') {
        return read_string(c, NULL);
    }
    if (*c->p == '{' || *c->p == '[') {
        char close = *c->p == '{' ? '}' : ']';
        c->p++;
        skip_ws(c);
        if (c->p < c->end && *c->p == close) {
            c->p++;
            return 0;
        }
        for (;;) {
            if (close == '}' &&
                (read_string(c, NULL) != 0 || (skip_ws(c), c->p >= c->end) || *c->p++ != ':')) {
                return -1;
            }
            if (skip_value(c, depth + 1) != 0) {
                return -1;
            }
            skip_ws(c);
            if (c->p >= c->end) {
                return -1;
            }
            if (*c->p == close) {
                c->p++;
                return 0;
            }
            if (*c->p++ != ',') {
                return -1;
            }
            skip_ws(c);
        }
    }
    {
        const char *start = c->p;
        while (c->p < c->end && strchr("+-.0123456789eEtrufalsn", *c->p) != NULL) {
            c->p++;
        }
        return c->p > start ? 0 : -1;
    }
}

/* A short string value (a key, "stream", "time") into DST (SMALL_CAP bytes, NUL-ended).
 * Longer ones are read and stored empty: no key or value that matters is that long. */
static int read_small(struct cur *c, char *dst)
{
    char mem[SMALL_CAP];
    /* a buffer on the stack: max (room for the NUL) keeps lc_buf from ever growing it */
    struct lc_buf b = {.data = mem, .cap = sizeof(mem), .len = 0, .max = sizeof(mem) - 1};
    const char *start = c->p;
    if (read_string(c, &b) != 0) {
        /* too long for the buffer, or bad: skip it, and fail only if it is bad */
        c->p = start;
        dst[0] = '\0';
        return read_string(c, NULL);
    }
    memcpy(dst, mem, b.len);
    dst[b.len] = '\0';
    return 0;
}

static void read_time(const char *text, struct lc_docker_jsonfile_entry *e)
{
    int64_t ns;
    size_t n = strlen(text);
    int k = lc_time_parse_rfc3339(text, n, &ns);
    e->ts_ns = k > 0 && (size_t)k == n ? ns : -1;
}

/* One "key": value member of the entry. */
static int read_member(struct cur *c, struct lc_buf *log, struct lc_docker_jsonfile_entry *e)
{
    char key[SMALL_CAP], val[SMALL_CAP];
    if (read_small(c, key) != 0) {
        return -1;
    }
    skip_ws(c);
    if (c->p >= c->end || *c->p++ != ':') {
        return -1;
    }
    skip_ws(c);
    if (strcmp(key, "log") == 0) {
        log->len = 0;
        e->has_log = 1;
        return read_string(c, log);
    }
    if ((strcmp(key, "stream") == 0 || strcmp(key, "time") == 0) && c->p < c->end && *c->p == '"') {
        if (read_small(c, val) != 0) {
            return -1;
        }
        if (key[0] == 's') {
            e->stream = strcmp(val, "stdout") == 0 ? 1 : strcmp(val, "stderr") == 0 ? 2 : 0;
        } else {
            read_time(val, e);
        }
        return 0;
    }
    return skip_value(c, 0);
}

int lc_docker_jsonfile_parse(const char *line, size_t len, struct lc_buf *log,
                             struct lc_docker_jsonfile_entry *e)
{
    struct cur c = {line, line + len};
    e->stream = 0;
    e->ts_ns = -1;
    e->has_log = 0;
    log->len = 0;
    skip_ws(&c);
    if (c.p >= c.end || *c.p++ != '{') {
        return -EPROTO;
    }
    skip_ws(&c);
    if (c.p < c.end && *c.p == '}') {
        c.p++;
    } else {
        for (;;) {
            if (read_member(&c, log, e) != 0) {
                return -EPROTO;
            }
            skip_ws(&c);
            if (c.p >= c.end) {
                return -EPROTO;
            }
            if (*c.p == '}') {
                c.p++;
                break;
            }
            if (*c.p++ != ',') {
                return -EPROTO;
            }
            skip_ws(&c);
        }
    }
    skip_ws(&c);
    return c.p == c.end ? 0 : -EPROTO;
}

/* ---- the decoder -------------------------------------------------------------------- */

struct lc_docker_jsonfile {
    struct lc_docker_lines *lines;
    struct lc_buf log;
    uint64_t errors;
};

struct lc_docker_jsonfile *lc_docker_jsonfile_create(int tty, size_t max_line_bytes,
                                                     lc_docker_line_cb cb, void *ud)
{
    struct lc_docker_jsonfile *j = lc_xcalloc(1, sizeof(*j));
    j->lines = lc_docker_lines_create(tty, max_line_bytes, cb, ud);
    lc_buf_init(&j->log, 0);
    return j;
}

void lc_docker_jsonfile_destroy(struct lc_docker_jsonfile *j)
{
    if (j == NULL) {
        return;
    }
    lc_docker_lines_destroy(j->lines);
    lc_buf_close(&j->log);
    free(j);
}

/* The start of the last entry in the N bytes at P that begins after the start: where a
 * whole entry may follow bytes torn by a crash. NULL when there is none. */
static const char *last_entry_start(const char *p, size_t n)
{
    static const char mark[] = "{\"log\":";
    const char *found = NULL, *at = p + 1;
    while (at < p + n) {
        const char *m = memmem(at, (size_t)(p + n - at), mark, sizeof(mark) - 1);
        if (m == NULL) {
            break;
        }
        found = m;
        at = m + 1;
    }
    return found;
}

/* Decodes one line of the file (without its '\n') into the assembler. */
static int decode_line(struct lc_docker_jsonfile *j, const char *p, size_t n)
{
    struct lc_docker_jsonfile_entry e;
    char ts[TS_TEXT_CAP];
    int ts_len = 0;

    if (lc_docker_jsonfile_parse(p, n, &j->log, &e) != 0 || !e.has_log) {
        const char *again = last_entry_start(p, n);
        j->errors++;
        if (again == NULL ||
            lc_docker_jsonfile_parse(again, (size_t)(p + n - again), &j->log, &e) != 0 ||
            !e.has_log) {
            return 0;
        }
    }
    if (e.ts_ns >= 0) {
        ts_len = lc_time_format_rfc3339(e.ts_ns, ts, sizeof(ts));
    }
    return lc_docker_lines_message(j->lines, e.stream, ts, ts_len > 0 ? (size_t)ts_len : 0, e.ts_ns,
                                   j->log.data != NULL ? j->log.data : "", j->log.len);
}

int lc_docker_jsonfile_feed(struct lc_docker_jsonfile *j, const char *data, size_t len,
                            size_t *used)
{
    size_t at = 0;
    *used = 0;
    while (at < len) {
        const char *nl = memchr(data + at, '\n', len - at);
        size_t n;
        int rc;
        if (nl == NULL) {
            break;
        }
        n = (size_t)(nl - (data + at));
        rc = decode_line(j, data + at, n);
        at += n + 1;
        *used = at;
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int lc_docker_jsonfile_finish(struct lc_docker_jsonfile *j, int emit_partial)
{
    return lc_docker_lines_finish(j->lines, emit_partial);
}

int64_t lc_docker_jsonfile_pending_ts(const struct lc_docker_jsonfile *j)
{
    return lc_docker_lines_pending_ts(j->lines);
}

uint64_t lc_docker_jsonfile_decode_errors(const struct lc_docker_jsonfile *j)
{
    return j->errors + lc_docker_lines_decode_errors(j->lines);
}
