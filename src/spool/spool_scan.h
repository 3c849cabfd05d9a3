/* spool_scan: buffered iteration over the frames of one segment file, up to a limit, for
 * recovery, the readers and inspect. It reads with pread through a buffer that grows to
 * hold the largest frame met and shrinks back after it. Owns the buffer, not the fd. */
#ifndef LC_SPOOL_SCAN_H
#define LC_SPOOL_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "spool/spool_format.h"

struct lc_spool_scan {
    int fd;
    uint8_t *buf;
    size_t cap;
    size_t len;    /* bytes of the file in buf, from base */
    size_t pos;    /* next byte to look at in buf */
    uint64_t base; /* file offset of buf[0] */
    uint32_t seed; /* the segment's CRC seed */
};

#define LC_SPOOL_SCAN_BUF (128u << 10)

/* Starts scanning FD at file offset OFF; SEED is the segment's (lc_spool_seg_read_header). */
void lc_spool_scan_init(struct lc_spool_scan *s, int fd, uint64_t off, uint32_t seed);

/* Reads the header of segment file FD: its id and CRC seed. When the header is damaged the
 * seed is the one of its two copies that the first frame checks out with. Returns 0, or
 * -EINVAL for a damaged header (*ID is then unreliable, *SEED a best guess), or -errno. */
int lc_spool_seg_read_header(int fd, uint64_t *id, uint32_t *seed);
void lc_spool_scan_close(struct lc_spool_scan *s);

/* The next frame before file offset LIMIT. Returns LC_SCAN_FRAME (F and the frame's offset
 * *AT are set; F->payload stays valid until the next call), LC_SCAN_MORE (the scan stands
 * at LIMIT: *AT), LC_SCAN_BAD (damage: *SKIPPED bytes from *AT were passed over; a frame
 * that cannot end before LIMIT counts as damage, as does a torn tail: the caller drops an
 * append that never ends), or a negative errno when the file cannot be read. */
int lc_spool_scan_next(struct lc_spool_scan *s, uint64_t limit, struct lc_spool_frame *f,
                       uint64_t *at, size_t *skipped);

/* The file offset the scan stands at. */
uint64_t lc_spool_scan_offset(const struct lc_spool_scan *s);

/* Moves the scan to file offset OFF (dropping what is buffered). */
void lc_spool_scan_seek(struct lc_spool_scan *s, uint64_t off);

#endif
