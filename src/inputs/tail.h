/* tail: one file followed by its path while it is written and rotated, for the inputs that
 * read files (the file input; the Docker input's json-file reading). The owner decides when
 * to look (a directory watch, a timer) and calls lc_tail_poll; this module does the file
 * work: reading what was appended, handing it to the owner's consumer, and noticing that
 * the path names another file now.
 *
 * A file is known by its identity: device, inode, and a checksum (CRC-32) of its first
 * bytes (up to LC_TAIL_FP_MAX; fewer while the file is shorter), so that an inode number
 * reused by a new file, or a file replaced by another, is not taken for the old one. A
 * position is an identity and the offset of the bytes the consumer took.
 *
 * What happens to the path while it is followed:
 *  - appends: read and handed over.
 *  - rename rotation (logrotate's default, Docker's max-size): when the reader is at the end
 *    of its file and the path names another inode, the old file is read to its end (the
 *    consumer is told it is the end), then the file that came after it (the owner may name
 *    a rotated one, when the writer rotated more than once meanwhile), else the path's,
 *    from its start (LC_TAIL_ROTATED).
 *  - copytruncate: the file shrinks below what was read: it is read again from its start
 *    (LC_TAIL_TRUNCATED; what was written between the copy and the truncate is in the copy
 *    only, which this reader cannot know).
 *  - deletion: the open file stays readable to its end; LC_TAIL_DELETED is said once at
 *    the end while the path names nothing, and the owner decides whether to wait for a new
 *    file or to close.
 * On open with a saved position, the file is looked for by identity: at the path, else
 * among the files of its directory (rotated away while the owner was stopped: read from
 * the saved offset to its end first, then the path from its start). When it is nowhere,
 * the path is read from its start and LC_TAIL_LOST says how much of the old file was
 * never read (its size is unknown: UINT64_MAX).
 *
 * Not thread-safe; no loop, no allocation per read once the buffer has grown. */
#ifndef LC_INPUTS_TAIL_H
#define LC_INPUTS_TAIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define LC_TAIL_FP_MAX 1024 /* bytes of a file's head its fingerprint covers at most */
#define LC_TAIL_CHUNK 65536 /* bytes asked of one read */

struct lc_tail_id {
    uint64_t dev, ino;
    uint32_t fp_len; /* bytes the fingerprint covers */
    uint32_t fp;     /* CRC-32 of the first fp_len bytes */
};

struct lc_tail_pos {
    struct lc_tail_id id;
    uint64_t off; /* bytes of the file the consumer took */
};

enum lc_tail_change {
    LC_TAIL_ROTATED,   /* the old file was read to its end; the new one is read from 0 */
    LC_TAIL_TRUNCATED, /* the file shrank below what was read: read again from its start */
    LC_TAIL_DELETED,   /* at the end of a file that the path no longer names */
    LC_TAIL_LOST,      /* on open: the saved file is gone; LOST bytes were never read */
};

struct lc_tail_cbs {
    /* N bytes of the file, starting at file offset OFF: everything read and not taken yet.
     * Returns how many of them the consumer takes (whole lines, or a line cut at its limit);
     * the rest is offered again with what follows. END: no more will follow (the file was
     * rotated away and read to its end): what is not taken now is dropped. */
    size_t (*data)(void *ud, const char *p, size_t n, uint64_t off, int end);
    /* The file changed under the reader (see enum lc_tail_change). LOST: bytes that will
     * never be read (LC_TAIL_LOST: UINT64_MAX when unknown; else 0). May be NULL. */
    void (*change)(void *ud, enum lc_tail_change c, uint64_t lost);
    /* Which file comes after DONE (read to its end and rotated away): an open descriptor
     * of it (a rotated file the owner knows comes before the path's, e.g. Docker's
     * <log>.2 while the path is two rotations ahead), read from its start and taken as
     * rotated away at its end; or -1 for the path's file. NULL: always the path's. */
    int (*next)(void *ud, const struct lc_tail_id *done);
    void *ud;
};

struct lc_tail {
    char *path;
    int fd; /* -1 while the path names no file */
    struct lc_tail_id id;
    uint64_t off; /* file offset of pending.data[0]: what the consumer took */
    struct lc_buf pending;
    int rotated_away; /* the open file was rotated away: at its end, the next file */
    int deleted_said;
    struct lc_tail_cbs cbs;
};

/* Opens PATH (copied) for T. RESUME (may be NULL): a position saved earlier, looked for as
 * described above. Without one, a file that exists is read from its end when FROM_END,
 * else from its start; a file created later is read from its start. Returns 0 (the path
 * may name no file yet), or -errno for a file that exists but cannot be opened. */
int lc_tail_open(struct lc_tail *t, const char *path, const struct lc_tail_pos *resume,
                 int from_end, const struct lc_tail_cbs *cbs);

/* The same without a position, for a file the owner opened already as FD (T takes it
 * over): read from its start. For a file opened the moment it was created, which may be
 * deleted since (an open file stays readable). Returns 0. */
int lc_tail_open_fd(struct lc_tail *t, const char *path, int fd, const struct lc_tail_cbs *cbs);

/* Reads what was appended, at most BUDGET bytes, handing it over, and follows rotation and
 * truncation. Returns 1 when there is more to read (call again), 0 when caught up, or
 * -errno on a read error (the file stays open; try again later). */
int lc_tail_poll(struct lc_tail *t, size_t budget);

/* The position of what the consumer took: the open file's identity and offset. Returns 0,
 * or -ENOENT while no file is open. */
int lc_tail_position(struct lc_tail *t, struct lc_tail_pos *pos);

/* A position as the spool keeps it: {"dev":N,"ino":N,"fp_len":N,"fp":N,"off":N}, written
 * into BUF (CAP bytes, LC_TAIL_POS_JSON_MAX always suffices). Returns its length, or -1
 * when CAP is too small. */
#define LC_TAIL_POS_JSON_MAX 128
int lc_tail_pos_format(const struct lc_tail_pos *pos, char *buf, size_t cap);

/* Reads OBJ, a position as lc_tail_pos_format writes it. Returns 1, or 0 when OBJ is not
 * one (POS is then untouched). */
int lc_tail_pos_from_json(const json_t *obj, struct lc_tail_pos *pos);

/* Closes the file and frees what T holds (T can be opened again). */
void lc_tail_close(struct lc_tail *t);

/* The identity of the file open as FD (the fingerprint read with pread). */
int lc_tail_identify(int fd, struct lc_tail_id *id);

/* Whether the file open as FD is the file ID names (device, inode, and the fingerprint
 * over ID's fp_len bytes). */
int lc_tail_same(int fd, const struct lc_tail_id *id);

#endif
