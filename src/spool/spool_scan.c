/* spool_scan: see spool_scan.h. */
#include "spool/spool_scan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

void lc_spool_scan_init(struct lc_spool_scan *s, int fd, uint64_t off, uint32_t seed)
{
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->base = off;
    s->seed = seed;
}

/* 1 when a whole frame sealed with SEED starts right after the header. */
static int first_frame_checks(int fd, uint32_t seed)
{
    struct lc_spool_scan s;
    struct lc_spool_frame f;
    uint64_t at;
    size_t skipped;
    int ok;
    lc_spool_scan_init(&s, fd, LC_SPOOL_SEG_HDR, seed);
    ok = lc_spool_scan_next(&s, UINT64_MAX, &f, &at, &skipped) == LC_SCAN_FRAME &&
         at == LC_SPOOL_SEG_HDR;
    lc_spool_scan_close(&s);
    return ok;
}

int lc_spool_seg_read_header(int fd, uint64_t *id, uint32_t *seed)
{
    uint8_t hdr[LC_SPOOL_SEG_HDR] = {0};
    ssize_t n;
    uint32_t other;
    do {
        n = pread(fd, hdr, sizeof(hdr), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -errno;
    }
    if (lc_spool_seg_header_check(hdr, (size_t)n, id, seed) == 0) {
        return 0;
    }
    other = lc_spool_seg_seed_other(hdr);
    if (n == (ssize_t)sizeof(hdr) && !first_frame_checks(fd, *seed) &&
        first_frame_checks(fd, other)) {
        *seed = other;
    }
    return -EINVAL;
}

void lc_spool_scan_close(struct lc_spool_scan *s)
{
    free(s->buf);
    s->buf = NULL;
    s->cap = s->len = s->pos = 0;
}

uint64_t lc_spool_scan_offset(const struct lc_spool_scan *s)
{
    return s->base + s->pos;
}

void lc_spool_scan_seek(struct lc_spool_scan *s, uint64_t off)
{
    s->base = off;
    s->len = s->pos = 0;
}

/* Room for WANT bytes from pos: the unread bytes move to the front, the buffer grows to
 * WANT (or shrinks back to the default after a big frame). */
static void make_room(struct lc_spool_scan *s, size_t want)
{
    size_t keep = s->len - s->pos, cap = want > LC_SPOOL_SCAN_BUF ? want : LC_SPOOL_SCAN_BUF;
    if (cap < keep) {
        cap = keep; /* never shrink below what is kept (LIMIT went down: a deleted segment) */
    }
    if (s->pos > 0) {
        memmove(s->buf, s->buf + s->pos, keep);
        s->base += s->pos;
        s->len = keep;
        s->pos = 0;
    }
    if (s->buf == NULL || cap > s->cap || (s->cap > LC_SPOOL_SCAN_BUF && cap < s->cap)) {
        s->buf = lc_xrealloc(s->buf, cap);
        s->cap = cap;
    }
}

/* Reads more of the file, up to LIMIT. Returns bytes read (0 at LIMIT or EOF) or -errno. */
static long fill(struct lc_spool_scan *s, uint64_t limit, size_t want)
{
    uint64_t end;
    size_t room;
    ssize_t n;
    make_room(s, want);
    end = s->base + s->len;
    if (end >= limit) {
        return 0;
    }
    room = s->cap - s->len;
    if (room > limit - end) {
        room = (size_t)(limit - end);
    }
    do {
        n = pread(s->fd, s->buf + s->len, room, (off_t)end);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -errno;
    }
    s->len += (size_t)n;
    return n;
}

/* Bytes the frame at pos needs in all, when its header is there and plausible; else 0. */
static size_t frame_need(const struct lc_spool_scan *s)
{
    const uint8_t *h;
    size_t plen;
    if (s->len - s->pos < LC_SPOOL_HDR) {
        return 0; /* (before the first read buf is NULL: no pointer arithmetic on it) */
    }
    h = s->buf + s->pos;
    if (h[0] != 'L' || h[1] != 'C') {
        return 0;
    }
    plen = lc_spool_get_u32(h + 4);
    return plen <= LC_SPOOL_PAYLOAD_MAX ? LC_SPOOL_HDR + plen : 0;
}

/* Skips the unfinished frame at pos, to the next place in AVAIL bytes where a magic may
 * start (or to AVAIL). Returns the bytes skipped. */
static size_t skip_unfinished(struct lc_spool_scan *s, size_t avail)
{
    size_t from = lc_spool_next_magic(s->buf, avail, s->pos + 1), skipped = from - s->pos;
    s->pos = from;
    return skipped;
}

int lc_spool_scan_next(struct lc_spool_scan *s, uint64_t limit, struct lc_spool_frame *f,
                       uint64_t *at, size_t *skipped)
{
    for (;;) {
        size_t pos = s->pos, avail = s->len, need;
        enum lc_scan r;
        long n;
        if (s->base + avail > limit) {
            avail = limit > s->base ? (size_t)(limit - s->base) : 0;
        }
        *at = s->base + pos;
        if (pos < avail) {
            r = lc_spool_frame_next(s->buf, avail, &pos, f, skipped, s->seed);
            if (r == LC_SCAN_FRAME || r == LC_SCAN_BAD) {
                s->pos = pos;
                return (int)r;
            }
            /* A frame that cannot end before LIMIT: the bytes up to LIMIT are whole appends
             * (readers) or the whole file (recovery), so it is damage (a length field hit,
             * a false magic after a resync) or the start of a torn tail. Either way the scan
             * goes on at the next magic: recovery drops an append that never ends, and
             * whatever follows damage is kept. Waiting for bytes that cannot come would
             * stall a reader, and cut the rest of a segment at recovery. */
            need = frame_need(s);
            if ((need > 0 && need > limit - *at) || s->base + avail >= limit) {
                *skipped = skip_unfinished(s, avail);
                return LC_SCAN_BAD;
            }
        }
        /* MORE: read on, with room for the whole frame when its header says how big. */
        need = frame_need(s);
        n = fill(s, limit, need > 0 ? need : LC_SPOOL_SCAN_BUF);
        if (n < 0) {
            return (int)n;
        }
        if (n == 0) {
            *at = s->base + s->pos;
            return LC_SCAN_MORE;
        }
    }
}
