/* spool: the appender, the writer thread and the spool's figures (recovery is in
 * spool_recover.c, consumers and readers in spool_reader.c). See spool.h.
 *
 * The appender builds frames in its own buffer without a lock; a commit moves them to the
 * shared queue under the lock (a pointer swap when the queue is empty). The writer takes
 * the whole queue, seals each frame (CRC), writes it with one pwrite, and only then makes
 * it visible to readers, so a reader never sees half an append. */
#include "spool/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "spool/spool_format.h"
#include "spool/spool_int.h"
#include "base/util.h"

#define BEAT_MS 1000
#define RETRY_MS 1000
#define STOP_WRITE_ATTEMPTS 3
#define KEEP_BUF (1u << 20) /* a buffer bigger than this is freed once empty */

/* ---- segments --------------------------------------------------------------------------- */

void lc_spool_seg_path(const struct lc_spool *sp, uint64_t id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%016llx.seg", sp->dir, (unsigned long long)id);
}

struct lc_seg *lc_spool_seg_find(struct lc_spool *sp, uint64_t id)
{
    for (size_t i = 0; i < sp->n_segs; i++) {
        if (sp->segs[i].id == id) {
            return &sp->segs[i];
        }
    }
    return NULL;
}

void lc_spool_seg_push(struct lc_spool *sp, uint64_t id, uint64_t size, uint64_t records)
{
    if (sp->n_segs == sp->cap_segs) {
        sp->cap_segs = sp->cap_segs ? sp->cap_segs * 2 : 16;
        sp->segs = lc_xrealloc(sp->segs, sp->cap_segs * sizeof(*sp->segs));
    }
    sp->segs[sp->n_segs++] =
        (struct lc_seg){.id = id, .size = size, .records = records, .first_index = sp->end_index};
    sp->end_index += records;
    sp->bytes += size;
}

struct lc_seg *lc_spool_seg_after(struct lc_spool *sp, uint64_t id)
{
    for (size_t i = 0; i < sp->n_segs; i++) {
        if (sp->segs[i].id > id) {
            return &sp->segs[i];
        }
    }
    return NULL;
}

static double elapsed_s(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* fdatasync of a segment, timed into the histogram. Returns 0 or -errno. */
static int seg_sync(struct lc_spool *sp, int fd)
{
    struct timespec t0;
    double s;
    int rc;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = fdatasync(fd) == 0 ? 0 : -errno;
    s = elapsed_s(&t0);
    pthread_mutex_lock(&sp->lock);
    for (size_t i = 0; i < LC_SYNC_BUCKETS; i++) {
        sp->sync_buckets[i] += s <= lc_sync_bucket_le[i];
    }
    sp->sync_count++;
    sp->sync_sum += s;
    pthread_mutex_unlock(&sp->lock);
    return rc;
}

/* Seals the LEN bytes of frames at DATA with SEED. With MAPS, also applies their metadata
 * and positions to the spool's maps (the checkpoint is made from them). Returns the number
 * of log records. */
static uint64_t seal_frames(struct lc_spool *maps, uint8_t *data, size_t len, uint32_t seed)
{
    uint64_t records = 0;
    for (size_t off = 0; off + LC_SPOOL_HDR <= len;) {
        uint8_t *h = data + off;
        struct lc_spool_frame f = {.type = h[2],
                                   .flags = h[3],
                                   .len = lc_spool_get_u32(h + 4),
                                   .payload = h + LC_SPOOL_HDR};
        lc_spool_frame_seal(h, seed);
        if (f.type == LC_SPOOL_DATA) {
            records++;
        } else if (maps != NULL) {
            lc_spool_apply_frame(maps->metas, maps->positions, &f, 0);
        }
        off += lc_spool_frame_size(h);
    }
    return records;
}

/* Sets KEY in MAP to the JSON text VALUE, or deletes it (VLEN 0): with KEEP_DELETES a
 * delete is kept as a null, for a change set that is merged later. */
static void map_set(json_t *map, const char *key, const char *value, size_t vlen, int keep_deletes)
{
    if (vlen > 0) {
        json_object_set_new(map, key, json_stringn_nocheck(value, vlen));
    } else if (keep_deletes) {
        json_object_set_new(map, key, json_null());
    } else {
        json_object_del(map, key);
    }
}

int lc_spool_apply_frame(json_t *metas, json_t *positions, const struct lc_spool_frame *f,
                         int keep_deletes)
{
    const char *k, *v;
    size_t kl, vl;
    uint32_t id;
    char key[16];
    if (f->type == LC_SPOOL_META) {
        if (lc_spool_meta_decode(f, &id, &v, &vl) != 0) {
            return -EINVAL;
        }
        snprintf(key, sizeof(key), "%u", id);
        map_set(metas, key, v, vl, keep_deletes);
    } else if (f->type == LC_SPOOL_POS) {
        char *ks;
        if (lc_spool_pos_decode(f, &k, &kl, &v, &vl) != 0) {
            return -EINVAL;
        }
        ks = lc_xstrndup(k, kl);
        map_set(positions, ks, v, vl, keep_deletes);
        free(ks);
    }
    return 0;
}

/* The checkpoint that starts a segment: every live metadata and position, one append,
 * and the run mark (LC_SPOOL_RUN_KEY): the segment this run began with and the size of
 * the segment before this one (active_size: at open 0, at a rotation the old segment's),
 * which recovery needs to tell a run's start from a rotation and a segment cut short. */
static void checkpoint(struct lc_spool *sp, struct lc_buf *b)
{
    const char *key;
    json_t *v;
    char mark[64];
    int n = snprintf(mark, sizeof(mark), "{\"first\":%llu,\"prev_bytes\":%llu}",
                     (unsigned long long)sp->run_first, (unsigned long long)sp->active_size);
    long last;
    json_object_foreach(sp->metas, key, v)
    {
        lc_spool_put_meta(b, (uint32_t)strtoul(key, NULL, 10), json_string_value(v),
                          json_string_length(v));
    }
    json_object_foreach(sp->positions, key, v)
    {
        lc_spool_put_pos(b, key, strlen(key), json_string_value(v), json_string_length(v));
    }
    last = lc_spool_put_pos(b, LC_SPOOL_RUN_KEY, strlen(LC_SPOOL_RUN_KEY), mark, (size_t)n);
    if (last >= 0) {
        b->data[last + 3] |= LC_SPOOL_F_TXN_END;
    }
}

/* A fresh CRC seed: the kernel's randomness (never blocks once the system has booted). */
static uint32_t new_seed(void)
{
    uint32_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
        seed = (uint32_t)lc_wall_ns() ^ (uint32_t)getpid() * 2654435761u;
    }
    return seed;
}

int lc_spool_seg_create(struct lc_spool *sp, uint64_t id)
{
    char path[4200];
    uint8_t hdr[LC_SPOOL_SEG_HDR];
    uint32_t seed = new_seed();
    struct lc_buf b;
    int fd, rc;

    lc_spool_seg_path(sp, id, path, sizeof(path));
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) {
        return -errno;
    }
    lc_buf_init(&b, 0);
    lc_spool_seg_header(hdr, id, seed);
    lc_buf_add(&b, hdr, sizeof(hdr));
    checkpoint(sp, &b);
    /* the checkpoint is made from the maps: nothing to apply back to them */
    seal_frames(NULL, (uint8_t *)b.data + LC_SPOOL_SEG_HDR, b.len - LC_SPOOL_SEG_HDR, seed);
    rc = lc_pwrite_all(fd, b.data, b.len, 0);
    if (rc == 0 && sp->opt.sync != LC_SYNC_NEVER) {
        rc = fdatasync(fd) == 0 && fsync(sp->dirfd) == 0 ? 0 : -errno;
    }
    if (rc != 0) {
        close(fd);
        unlink(path);
        lc_buf_close(&b);
        return rc;
    }
    pthread_mutex_lock(&sp->lock);
    lc_spool_seg_push(sp, id, b.len, 0);
    sp->checkpoint_bytes = b.len - LC_SPOOL_SEG_HDR;
    sp->n_metas = json_object_size(sp->metas);
    pthread_cond_broadcast(&sp->rcond);
    pthread_mutex_unlock(&sp->lock);
    sp->fd = fd;
    sp->seed = seed;
    sp->active_size = b.len;
    sp->unsynced = 0;
    lc_buf_close(&b);
    return 0;
}

enum writer_op { OP_WRITE, OP_SYNC, OP_SEGMENT };

static const char WRITE_FAILED[] = "cannot write to the spool";
static const char SYNC_FAILED[] = "cannot sync the spool";

/* A write, sync or segment start failed: logged (with HOW: what happens next), counted,
 * and shown on the writer's task. A failed write or sync also makes the writer "failing"
 * in lc_spool_fill until one of the same kind works again: the inputs pause once its
 * queue is full, so /health must say why (unhealthy, with the errno), not stay healthy
 * while nothing reaches the disk. A segment that cannot be started is only counted: the
 * writer goes on in the old one. Called without the lock. */
static void writer_error(struct lc_spool *sp, enum writer_op op, int err, const char *what,
                         const char *how)
{
    lc_log(LC_LOG_ERROR, err, "[spool] %s%s", what, how);
    pthread_mutex_lock(&sp->lock);
    sp->writer_errors++;
    if (op == OP_WRITE) {
        sp->write_err = err;
    } else if (op == OP_SYNC) {
        sp->sync_err = err;
    }
    pthread_mutex_unlock(&sp->lock);
    if (sp->opt.hooks.error != NULL) {
        sp->opt.hooks.error(sp->opt.hooks.ud, err, what);
    }
}

/* A sync worked: a failed one no longer counts. (Only the writer writes sync_err, so it
 * may read it without the lock.) */
static void sync_worked(struct lc_spool *sp)
{
    if (sp->sync_err != 0) {
        pthread_mutex_lock(&sp->lock);
        sp->sync_err = 0;
        pthread_mutex_unlock(&sp->lock);
    }
}

/* Starts the next segment once the active one is full. The old one is synced first, so a
 * checkpoint is never durable before the records it describes. */
static void rotate(struct lc_spool *sp)
{
    int old = sp->fd, rc;
    uint64_t id = sp->segs[sp->n_segs - 1].id + 1;
    if (sp->opt.sync != LC_SYNC_NEVER && sp->unsynced) {
        rc = seg_sync(sp, old);
        if (rc != 0) {
            writer_error(sp, OP_SYNC, rc, SYNC_FAILED, " (the segment before a new one)");
        } else {
            sync_worked(sp);
        }
    }
    rc = lc_spool_seg_create(sp, id);
    if (rc != 0) {
        writer_error(sp, OP_SEGMENT, rc, "cannot start a new segment",
                     "; writing on in the old one");
        sp->fd = old;
        return;
    }
    close(old);
}

/* Room again after a full spool? Lock held. Returns 1 when the inputs may resume. */
static int room_again(struct lc_spool *sp)
{
    uint64_t pending = sp->queue.len + sp->wbuf.len, used = sp->bytes + pending;
    uint64_t max = sp->opt.max_bytes;
    int disk_ok = sp->full_disk ? used < max - max / 10 : used < max;
    if (!sp->full || !disk_ok || pending >= sp->opt.queue_max / 2) {
        return 0;
    }
    sp->full = 0;
    sp->full_disk = 0;
    sp->paused_ns += lc_mono_ns() - sp->full_since_ns;
    return 1;
}

static void signal_room(struct lc_spool *sp, int room)
{
    if (room && sp->opt.hooks.room != NULL) {
        sp->opt.hooks.room(sp->opt.hooks.ud);
    }
}

/* Writes wbuf to the active segment. Returns 0, or -errno with nothing written (a partial
 * write is cut off again, so the segment always ends at a whole append). */
static int write_chunk(struct lc_spool *sp)
{
    uint64_t records = seal_frames(sp, (uint8_t *)sp->wbuf.data, sp->wbuf.len, sp->seed);
    size_t len = sp->wbuf.len;
    int rc = lc_pwrite_all(sp->fd, sp->wbuf.data, len, sp->active_size), room;
    if (rc == 0 && sp->opt.sync == LC_SYNC_ALWAYS) {
        rc = seg_sync(sp, sp->fd);
    }
    if (rc != 0) {
        if (ftruncate(sp->fd, (off_t)sp->active_size) != 0) {
            lc_log(LC_LOG_ERROR, errno, "[spool] cannot cut a failed write back");
        }
        return rc;
    }
    sp->active_size += len;
    sp->unsynced = sp->opt.sync != LC_SYNC_ALWAYS;
    pthread_mutex_lock(&sp->lock);
    sp->segs[sp->n_segs - 1].size += len;
    sp->segs[sp->n_segs - 1].records += records;
    sp->bytes += len;
    sp->end_index += records;
    sp->appended_records += records;
    sp->appended_bytes += len;
    sp->n_metas = json_object_size(sp->metas); /* the writer's map: read here, under the lock */
    sp->write_err = 0;
    lc_buf_reset(&sp->wbuf);
    if (sp->wbuf.cap > KEEP_BUF) {
        lc_buf_close(&sp->wbuf); /* under the lock: lc_spool_commit reads wbuf.len */
    }
    room = room_again(sp);
    pthread_cond_broadcast(&sp->rcond);
    pthread_mutex_unlock(&sp->lock);
    signal_room(sp, room);
    if (sp->active_size >= sp->opt.segment_bytes) {
        rotate(sp);
    }
    return 0;
}

/* Deletes the segments every consumer is past (never the active one). Lock held on entry
 * and exit; dropped around the unlinks. */
static void delete_passed(struct lc_spool *sp)
{
    uint64_t min = UINT64_MAX, ids[64];
    size_t n = 0;
    int room;
    sp->delete_check = 0;
    if (sp->n_consumers == 0) {
        return;
    }
    for (size_t i = 0; i < sp->n_consumers; i++) {
        uint64_t seg = lc_spool_consumer_seg(sp->consumers[i]);
        min = seg < min ? seg : min;
    }
    for (size_t i = 0; i + 1 < sp->n_segs && n < 64 && sp->segs[i].id < min; i++) {
        ids[n++] = sp->segs[i].id;
    }
    if (n == 0) {
        return;
    }
    pthread_mutex_unlock(&sp->lock);
    for (size_t i = 0; i < n; i++) {
        char path[4200];
        lc_spool_seg_path(sp, ids[i], path, sizeof(path));
        if (unlink(path) != 0 && errno != ENOENT) {
            lc_log(LC_LOG_ERROR, errno, "[spool] cannot delete %s", path);
        }
    }
    pthread_mutex_lock(&sp->lock);
    for (size_t i = 0; i < n; i++) {
        sp->bytes -= sp->segs[0].size;
        memmove(sp->segs, sp->segs + 1, (sp->n_segs - 1) * sizeof(*sp->segs));
        sp->n_segs--;
    }
    room = room_again(sp);
    if (room) {
        pthread_mutex_unlock(&sp->lock);
        signal_room(sp, room);
        pthread_mutex_lock(&sp->lock);
    }
    if (n == 64) {
        sp->delete_check = 1;
    }
}

static void wait_ms(struct lc_spool *sp, uint64_t ms)
{
    struct timespec ts;
    lc_deadline_in(&ts, ms);
    pthread_cond_timedwait(&sp->wcond, &sp->lock, &ts);
}

static void beat(struct lc_spool *sp, int progress)
{
    if (sp->opt.hooks.beat != NULL) {
        sp->opt.hooks.beat(sp->opt.hooks.ud, progress);
    }
}

/* Writes what is queued. A failure is tried again RETRY_MS later (the queue grows meanwhile
 * and pauses the inputs): not at the next commit, which would hammer a full or failing
 * disk with a write per commit. Lock held on entry and exit. Returns 0 or the error. */
static int write_queued(struct lc_spool *sp)
{
    struct lc_buf tmp;
    int rc;
    if (sp->wbuf.len == 0) {
        tmp = sp->wbuf;
        sp->wbuf = sp->queue;
        sp->queue = tmp;
    }
    pthread_mutex_unlock(&sp->lock);
    rc = write_chunk(sp);
    beat(sp, rc == 0);
    if (rc != 0) {
        writer_error(sp, OP_WRITE, rc, WRITE_FAILED, " (will retry every second)");
    }
    pthread_mutex_lock(&sp->lock);
    sp->retry_at_ms = rc != 0 ? lc_now_ms() + RETRY_MS : 0;
    return rc;
}

static void sync_now(struct lc_spool *sp)
{
    int rc;
    sp->unsynced = 0;
    sp->last_sync_ms = lc_now_ms();
    rc = seg_sync(sp, sp->fd);
    if (rc != 0) {
        writer_error(sp, OP_SYNC, rc, SYNC_FAILED, "");
    } else {
        sync_worked(sp);
    }
}

static void *writer_main(void *arg)
{
    struct lc_spool *sp = arg;
    int failures = 0;
    pthread_mutex_lock(&sp->lock);
    for (;;) {
        uint64_t now = lc_now_ms(), due = sp->last_sync_ms + sp->opt.sync_interval_ms;
        int sync_due = sp->unsynced && sp->opt.sync == LC_SYNC_INTERVAL && now >= due;
        /* A due sync comes first: under a steady load the queue is never empty, and the
         * interval must still hold. */
        if (sync_due) {
            pthread_mutex_unlock(&sp->lock);
            sync_now(sp);
            pthread_mutex_lock(&sp->lock);
        } else if ((sp->queue.len > 0 || sp->wbuf.len > 0) &&
                   (sp->stopping || now >= sp->retry_at_ms)) {
            failures = write_queued(sp) != 0 ? failures + 1 : 0;
            if (sp->stopping && failures >= STOP_WRITE_ATTEMPTS) {
                lc_log(LC_LOG_ERROR, 0,
                       "[spool] giving up writing at stop; the lines not "
                       "written are read again from Docker at the next start");
                break;
            }
        } else if (sp->delete_check) {
            delete_passed(sp);
        } else if (sp->stopping) {
            break;
        } else {
            uint64_t ms = BEAT_MS;
            if (sp->unsynced && sp->opt.sync == LC_SYNC_INTERVAL && due - now < ms) {
                ms = due - now;
            }
            if (sp->retry_at_ms > now && sp->retry_at_ms - now < ms) {
                ms = sp->retry_at_ms - now;
            }
            wait_ms(sp, ms);
            pthread_mutex_unlock(&sp->lock);
            beat(sp, 0);
            pthread_mutex_lock(&sp->lock);
        }
    }
    pthread_mutex_unlock(&sp->lock);
    if (sp->unsynced || sp->opt.sync == LC_SYNC_NEVER) {
        sync_now(sp); /* a clean stop always leaves the spool durable */
    }
    return NULL;
}

int lc_spool_start(struct lc_spool *sp)
{
    int rc;
    if (sp->opt.readonly) {
        return -EROFS;
    }
    sp->last_sync_ms = lc_now_ms();
    /* Segments every consumer was already past at open (a stop between an ack and the
     * delete) go now, not only once a consumer moves into another segment. */
    sp->delete_check = 1;
    rc = pthread_create(&sp->writer, NULL, writer_main, sp);
    if (rc != 0) {
        return -rc;
    }
    sp->writer_running = 1;
    return 0;
}

void lc_spool_stop(struct lc_spool *sp)
{
    if (!sp->writer_running) {
        return;
    }
    pthread_mutex_lock(&sp->lock);
    sp->stopping = 1;
    pthread_cond_broadcast(&sp->wcond);
    pthread_mutex_unlock(&sp->lock);
    pthread_join(sp->writer, NULL);
    sp->writer_running = 0;
}

void lc_spool_close(struct lc_spool *sp)
{
    if (sp == NULL) {
        return;
    }
    lc_spool_stop(sp);
    if (sp->fd >= 0) {
        close(sp->fd);
    }
    if (sp->dirfd >= 0) {
        close(sp->dirfd);
    }
    lc_buf_close(&sp->queue);
    lc_buf_close(&sp->wbuf);
    lc_buf_close(&sp->txn);
    json_decref(sp->metas);
    json_decref(sp->positions);
    json_decref(sp->recovered);
    pthread_mutex_destroy(&sp->lock);
    pthread_cond_destroy(&sp->wcond);
    pthread_cond_destroy(&sp->rcond);
    free(sp->segs);
    free(sp->dir);
    free(sp);
}

/* ---- appender ------------------------------------------------------------------------- */

static void note_frame(struct lc_spool *sp, long off)
{
    if (off >= 0) {
        sp->last_frame = off;
    }
}

static uint32_t meta_id(struct lc_spool *sp, struct lc_meta *m)
{
    if (m->spool_gen != sp->gen) {
        size_t len;
        char *json = lc_spool_meta_to_json(m, &len);
        m->spool_gen = sp->gen;
        m->spool_id = sp->next_meta_id++;
        note_frame(sp, lc_spool_put_meta(&sp->txn, m->spool_id, json, len));
        free(json);
    }
    return m->spool_id;
}

int lc_spool_add(struct lc_spool *sp, struct lc_meta *meta, int stream, int64_t ts_ns,
                 const char *ts, size_t ts_len, const char *msg, size_t len, int truncated)
{
    return lc_spool_add_fields(sp, meta, NULL, stream, ts_ns, ts, ts_len, msg, len, truncated);
}

int lc_spool_add_fields(struct lc_spool *sp, struct lc_meta *meta, const struct lc_fields *fields,
                        int stream, int64_t ts_ns, const char *ts, size_t ts_len, const char *msg,
                        size_t len, int truncated)
{
    char *fj = NULL;
    size_t flen = 0;
    long off;
    if (fields != NULL) {
        fj = lc_spool_fields_to_json(fields, &flen);
    }
    if (len > LC_SPOOL_PAYLOAD_MAX - LC_SPOOL_DATA_FIXED - 255 ||
        (fj != NULL && flen + 4 > LC_SPOOL_PAYLOAD_MAX - LC_SPOOL_DATA_FIXED - 255 - len)) {
        free(fj);
        return -E2BIG;
    }
    off = lc_spool_put_data_fields(&sp->txn, meta_id(sp, meta), stream, ts_ns, ts, ts_len, fj, flen,
                                   msg, len, truncated);
    free(fj);
    note_frame(sp, off);
    return off < 0 ? (int)off : 0;
}

void lc_spool_set_position(struct lc_spool *sp, const char *key, const char *value, size_t vlen)
{
    note_frame(sp, lc_spool_put_pos(&sp->txn, key, strlen(key), value, value ? vlen : 0));
}

void lc_spool_forget_meta(struct lc_spool *sp, struct lc_meta *meta)
{
    if (meta != NULL && meta->spool_gen == sp->gen) {
        note_frame(sp, lc_spool_put_meta(&sp->txn, meta->spool_id, "", 0));
        meta->spool_gen = 0;
    }
}

size_t lc_spool_txn_bytes(const struct lc_spool *sp)
{
    return sp->txn.len;
}

int lc_spool_commit(struct lc_spool *sp)
{
    uint64_t used, pending;
    int full;
    if (sp->txn.len > 0) {
        sp->txn.data[sp->last_frame + 3] |= LC_SPOOL_F_TXN_END;
    }
    pthread_mutex_lock(&sp->lock);
    if (sp->txn.len > 0) {
        if (sp->queue.len == 0) {
            struct lc_buf tmp = sp->queue;
            sp->queue = sp->txn;
            sp->txn = tmp;
        } else {
            lc_buf_add(&sp->queue, sp->txn.data, sp->txn.len);
            lc_buf_reset(&sp->txn);
        }
        sp->last_frame = -1;
        pthread_cond_signal(&sp->wcond);
    }
    pending = sp->queue.len + sp->wbuf.len;
    used = sp->bytes + pending;
    if (used >= sp->opt.max_bytes) {
        sp->full_disk = 1;
    }
    if (!sp->full && (used >= sp->opt.max_bytes || pending >= sp->opt.queue_max)) {
        sp->full = 1;
        sp->full_since_ns = lc_mono_ns();
    }
    full = sp->full;
    pthread_mutex_unlock(&sp->lock);
    if (sp->txn.cap > KEEP_BUF && sp->txn.len == 0) {
        lc_buf_close(&sp->txn);
    }
    return full;
}

json_t *lc_spool_positions(struct lc_spool *sp)
{
    return json_incref(sp->recovered);
}

int lc_spool_fresh(const struct lc_spool *sp)
{
    return sp->rec.fresh;
}

/* ---- figures -------------------------------------------------------------------------- */

void lc_spool_end(struct lc_spool *sp, struct lc_spool_pos *end, uint64_t *end_index)
{
    pthread_mutex_lock(&sp->lock);
    if (sp->n_segs > 0) {
        end->seg = sp->segs[sp->n_segs - 1].id;
        end->off = sp->segs[sp->n_segs - 1].size;
    } else {
        end->seg = 0;
        end->off = 0;
    }
    *end_index = sp->end_index;
    pthread_mutex_unlock(&sp->lock);
}

void lc_spool_backlog(struct lc_spool *sp, const struct lc_spool_pos *pos, uint64_t index,
                      uint64_t *records, uint64_t *bytes)
{
    uint64_t b = 0;
    pthread_mutex_lock(&sp->lock);
    for (size_t i = 0; i < sp->n_segs; i++) {
        const struct lc_seg *s = &sp->segs[i];
        if (s->id > pos->seg) {
            b += s->size;
        } else if (s->id == pos->seg && s->size > pos->off) {
            b += s->size - pos->off;
        }
    }
    *records = sp->end_index > index ? sp->end_index - index : 0;
    *bytes = b;
    pthread_mutex_unlock(&sp->lock);
}

/* "spool writer: <what>: <errno text>" of a failing writer in OUT, or "". Lock held. */
static void writer_failure(const struct lc_spool *sp, char *out, size_t cap)
{
    char buf[128];
    int err = sp->write_err != 0 ? sp->write_err : sp->sync_err;
    out[0] = '\0';
    if (err != 0) {
        snprintf(out, cap, "spool writer: %s: %s", sp->write_err != 0 ? WRITE_FAILED : SYNC_FAILED,
                 strerror_r(err < 0 ? -err : err, buf, sizeof(buf)));
    }
}

void lc_spool_fill(struct lc_spool *sp, struct lc_spool_snap *out)
{
    uint64_t records = 0;
    pthread_mutex_lock(&sp->lock);
    for (size_t i = 0; i < sp->n_segs; i++) {
        records += sp->segs[i].records;
    }
    out->enabled = 1;
    out->bytes = sp->bytes;
    out->max_bytes = sp->opt.max_bytes;
    out->records = records;
    out->segments = sp->n_segs;
    out->full = sp->full && sp->full_disk;
    out->paused = sp->full;
    out->paused_seconds =
        (double)(sp->paused_ns + (sp->full ? lc_mono_ns() - sp->full_since_ns : 0)) / 1e9;
    out->corrupt_records = sp->rec.corrupt_records;
    out->torn_bytes = sp->rec.torn_bytes;
    out->appended_records = sp->appended_records;
    out->appended_bytes = sp->appended_bytes;
    memcpy(out->sync_buckets, sp->sync_buckets, sizeof(out->sync_buckets));
    out->sync_count = sp->sync_count;
    out->sync_seconds_sum = sp->sync_sum;
    out->writer_failing = sp->write_err != 0 || sp->sync_err != 0;
    out->writer_errors = sp->writer_errors;
    out->metadata = sp->n_metas;
    out->checkpoint_bytes = sp->checkpoint_bytes;
    writer_failure(sp, out->writer_error, sizeof(out->writer_error));
    pthread_mutex_unlock(&sp->lock);
}

const char *lc_spool_dir(const struct lc_spool *sp)
{
    return sp->dir;
}

void lc_spool_each_segment(struct lc_spool *sp,
                           void (*fn)(void *ud, uint64_t id, uint64_t bytes, uint64_t records,
                                      uint64_t first_index),
                           void *ud)
{
    pthread_mutex_lock(&sp->lock);
    for (size_t i = 0; i < sp->n_segs; i++) {
        const struct lc_seg *s = &sp->segs[i];
        fn(ud, s->id, s->size, s->records, s->first_index);
    }
    pthread_mutex_unlock(&sp->lock);
}
