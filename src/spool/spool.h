/* spool: the durable queue between the inputs and the outputs, in data_dir/spool.
 *
 * Records are appended to segment files (<16 hex id>.seg, format in spool_format.h). The
 * input's positions go into the same append as its records, so after any crash the records
 * in the spool and the positions agree. Each output reads with its own cursor (a consumer,
 * spool_reader.h) and moves it only after the destination acknowledged; a segment is
 * deleted once every consumer is past it. When the spool holds max_bytes, lc_spool_commit
 * reports it full and the inputs pause until the room callback says otherwise.
 *
 * Threads: one appender thread (the loop) calls lc_spool_add, _set_position, _forget_meta
 * and _commit; a writer thread owned by the spool writes, syncs, rotates and deletes; any
 * number of reader threads (one per output) read through their own file descriptors.
 * Every new segment starts with a checkpoint (all live metadata and positions), so the
 * newest segments alone hold the whole state and old ones can go.
 *
 * Owns: the segment list, the active segment's descriptor, the writer thread, the queue
 * of appended frames not yet written, the metadata and position maps. */
#ifndef LC_SPOOL_H
#define LC_SPOOL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/record.h"
#include "core/snapshot.h"
#include "core/sync_mode.h"

/* A place in the spool: a segment and a byte offset in it (at a frame boundary). */
struct lc_spool_pos {
    uint64_t seg;
    uint64_t off;
};

struct lc_spool_hooks {
    /* Writer thread: the spool has room again after lc_spool_commit reported it full. */
    void (*room)(void *ud);
    /* Writer thread: alive (PROGRESS: it wrote something). */
    void (*beat)(void *ud, int progress);
    /* Writer thread: a write, sync or segment start failed (ERR negative errno, WHAT e.g.
     * "cannot write to the spool"). A write is retried every second; the next beat with
     * PROGRESS says a write worked again. */
    void (*error)(void *ud, int err, const char *what);
    void *ud;
};

struct lc_spool_options {
    const char *dir; /* created if missing */
    uint64_t segment_bytes;
    uint64_t max_bytes;
    enum lc_sync_mode sync;
    uint64_t sync_interval_ms;
    size_t queue_max; /* appended bytes waiting for the writer before commit says full;
                         0: LC_SPOOL_QUEUE_MAX */
    int readonly;     /* scan only (spool inspect): no truncation, no new segment, no writer */
    struct lc_spool_hooks hooks;
};

#define LC_SPOOL_QUEUE_MAX (8u << 20)
/* The appender commits by itself past this many uncommitted bytes (a huge burst). */
#define LC_SPOOL_TXN_SOFT_MAX (256u << 10)

/* What recovery found and did. */
struct lc_spool_recovery {
    int fresh;                /* no segment existed */
    uint64_t segments;        /* segment files found */
    uint64_t records;         /* log records in them */
    uint64_t bytes;           /* their size after cutting torn tails */
    uint64_t corrupt_records; /* damaged regions skipped (each one or more frames) */
    uint64_t corrupt_bytes;
    uint64_t torn_bytes; /* cut from the ends of segments (a write cut short by a crash) */
};

struct lc_spool;

/* Opens (creating) the spool in OPT->dir and recovers it: every segment is scanned, a torn
 * tail is cut back to its last whole append, damaged frames are skipped, counted and
 * logged, and the positions and metadata maps are rebuilt. Unless readonly, a new active
 * segment is started. OPT->dir is copied. Returns 0 and *OUT, or a negative errno
 * (logged). REP may be NULL. */
int lc_spool_open(const struct lc_spool_options *opt, struct lc_spool **out,
                  struct lc_spool_recovery *rep);

/* Starts the writer thread. Returns 0 or -errno. */
int lc_spool_start(struct lc_spool *sp);

/* Writes everything committed, syncs, and joins the writer. Appending is over. */
void lc_spool_stop(struct lc_spool *sp);

/* Frees the spool (stops it first). Consumers and readers must be gone. NULL is a no-op. */
void lc_spool_close(struct lc_spool *sp);

/* ---- appender (one thread) --------------------------------------------------------- */

/* Adds one log line to the current append. META is declared in the spool the first time
 * it is used. Returns 0, or -E2BIG for a line above LC_SPOOL_PAYLOAD_MAX. */
int lc_spool_add(struct lc_spool *sp, struct lc_meta *meta, int stream, int64_t ts_ns,
                 const char *ts, size_t ts_len, const char *msg, size_t len, int truncated);
/* The same for a line with processor fields (FIELDS NULL: none), which the spool stores
 * with it and its readers give back on the record. */
int lc_spool_add_fields(struct lc_spool *sp, struct lc_meta *meta, const struct lc_fields *fields,
                        int stream, int64_t ts_ns, const char *ts, size_t ts_len, const char *msg,
                        size_t len, int truncated);

/* Sets (VALUE non-NULL) or deletes the position KEY in the current append. */
void lc_spool_set_position(struct lc_spool *sp, const char *key, const char *value, size_t vlen);

/* META will not be used again (a container removed or renamed): it leaves the checkpoints. */
void lc_spool_forget_meta(struct lc_spool *sp, struct lc_meta *meta);

/* Bytes in the current append, not yet committed. */
size_t lc_spool_txn_bytes(const struct lc_spool *sp);

/* Hands the current append to the writer. Returns 1 when the spool is full (max_bytes
 * reached, or the writer too far behind): pause the inputs until hooks.room; else 0. */
int lc_spool_commit(struct lc_spool *sp);

/* The positions recovered at open: a new reference to an object of key -> JSON text (a
 * string). Call before lc_spool_start. */
json_t *lc_spool_positions(struct lc_spool *sp);

/* 1 when nothing existed before this open. */
int lc_spool_fresh(const struct lc_spool *sp);

/* ---- state for readers and the API -------------------------------------------------- */

/* The end readers may read up to, and the index of the next record to be appended. */
void lc_spool_end(struct lc_spool *sp, struct lc_spool_pos *end, uint64_t *end_index);

/* Fills the spool part of a snapshot, the writer's failure state included. */
void lc_spool_fill(struct lc_spool *sp, struct lc_spool_snap *out);

/* Records and bytes after POS (INDEX: the index of the first record after POS). */
void lc_spool_backlog(struct lc_spool *sp, const struct lc_spool_pos *pos, uint64_t index,
                      uint64_t *records, uint64_t *bytes);

/* The directory (for consumers' cursor files). */
const char *lc_spool_dir(const struct lc_spool *sp);

/* Segment list for inspect: calls FN for every segment, oldest first. */
void lc_spool_each_segment(struct lc_spool *sp,
                           void (*fn)(void *ud, uint64_t id, uint64_t bytes, uint64_t records,
                                      uint64_t first_index),
                           void *ud);

#endif
