/* lines: assembles the lines of a Docker logs body (see lines.h). Owns the frame decoder,
 * one join buffer per stream and, in TTY mode, a few bytes of a timestamp split between
 * feeds.
 *
 * The hot path does not copy: a message that is whole in the fed bytes, when no piece of
 * its stream is pending, is delivered with pointers into those bytes (or into the frame
 * decoder's buffer). Only the pieces of a split line, and a TTY message that spans feeds,
 * go through the join buffer, which is kept between lines (released when it grew past
 * KEEP_BYTES) so the steady state does not allocate.
 *
 * Truncation: a joined line is cut at max_line_bytes and delivered, marked truncated, when
 * its last piece arrives (or when it is flushed by a new timestamp or by finish), not when
 * the cap is reached; so a line cut by a dropped connection is not delivered twice. */
#include "inputs/docker/lines.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/timefmt.h"
#include "base/util.h"
#include "inputs/docker/frame.h"

/* The longest timestamp lc_time_parse_rfc3339 accepts (35 bytes) and its space: in TTY
 * mode this many bytes always decide whether a message starts with a timestamp. */
#define HEAD_MAX 36
#define TS_MAX 40
#define KEEP_BYTES (256 * 1024)
#define HDR_FIXED 31 /* Docker's own header: "2026-11-22T12:24:43.463703600Z " */
/* TTY content bytes that always decide where a message ends (see tty_find_end). */
#define SCAN_MAX (LC_DOCKER_PIECE + HDR_FIXED - 1)

/* The line being joined on one stream, and the last timestamp seen on it. */
struct joiner {
    struct lc_buf buf;
    int open; /* a piece is pending */
    int over; /* content went past the limit: the rest of the line is dropped */
    int64_t ts_ns;
    size_t ts_len;
    char ts[TS_MAX];
    int has_last;
    int64_t last_ns;
    size_t last_len;
    char last[TS_MAX];
};

struct lc_docker_lines {
    int tty;
    size_t max;
    size_t limit; /* join cap: MAX, plus one in TTY mode for a "\r" whose "\n" is to come */
    lc_docker_line_cb cb;
    void *ud;
    uint64_t errors;
    struct lc_docker_frame_decoder fd;
    struct joiner j[3]; /* by stream; [0] is unused */
    /* TTY mode: the content of a message whose end has not arrived (its timestamp is the
     * stdout joiner's last one), how much of it was searched for its end, and the first
     * bytes of a message header split between feeds. */
    int in_body;
    struct lc_buf body;
    size_t scanned;
    size_t head_len;
    char head[HEAD_MAX];
};

/* One message: its timestamp and its content (the newline already removed). */
struct msg {
    const char *ts;
    size_t ts_len;
    int64_t ts_ns;
    const char *text;
    size_t len;
};

static int emit(struct lc_docker_lines *l, int stream, const struct msg *m, int truncated)
{
    struct lc_docker_line line;
    line.stream = stream;
    line.ts_ns = m->ts_ns;
    line.ts = m->ts;
    line.ts_len = m->ts_len;
    line.msg = m->text;
    line.len = m->len;
    line.truncated = truncated;
    return l->cb(l->ud, &line);
}

/* Delivers a whole message in place. */
static int emit_direct(struct lc_docker_lines *l, int stream, struct msg *m)
{
    int truncated = 0;
    if (l->tty && m->len > 0 && m->text[m->len - 1] == '\r') {
        m->len--;
    }
    if (m->len > l->max) {
        m->len = l->max;
        truncated = 1;
    }
    return emit(l, stream, m, truncated);
}

/* Delivers the joined line of STREAM; FINAL when its '\n' was seen. The joiner is closed
 * before the callback runs, so a callback that stops the feed leaves a sound state. */
static int flush(struct lc_docker_lines *l, int stream, int final)
{
    struct joiner *j = &l->j[stream];
    struct msg m = {j->ts, j->ts_len, j->ts_ns, j->buf.data ? j->buf.data : "", j->buf.len};
    int truncated = j->over;
    int rc;
    if (final && l->tty && !j->over && m.len > 0 && m.text[m.len - 1] == '\r') {
        m.len--;
    }
    if (m.len > l->max) {
        m.len = l->max;
        truncated = 1;
    }
    j->open = 0;
    j->over = 0;
    rc = emit(l, stream, &m, truncated);
    j->buf.len = 0;
    if (j->buf.cap > KEEP_BYTES) {
        lc_buf_close(&j->buf);
    }
    return rc;
}

static void append(struct lc_docker_lines *l, struct joiner *j, const char *data, size_t n)
{
    size_t room = l->limit - j->buf.len;
    if (j->over) {
        return;
    }
    if (n > room) {
        n = room;
        j->over = 1;
    }
    /* Cannot fail: the buffer's cap is the limit. */
    (void)lc_buf_add(&j->buf, data, n);
}

/* Handles one message (or, in TTY mode, the first bytes of one) of STREAM. FINAL when it
 * ended in '\n'. */
static int on_message(struct lc_docker_lines *l, int stream, struct msg *m, int final)
{
    struct joiner *j = &l->j[stream];
    if (j->open && j->ts_ns != m->ts_ns) {
        /* A new timestamp: the pending piece was a last line without '\n'. */
        int rc = flush(l, stream, 0);
        if (rc != 0) {
            return rc;
        }
    }
    if (!j->open && final) {
        return emit_direct(l, stream, m);
    }
    if (!j->open) {
        j->open = 1;
        j->ts_ns = m->ts_ns;
        j->ts_len = m->ts_len;
        memcpy(j->ts, m->ts, m->ts_len);
    }
    append(l, j, m->text, m->len);
    return final ? flush(l, stream, 1) : 0;
}

/* Sets M's timestamp from a valid one at P (TS_LEN bytes) and remembers it. */
static void set_ts(struct joiner *j, struct msg *m, const char *p, size_t ts_len, int64_t ns)
{
    m->ts = p;
    m->ts_len = ts_len;
    m->ts_ns = ns;
    j->has_last = 1;
    j->last_ns = ns;
    j->last_len = ts_len;
    memcpy(j->last, p, ts_len);
}

/* Gives M the last timestamp of the stream, for a message without one. */
static void set_last_ts(struct lc_docker_lines *l, struct joiner *j, struct msg *m)
{
    l->errors++;
    m->ts = j->has_last ? j->last : "";
    m->ts_len = j->has_last ? j->last_len : 0;
    m->ts_ns = j->has_last ? j->last_ns : 0;
}

/* Non-TTY: one frame is one message. */
static int on_frame(void *ud, int stream, const char *p, size_t n)
{
    struct lc_docker_lines *l = ud;
    struct joiner *j;
    struct msg m;
    int64_t ns;
    int k, final;
    if (stream != LC_DOCKER_FRAME_STDOUT && stream != LC_DOCKER_FRAME_STDERR) {
        l->errors++;
        return 0;
    }
    j = &l->j[stream];
    k = lc_time_parse_rfc3339(p, n, &ns);
    if (k > 0 && (size_t)k < n && p[k] == ' ') {
        set_ts(j, &m, p, (size_t)k, ns);
        m.text = p + k + 1;
        m.len = n - (size_t)k - 1;
    } else {
        set_last_ts(l, j, &m);
        m.text = p;
        m.len = n;
    }
    final = m.len > 0 && m.text[m.len - 1] == '\n';
    m.len -= (size_t) final;
    return on_message(l, stream, &m, final);
}

/* TTY: decides whether the N bytes at P start with "timestamp ". Returns the length of that
 * header (storing the timestamp's length and value), 0 when there is no valid timestamp
 * (the bytes are content), or -1 when more bytes are needed. AT_END: no more will come. */
static int head_decide(const char *p, size_t n, int at_end, size_t *ts_len, int64_t *ns)
{
    int k = lc_time_parse_rfc3339(p, n, ns);
    if (k > 0 && (size_t)k < n) {
        *ts_len = (size_t)k;
        return p[k] == ' ' ? k + 1 : 0;
    }
    if (k > 0) {
        *ts_len = (size_t)k;
        return at_end ? k : -1;
    }
    if (n >= HEAD_MAX || memchr(p, '\n', n) != NULL || at_end) {
        return 0;
    }
    return -1;
}

/* True when the HDR_FIXED bytes at P are a message header as Docker writes it with
 * timestamps=1: 9 fraction digits, "Z" and a space. Stores its time in *NS. */
static int fixed_header(const char *p, int64_t *ns)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddddddddZ ";
    for (size_t i = 0; i < HDR_FIXED; i++) {
        int digit = p[i] >= '0' && p[i] <= '9';
        if (shape[i] == 'd' ? !digit : p[i] != shape[i]) {
            return 0;
        }
    }
    return lc_time_parse_rfc3339(p, HDR_FIXED - 1, ns) == HDR_FIXED - 1;
}

/* Where a TTY message ends. */
enum tty_end {
    END_MORE = 0, /* not known yet: more bytes are needed */
    END_NEWLINE,  /* at its '\n' */
    END_HEADER,   /* where the next message's header begins (a run ended without '\n') */
    END_PIECE,    /* at LC_DOCKER_PIECE content bytes, or at the end of the body */
};

/* Where the TTY message whose content starts at C ends (N bytes at hand, the first FROM of
 * them searched before; AT_END: no more come). *AT is its content length.
 *
 * A raw TTY body has no frames: a message is a timestamp, a space and content up to a
 * '\n' or a full 16,384-byte piece. Docker's copier emits a message without '\n' that is
 * shorter than a piece only at the process's exit, so such a message is the last of its
 * run, and when the container runs again the next run's header follows its last byte
 * directly. That header is recognised by its shape (Docker's fixed 31-byte form), at
 * content offset 1 or later, with a time later than the message's own (AFTER_NS): a
 * program's own timestamps in its output are never later than Docker's reading of that
 * output, so they stay content. Deciding needs HDR_FIXED - 1 bytes past a piece. */
static enum tty_end tty_find_end(const char *c, size_t n, size_t from, int64_t after_ns, int at_end,
                                 size_t *at)
{
    size_t lim = n < LC_DOCKER_PIECE ? n : LC_DOCKER_PIECE;
    const char *nl = from < lim ? memchr(c + from, '\n', lim - from) : NULL;
    size_t stop = nl != NULL ? (size_t)(nl - c) : lim;
    /* A header at K >= 1 has its 'Z' at K + 29 and its space after it. */
    size_t z = from > HDR_FIXED - 1 ? from - 1 : HDR_FIXED - 1;
    size_t zend = stop + HDR_FIXED - 2 < n - 1 ? stop + HDR_FIXED - 2 : n - 1;
    int64_t ns;
    while (n > 0 && z < zend) {
        const char *q = memchr(c + z, 'Z', zend - z);
        if (q == NULL) {
            break;
        }
        z = (size_t)(q - c);
        if (c[z + 1] == ' ' && fixed_header(c + z - (HDR_FIXED - 2), &ns) && ns > after_ns) {
            *at = z - (HDR_FIXED - 2);
            return END_HEADER;
        }
        z++;
    }
    if (nl != NULL) {
        *at = stop;
        return END_NEWLINE;
    }
    if (lim == LC_DOCKER_PIECE && (n >= SCAN_MAX || at_end)) {
        *at = LC_DOCKER_PIECE;
        return END_PIECE;
    }
    *at = n;
    return at_end ? END_PIECE : END_MORE;
}

/* The time after which a header ends the current TTY message. */
static int64_t tty_after(const struct msg *m)
{
    return m->ts_len > 0 ? m->ts_ns : INT64_MIN;
}

/* The current TTY message, whose timestamp is the stdout joiner's last one. */
static void tty_current(struct lc_docker_lines *l, struct msg *m)
{
    const struct joiner *j = &l->j[LC_DOCKER_FRAME_STDOUT];
    m->ts = j->has_last ? j->last : "";
    m->ts_len = j->has_last ? j->last_len : 0;
    m->ts_ns = j->has_last ? j->last_ns : 0;
}

/* Hands the message M (content C, AT bytes) on; it is a whole line only when it ended at
 * its '\n'. */
static int tty_deliver(struct lc_docker_lines *l, struct msg *m, const char *c, size_t at,
                       enum tty_end e)
{
    m->text = c;
    m->len = at;
    return on_message(l, LC_DOCKER_FRAME_STDOUT, m, e == END_NEWLINE);
}

/* TTY: DATA starts a message. It is handled in place when its end is in DATA; otherwise
 * its content so far goes into BODY. */
static int tty_message(struct lc_docker_lines *l, const char *data, size_t len, size_t *used)
{
    struct joiner *j = &l->j[LC_DOCKER_FRAME_STDOUT];
    struct msg m;
    size_t ts_len = 0, at = 0;
    int64_t ns = 0;
    int hl = head_decide(data, len, 0, &ts_len, &ns);
    enum tty_end e;
    if (hl < 0) {
        /* A timestamp split between feeds (LEN < HEAD_MAX). */
        memcpy(l->head, data, len);
        l->head_len = len;
        *used = len;
        return 0;
    }
    if (hl > 0) {
        set_ts(j, &m, data, ts_len, ns);
    } else {
        set_last_ts(l, j, &m);
    }
    e = tty_find_end(data + hl, len - (size_t)hl, 0, tty_after(&m), 0, &at);
    if (e == END_MORE) {
        /* Cannot fail: fewer than SCAN_MAX bytes are undecided. */
        (void)lc_buf_add(&l->body, data + hl, len - (size_t)hl);
        l->scanned = l->body.len;
        l->in_body = 1;
        *used = len;
        return 0;
    }
    *used = (size_t)hl + at + (e == END_NEWLINE);
    return tty_deliver(l, &m, data + hl, at, e);
}

/* TTY: a message whose first bytes were kept in HEAD. Completes the header from DATA; the
 * content then goes to BODY. */
static int tty_head(struct lc_docker_lines *l, const char *data, size_t len, size_t *used)
{
    struct joiner *j = &l->j[LC_DOCKER_FRAME_STDOUT];
    size_t old = l->head_len, take = HEAD_MAX - old, ts_len = 0;
    struct msg m;
    int64_t ns = 0;
    int hl;
    take = take < len ? take : len;
    memcpy(l->head + old, data, take);
    hl = head_decide(l->head, old + take, 0, &ts_len, &ns);
    if (hl < 0) {
        l->head_len = old + take;
        *used = take;
        return 0;
    }
    l->head_len = 0;
    l->in_body = 1;
    l->scanned = 0;
    if (hl > 0) {
        /* OLD bytes did not decide, so the header ends in the bytes just taken. */
        assert((size_t)hl > old);
        set_ts(j, &m, l->head, ts_len, ns);
        *used = (size_t)hl - old;
    } else {
        /* No timestamp: the kept bytes are content, DATA is read again as content. */
        set_last_ts(l, j, &m);
        (void)lc_buf_add(&l->body, l->head, old);
        *used = 0;
    }
    return 0;
}

/* TTY: more content of the message in BODY. When its end lies in bytes buffered before
 * (the next message's header began there), those bytes go back to HEAD and DATA is read
 * again from its start. */
static int tty_body(struct lc_docker_lines *l, const char *data, size_t len, size_t *used)
{
    size_t old = l->body.len, take = SCAN_MAX - old, at = 0, end;
    struct msg m;
    enum tty_end e;
    take = take < len ? take : len;
    (void)lc_buf_add(&l->body, data, take); /* cannot fail: BODY holds SCAN_MAX */
    tty_current(l, &m);
    e = tty_find_end(l->body.data, l->body.len, l->scanned, tty_after(&m), 0, &at);
    if (e == END_MORE) {
        l->scanned = l->body.len;
        *used = take;
        return 0;
    }
    end = at + (e == END_NEWLINE);
    l->in_body = 0;
    l->scanned = 0;
    if (end >= old) {
        *used = end - old;
    } else {
        assert(old - end < HEAD_MAX);
        memcpy(l->head, l->body.data + end, old - end);
        l->head_len = old - end;
        *used = 0;
    }
    l->body.len = 0; /* the bytes stay in place for the callback */
    return tty_deliver(l, &m, l->body.data, at, e);
}

static int tty_feed(struct lc_docker_lines *l, const char *data, size_t len)
{
    int rc = 0;
    while (len > 0 && rc == 0) {
        size_t used = 0;
        if (l->in_body) {
            rc = tty_body(l, data, len, &used);
        } else if (l->head_len > 0) {
            rc = tty_head(l, data, len, &used);
        } else {
            rc = tty_message(l, data, len, &used);
        }
        data += used;
        len -= used;
    }
    return rc;
}

/* After a nonzero callback value the rest of DATA is not consumed; the caller closes the
 * stream and calls lc_docker_lines_finish before the next response. */
int lc_docker_lines_feed(struct lc_docker_lines *l, const char *data, size_t len)
{
    int was_failed, rc;
    if (l->tty) {
        return tty_feed(l, data, len);
    }
    was_failed = l->fd.failed;
    rc = lc_docker_frame_feed(&l->fd, data, len, on_frame, l);
    if (rc == -EPROTO && !was_failed && l->fd.failed) {
        l->errors++;
    }
    return rc;
}

/* TTY: the body ended inside a message header kept in HEAD. */
static int tty_head_end(struct lc_docker_lines *l)
{
    struct joiner *j = &l->j[LC_DOCKER_FRAME_STDOUT];
    size_t ts_len = 0;
    int64_t ns = 0;
    struct msg m;
    int hl = head_decide(l->head, l->head_len, 1, &ts_len, &ns);
    if (hl > 0) {
        set_ts(j, &m, l->head, ts_len, ns);
    } else {
        set_last_ts(l, j, &m);
    }
    m.text = l->head + hl;
    m.len = l->head_len - (size_t)hl;
    l->head_len = 0;
    return on_message(l, LC_DOCKER_FRAME_STDOUT, &m, 0);
}

/* TTY: the body ended inside a message whose content is in BODY: it holds that message's
 * last bytes, and maybe the next runs' messages after them. */
static int tty_body_end(struct lc_docker_lines *l)
{
    struct joiner *j = &l->j[LC_DOCKER_FRAME_STDOUT];
    const char *c = l->body.data;
    size_t n = l->body.len;
    struct msg m;
    int rc;
    tty_current(l, &m);
    for (;;) {
        size_t at = 0, ts_len = 0, used;
        int64_t ns = 0;
        enum tty_end e = tty_find_end(c, n, 0, tty_after(&m), 1, &at);
        int hl;
        rc = tty_deliver(l, &m, c, at, e);
        used = at + (e == END_NEWLINE);
        if (rc != 0 || used == n) {
            return rc;
        }
        c += used;
        n -= used;
        hl = head_decide(c, n, 1, &ts_len, &ns);
        if (hl > 0) {
            set_ts(j, &m, c, ts_len, ns);
        } else {
            set_last_ts(l, j, &m);
        }
        c += hl;
        n -= (size_t)hl;
    }
}

static void joiner_reset(struct joiner *j)
{
    j->open = 0;
    j->over = 0;
    j->has_last = 0;
    j->buf.len = 0;
}

/* Pending lines are delivered oldest first. */
int lc_docker_lines_message(struct lc_docker_lines *l, int stream, const char *ts, size_t ts_len,
                            int64_t ts_ns, const char *text, size_t len)
{
    struct joiner *j;
    struct msg m;
    int final;

    if (stream != LC_DOCKER_FRAME_STDOUT && stream != LC_DOCKER_FRAME_STDERR) {
        l->errors++;
        return 0;
    }
    j = &l->j[stream];
    if (ts_len > 0 && ts_len < TS_MAX) {
        set_ts(j, &m, ts, ts_len, ts_ns);
    } else {
        set_last_ts(l, j, &m);
    }
    m.text = text;
    m.len = len;
    final = m.len > 0 && m.text[m.len - 1] == '\n';
    m.len -= (size_t) final;
    return on_message(l, stream, &m, final);
}

int lc_docker_lines_finish(struct lc_docker_lines *l, int emit_partial)
{
    int order[2] = {LC_DOCKER_FRAME_STDOUT, LC_DOCKER_FRAME_STDERR};
    int rc = 0;
    if (emit_partial && l->tty && l->head_len > 0) {
        rc = tty_head_end(l);
    } else if (emit_partial && l->tty && l->in_body) {
        rc = tty_body_end(l);
    }
    if (emit_partial && !l->tty && lc_docker_frame_pending(&l->fd)) {
        l->errors++; /* the daemon said it was done in the middle of a frame */
    }
    if (l->j[2].open && l->j[1].open && l->j[2].ts_ns < l->j[1].ts_ns) {
        order[0] = LC_DOCKER_FRAME_STDERR;
        order[1] = LC_DOCKER_FRAME_STDOUT;
    }
    for (int i = 0; i < 2; i++) {
        if (emit_partial && rc == 0 && l->j[order[i]].open) {
            rc = flush(l, order[i], 0);
        }
        joiner_reset(&l->j[order[i]]);
    }
    l->in_body = 0;
    l->body.len = 0;
    l->scanned = 0;
    l->head_len = 0;
    lc_docker_frame_reset(&l->fd);
    return rc;
}

struct lc_docker_lines *lc_docker_lines_create(int tty, size_t max_line_bytes, lc_docker_line_cb cb,
                                               void *ud)
{
    struct lc_docker_lines *l = lc_xcalloc(1, sizeof(*l));
    l->tty = tty ? 1 : 0;
    l->max = max_line_bytes > 0 ? max_line_bytes : 1;
    l->limit = l->tty && l->max < SIZE_MAX - 1 ? l->max + 1 : l->max;
    l->cb = cb;
    l->ud = ud;
    lc_docker_frame_init(&l->fd);
    lc_buf_init(&l->body, SCAN_MAX);
    for (int i = 0; i < 3; i++) {
        lc_buf_init(&l->j[i].buf, l->limit);
    }
    return l;
}

void lc_docker_lines_destroy(struct lc_docker_lines *l)
{
    if (l == NULL) {
        return;
    }
    lc_docker_frame_close(&l->fd);
    lc_buf_close(&l->body);
    for (int i = 0; i < 3; i++) {
        lc_buf_close(&l->j[i].buf);
    }
    free(l);
}

uint64_t lc_docker_lines_decode_errors(const struct lc_docker_lines *l)
{
    return l->errors;
}

int64_t lc_docker_lines_pending_ts(const struct lc_docker_lines *l)
{
    const struct joiner *out = &l->j[LC_DOCKER_FRAME_STDOUT];
    int64_t p = -1;
    for (int s = LC_DOCKER_FRAME_STDOUT; s <= LC_DOCKER_FRAME_STDERR; s++) {
        if (l->j[s].open && (p < 0 || l->j[s].ts_ns < p)) {
            p = l->j[s].ts_ns;
        }
    }
    if (l->tty && l->in_body && out->has_last && (p < 0 || out->last_ns < p)) {
        p = out->last_ns; /* the TTY message whose end has not arrived */
    }
    return p;
}
