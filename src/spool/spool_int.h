/* spool_int: the spool's state, shared by spool.c (recovery, appender, writer) and
 * spool_reader.c (consumers and readers). Not for use outside src/spool/. */
#ifndef LC_SPOOL_INT_H
#define LC_SPOOL_INT_H

#include <pthread.h>

#include "base/buf.h"
#include "spool/spool_format.h"
#include "spool/spool.h"

#define LC_SPOOL_MAX_CONSUMERS 64
/* The spool's own key in every checkpoint: {"first":<id of the segment this run began
 * with>,"prev_bytes":<size of the segment before>}. Recovery takes it out of the
 * positions; inputs never use keys starting with "spool/" (spool_recover.c says why). */
#define LC_SPOOL_RUN_KEY "spool/run"

struct lc_seg {
    uint64_t id;
    uint64_t size;        /* bytes readers may read (the active one: what is visible) */
    uint64_t records;     /* log records in those bytes */
    uint64_t first_index; /* index of its first record */
};

/* A reader's acknowledged place, seen by the writer when it deletes segments. */
struct lc_spool_consumer {
    struct lc_spool *sp;
    char *name;
    char *path; /* its cursor file */
    int fd;
    uint32_t gen;            /* of the slot written last */
    struct lc_spool_pos pos; /* acknowledged up to here (lock) */
    uint64_t index;          /* index of the first record not acknowledged (lock) */
    int64_t oldest_ts;       /* timestamp of the oldest record not acknowledged, 0 if none */
};

struct lc_spool {
    char *dir;
    int dirfd;
    struct lc_spool_options opt; /* opt.dir points at dir */
    uint64_t gen;                /* this instance, for lc_meta.spool_gen */

    pthread_mutex_t lock;
    pthread_cond_t wcond; /* the writer waits on it */
    pthread_cond_t rcond; /* readers wait on it for new records */
    /* --- under lock --- */
    struct lc_seg *segs; /* oldest first; the last one is the active one */
    size_t n_segs, cap_segs;
    uint64_t bytes;      /* sum of the segments' sizes */
    uint64_t end_index;  /* index of the next record appended */
    struct lc_buf queue; /* committed appends the writer has not taken yet */
    int full;
    int full_disk; /* full because of max_bytes (not only a slow writer) */
    /* full_since_ns is monotonic (lc_mono_ns): the paused time is a duration */
    int64_t full_since_ns;
    int64_t paused_ns;
    int stopping;
    int delete_check; /* a consumer moved: look for segments to delete */
    struct lc_spool_consumer *consumers[LC_SPOOL_MAX_CONSUMERS];
    size_t n_consumers;
    struct lc_spool_recovery rec;
    uint64_t appended_records, appended_bytes;
    uint64_t n_metas;          /* live metadata entries (the writer's map), for the figures */
    uint64_t checkpoint_bytes; /* of the active segment */
    uint64_t sync_buckets[LC_SYNC_BUCKETS], sync_count;
    double sync_sum;
    /* The writer's failures (written by the writer, under the lock): -errno of the last
     * write and of the last sync while they fail (0 once one works again), and a count of
     * failed writes, syncs and segment starts. lc_spool_fill shows them. */
    int write_err, sync_err;
    uint64_t writer_errors;

    /* --- writer thread (and open, before it starts) --- */
    int fd;        /* active segment, -1 when readonly */
    uint32_t seed; /* the active segment's CRC seed */
    uint64_t active_size;
    json_t *metas;     /* meta id (decimal) -> JSON text */
    json_t *positions; /* key -> JSON text */
    /* the segment this run began with (made at open) */
    uint64_t run_first;
    int unsynced;
    uint64_t last_sync_ms;
    uint64_t retry_at_ms; /* after a failed write: when to try again (lc_now_ms) */
    struct lc_buf wbuf;
    pthread_t writer;
    int writer_running;

    /* --- appender thread --- */
    struct lc_buf txn;
    long last_frame; /* offset in txn of its last frame, -1 when empty */
    uint32_t next_meta_id;
    json_t *recovered; /* positions at open, for lc_spool_positions */
};

/* The segment with ID, or NULL. Lock held. */
struct lc_seg *lc_spool_seg_find(struct lc_spool *sp, uint64_t id);
/* The oldest segment with an id above ID, or NULL. Lock held. */
struct lc_seg *lc_spool_seg_after(struct lc_spool *sp, uint64_t id);
/* Creates segment ID, writes its header and checkpoint, makes it the active one (fd,
 * active_size) and appends it to the list. Returns 0 or -errno (nothing changed). */
int lc_spool_seg_create(struct lc_spool *sp, uint64_t id);
/* Applies a META or POS frame to the maps (other frames are ignored); with KEEP_DELETES a
 * delete is stored as a null (a change set to merge later). Returns 0, or -EINVAL for a
 * META or POS payload that does not decode. */
int lc_spool_apply_frame(json_t *metas, json_t *positions, const struct lc_spool_frame *f,
                         int keep_deletes);
/* Appends segment ID (SIZE bytes, RECORDS records, the next ones in index order) to the
 * list. Lock held, or before the writer runs. */
void lc_spool_seg_push(struct lc_spool *sp, uint64_t id, uint64_t size, uint64_t records);
/* The segment a consumer has acknowledged into. Lock held. */
static inline uint64_t lc_spool_consumer_seg(const struct lc_spool_consumer *c)
{
    return c->pos.seg;
}
/* Path of segment ID in OUT. */
void lc_spool_seg_path(const struct lc_spool *sp, uint64_t id, char *out, size_t cap);
/* For tests: the metadata entries a reader holds, and the slots of its table. */
struct lc_spool_reader;
void lc_spool_reader_meta_stats(const struct lc_spool_reader *r, size_t *live, size_t *slots);

#endif
