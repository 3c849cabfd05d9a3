/* spool_reader: consumers (cursor files) and readers. See spool_reader.h. */
#include "spool/spool_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libdeflate.h>

#include "base/log.h"
#include "spool/spool_int.h"
#include "spool/spool_scan.h"
#include "base/util.h"

#define CURSOR_SLOT 32
#define CURSOR_MAGIC "LCCU"

/* ---- cursor files ------------------------------------------------------------------------ */

static void cursor_path(const char *dir, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s.cursor", dir, name);
}

/* A slot: "LCCU", the generation (u32), the segment and offset (u64 each), 4 zero bytes,
 * and the CRC-32 of the 28 bytes before it. */
static void slot_encode(uint8_t out[CURSOR_SLOT], uint32_t gen, const struct lc_spool_pos *pos)
{
    memcpy(out, CURSOR_MAGIC, 4);
    lc_spool_put_u32(out + 4, gen);
    lc_spool_put_u64(out + 8, pos->seg);
    lc_spool_put_u64(out + 16, pos->off);
    lc_spool_put_u32(out + 24, 0);
    lc_spool_put_u32(out + 28, libdeflate_crc32(0, out, 28));
}

/* Returns the slot's generation, or -1 when it is not a valid slot. */
static long slot_decode(const uint8_t *in, struct lc_spool_pos *pos)
{
    if (memcmp(in, CURSOR_MAGIC, 4) != 0 ||
        libdeflate_crc32(0, in, 28) != lc_spool_get_u32(in + 28)) {
        return -1;
    }
    pos->seg = lc_spool_get_u64(in + 8);
    pos->off = lc_spool_get_u64(in + 16);
    return (long)lc_spool_get_u32(in + 4);
}

/* The newer valid slot of the file's two. Returns its generation, -1 when the file holds
 * no slot at all (new, or created by a run that stopped before writing), or -2 when it
 * holds bytes but no valid slot (damaged). */
static long cursor_read_fd(int fd, struct lc_spool_pos *pos)
{
    uint8_t buf[2 * CURSOR_SLOT] = {0};
    struct lc_spool_pos p[2];
    long g[2];
    ssize_t n = pread(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
        return -1;
    }
    if (n < CURSOR_SLOT) {
        return -2;
    }
    g[0] = slot_decode(buf, &p[0]);
    g[1] = n >= 2 * CURSOR_SLOT ? slot_decode(buf + CURSOR_SLOT, &p[1]) : -1;
    if (g[0] < 0 && g[1] < 0) {
        return -2;
    }
    /* Generations count up and wrap: the newer one is one ahead of the other. */
    if (g[1] < 0 || (g[0] >= 0 && (uint32_t)(g[0] - g[1]) < 0x80000000u)) {
        *pos = p[0];
        return g[0];
    }
    *pos = p[1];
    return g[1];
}

int lc_spool_cursor_load(const char *dir, const char *name, struct lc_spool_pos *pos)
{
    char path[4200];
    int fd;
    long g;
    cursor_path(dir, name, path, sizeof(path));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    g = cursor_read_fd(fd, pos);
    close(fd);
    return g == -1 ? -ENOENT : g < 0 ? -EINVAL : 0;
}

static int cursor_write(struct lc_spool_consumer *c, const struct lc_spool_pos *pos, int sync)
{
    uint8_t slot[CURSOR_SLOT];
    uint32_t gen = c->gen + 1;
    int rc;
    slot_encode(slot, gen, pos);
    rc = lc_pwrite_all(c->fd, slot, sizeof(slot), (uint64_t)(gen & 1) * CURSOR_SLOT);
    if (rc != 0) {
        return rc;
    }
    c->gen = gen;
    if (sync && fdatasync(c->fd) != 0) {
        return -errno;
    }
    return 0;
}

/* Writes the place a consumer opens at. When the file held no slot (NEW: created now, or by
 * a run that stopped before writing it), the directory is synced after it: a file is
 * durable only with its directory entry, and a cursor that a power loss takes away makes
 * the output start again at the end of the spool (start_at: end), skipping what it had not
 * delivered. A cursor that exists needs no directory sync; sync: never makes none, as for
 * segment files. Returns 0 or -errno. */
static int cursor_first_write(struct lc_spool_consumer *c, const struct lc_spool_pos *pos, int new)
{
    int rc = cursor_write(c, pos, 1);
    if (rc == 0 && new && c->sp->opt.sync != LC_SYNC_NEVER && fsync(c->sp->dirfd) != 0) {
        rc = -errno;
    }
    return rc;
}

/* ---- consumers ----------------------------------------------------------------------------- */

/* Moves a saved place to one that exists. Lock held; the spool has a segment. */
static void clamp(struct lc_spool *sp, struct lc_spool_pos *pos)
{
    const struct lc_seg *first = &sp->segs[0], *last = &sp->segs[sp->n_segs - 1], *s;
    if (pos->seg < first->id) {
        *pos = (struct lc_spool_pos){first->id, LC_SPOOL_SEG_HDR};
    } else if (pos->seg > last->id) {
        *pos = (struct lc_spool_pos){last->id, last->size};
    } else if ((s = lc_spool_seg_find(sp, pos->seg)) == NULL) {
        s = lc_spool_seg_after(sp, pos->seg);
        *pos = (struct lc_spool_pos){s->id, LC_SPOOL_SEG_HDR};
    } else if (pos->off > s->size) {
        pos->off = s->size;
    } else if (pos->off < LC_SPOOL_SEG_HDR) {
        pos->off = LC_SPOOL_SEG_HDR;
    }
}

/* Where a consumer without a cursor starts. Lock held. */
static void start_place(struct lc_spool *sp, int oldest, struct lc_spool_pos *pos)
{
    const struct lc_seg *s = oldest ? &sp->segs[0] : &sp->segs[sp->n_segs - 1];
    pos->seg = s->id;
    pos->off = oldest ? LC_SPOOL_SEG_HDR : s->size;
}

static int open_cursor_file(struct lc_spool_consumer *c, int start_oldest)
{
    struct lc_spool *sp = c->sp;
    struct lc_spool_pos pos = {0, 0};
    long g;
    c->fd = open(c->path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (c->fd < 0) {
        return -errno;
    }
    g = cursor_read_fd(c->fd, &pos);
    pthread_mutex_lock(&sp->lock);
    if (sp->n_segs == 0) {
        pthread_mutex_unlock(&sp->lock);
        return -ENOENT;
    }
    if (g >= 0) {
        c->gen = (uint32_t)g;
        clamp(sp, &pos);
    } else {
        /* A damaged cursor says nothing about what was delivered: sending again beats
         * losing, so it starts at the oldest record whatever start_at says. */
        start_place(sp, start_oldest || g == -2, &pos);
    }
    c->pos = pos;
    pthread_mutex_unlock(&sp->lock);
    if (g == -1) {
        lc_log(LC_LOG_INFO, 0,
               "[spool] output %s has no cursor yet: it starts at the %s of the spool", c->name,
               start_oldest ? "oldest record" : "end");
    } else if (g == -2) {
        lc_log(LC_LOG_WARN, 0,
               "[spool] the cursor of output %s is damaged: it starts again at the oldest "
               "record of the spool (some records may be sent twice)",
               c->name);
    }
    return cursor_first_write(c, &pos, g == -1);
}

int lc_spool_consumer_open(struct lc_spool *sp, const char *name, int start_oldest,
                           struct lc_spool_consumer **out)
{
    struct lc_spool_consumer *c = lc_xcalloc(1, sizeof(*c));
    size_t n = strlen(sp->dir) + strlen(name) + 16;
    int rc;
    c->sp = sp;
    c->name = lc_xstrdup(name);
    c->path = lc_xmalloc(n);
    cursor_path(sp->dir, name, c->path, n);
    rc = open_cursor_file(c, start_oldest);
    if (rc == 0) {
        pthread_mutex_lock(&sp->lock);
        if (sp->n_consumers == LC_SPOOL_MAX_CONSUMERS) {
            rc = -E2BIG;
        } else {
            sp->consumers[sp->n_consumers++] = c;
        }
        pthread_mutex_unlock(&sp->lock);
    }
    if (rc != 0) {
        lc_log(LC_LOG_ERROR, rc, "[spool] cannot open the cursor %s", c->path);
        if (c->fd >= 0) {
            close(c->fd);
        }
        free(c->name);
        free(c->path);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void lc_spool_consumer_pos(struct lc_spool_consumer *c, struct lc_spool_pos *pos)
{
    pthread_mutex_lock(&c->sp->lock);
    *pos = c->pos;
    pthread_mutex_unlock(&c->sp->lock);
}

int lc_spool_consumer_ack(struct lc_spool_consumer *c, const struct lc_spool_pos *pos,
                          uint64_t index, int64_t oldest_ts, int sync)
{
    struct lc_spool *sp = c->sp;
    pthread_mutex_lock(&sp->lock);
    if (pos->seg != c->pos.seg) {
        sp->delete_check = 1;
        pthread_cond_signal(&sp->wcond);
    }
    c->pos = *pos;
    c->index = index;
    c->oldest_ts = oldest_ts;
    pthread_mutex_unlock(&sp->lock);
    return cursor_write(c, pos, sync);
}

int lc_spool_consumer_sync(struct lc_spool_consumer *c)
{
    return fdatasync(c->fd) == 0 ? 0 : -errno;
}

void lc_spool_consumer_set_oldest(struct lc_spool_consumer *c, int64_t oldest_ts)
{
    pthread_mutex_lock(&c->sp->lock);
    c->oldest_ts = oldest_ts;
    pthread_mutex_unlock(&c->sp->lock);
}

void lc_spool_consumer_backlog(struct lc_spool_consumer *c, uint64_t *records, uint64_t *bytes,
                               double *oldest_age_s)
{
    struct lc_spool_pos pos;
    uint64_t index;
    int64_t oldest;
    pthread_mutex_lock(&c->sp->lock);
    pos = c->pos;
    index = c->index;
    oldest = c->oldest_ts;
    pthread_mutex_unlock(&c->sp->lock);
    lc_spool_backlog(c->sp, &pos, index, records, bytes);
    *oldest_age_s = oldest > 0 ? (double)(lc_wall_ns() - oldest) / 1e9 : 0;
    if (*oldest_age_s < 0) {
        *oldest_age_s = 0;
    }
}

void lc_spool_consumer_close(struct lc_spool_consumer *c)
{
    struct lc_spool *sp;
    if (c == NULL) {
        return;
    }
    sp = c->sp;
    pthread_mutex_lock(&sp->lock);
    for (size_t i = 0; i < sp->n_consumers; i++) {
        if (sp->consumers[i] == c) {
            sp->consumers[i] = sp->consumers[--sp->n_consumers];
            break;
        }
    }
    pthread_mutex_unlock(&sp->lock);
    if (c->fd >= 0) {
        fdatasync(c->fd);
        close(c->fd);
    }
    free(c->name);
    free(c->path);
    free(c);
}

/* ---- the metadata a reader has met: open addressing on the meta id -------------------- */

/* Linear probing with backward-shift deletion: a forgotten id leaves no tombstone, so the
 * table holds only live entries, and it shrinks when mostly empty. With containers coming
 * and going it stays the size of what is live, not of everything ever seen; and it holds
 * only the current segment's metadata (open_seg clears it). */
struct meta_slot {
    uint32_t id;       /* 0: empty (ids start at 1) */
    struct lc_meta *m; /* one reference */
};

#define META_MIN_SLOTS 64

struct lc_spool_reader {
    struct lc_spool *sp;
    uint64_t seg; /* 0 before the first */
    int fd;
    struct lc_spool_scan sc;
    uint64_t index;   /* of the next record */
    uint64_t skip_to; /* records before this offset of the first segment were read before */
    /* What the spool last said of the segment: readable up to LIMIT, FINISHED when a newer
     * one exists (LIMIT is then final). Asked again only when the scan reaches LIMIT, so a
     * record costs no lock. */
    uint64_t limit;
    int finished;
    struct meta_slot *slots;
    size_t cap, used; /* slots (0 or a power of two >= META_MIN_SLOTS), live entries */
    struct lc_meta *unknown;
    uint64_t skipped;
};

static size_t home_of(const struct lc_spool_reader *r, uint32_t id)
{
    return (id * 2654435761u) & (r->cap - 1);
}

/* The slot holding ID, or the empty one where it would go. CAP > 0. */
static struct meta_slot *slot_of(struct lc_spool_reader *r, uint32_t id)
{
    size_t i = home_of(r, id);
    while (r->slots[i].id != 0 && r->slots[i].id != id) {
        i = (i + 1) & (r->cap - 1);
    }
    return &r->slots[i];
}

static void meta_resize(struct lc_spool_reader *r, size_t cap)
{
    struct meta_slot *old = r->slots;
    size_t n = r->cap;
    r->cap = cap;
    r->slots = lc_xcalloc(cap, sizeof(*r->slots));
    for (size_t i = 0; i < n; i++) {
        if (old[i].id != 0) {
            *slot_of(r, old[i].id) = old[i];
        }
    }
    free(old);
}

/* Forgets ID: the entries after it in its probe run move back into the hole (those whose
 * home is not between the hole and themselves), so that no lookup needs a tombstone. */
static void meta_del(struct lc_spool_reader *r, uint32_t id)
{
    size_t mask = r->cap - 1, i, j;
    struct meta_slot *s = r->cap > 0 ? slot_of(r, id) : NULL;
    if (s == NULL || s->id == 0) {
        return;
    }
    lc_meta_unref(s->m);
    i = j = (size_t)(s - r->slots);
    for (;;) {
        size_t k;
        j = (j + 1) & mask;
        if (r->slots[j].id == 0) {
            break;
        }
        k = home_of(r, r->slots[j].id);
        /* slot j may fill hole i unless its home lies cyclically in (i, j] */
        if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
            r->slots[i] = r->slots[j];
            i = j;
        }
    }
    r->slots[i] = (struct meta_slot){0, NULL};
    r->used--;
    if (r->cap > META_MIN_SLOTS && r->used * 8 < r->cap) {
        meta_resize(r, r->cap / 2);
    }
}

/* Takes ownership of M (NULL: forget ID, or metadata that did not decode). */
static void meta_put(struct lc_spool_reader *r, uint32_t id, struct lc_meta *m)
{
    struct meta_slot *s;
    if (id == 0 || m == NULL) {
        lc_meta_unref(m);
        meta_del(r, id);
        return;
    }
    if ((r->used + 1) * 2 > r->cap) {
        meta_resize(r, r->cap > 0 ? r->cap * 2 : META_MIN_SLOTS);
    }
    s = slot_of(r, id);
    if (s->id == 0) {
        s->id = id;
        r->used++;
    }
    lc_meta_unref(s->m);
    s->m = m;
}

/* Drops every entry (a new segment: its checkpoint declares again what is live). */
static void meta_clear(struct lc_spool_reader *r)
{
    for (size_t i = 0; i < r->cap; i++) {
        lc_meta_unref(r->slots[i].m);
    }
    free(r->slots);
    r->slots = NULL;
    r->cap = r->used = 0;
}

size_t lc_spool_reader_meta_slots(const struct lc_spool_reader *r)
{
    return r->cap;
}

void lc_spool_reader_meta_stats(const struct lc_spool_reader *r, size_t *live, size_t *slots)
{
    *live = r->used;
    *slots = r->cap;
}

static void on_meta(struct lc_spool_reader *r, const struct lc_spool_frame *f)
{
    uint32_t id;
    const char *json;
    size_t len;
    if (lc_spool_meta_decode(f, &id, &json, &len) != 0) {
        r->skipped++;
        return;
    }
    meta_put(r, id, len > 0 ? lc_spool_meta_from_json(json, len) : NULL);
}

static struct lc_meta *meta_get(struct lc_spool_reader *r, uint32_t id)
{
    struct meta_slot *s = r->cap > 0 && id != 0 ? slot_of(r, id) : NULL;
    if (s != NULL && s->m != NULL) {
        return s->m;
    }
    if (r->unknown == NULL) {
        /* The Docker shape, as before sources had kinds: outputs see what they always saw
         * for a record whose metadata was lost. */
        r->unknown = lc_meta_docker_create("unknown", "unknown", "", "", NULL, NULL, NULL);
    }
    return r->unknown;
}

/* ---- readers ---------------------------------------------------------------------------- */

static void close_seg(struct lc_spool_reader *r)
{
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
    }
}

/* Opens segment S (its descriptor; the scan starts after the header). Lock held. */
static int open_seg(struct lc_spool_reader *r, const struct lc_seg *s)
{
    char path[4200];
    uint64_t hid;
    uint32_t seed = 0;
    int rc;
    close_seg(r);
    lc_spool_scan_close(&r->sc);
    /* The scan starts at the segment's checkpoint, which declares every metadata its
     * records use (spool.h): what the reader held for the segment before goes. */
    meta_clear(r);
    r->seg = s->id;
    r->index = s->first_index;
    r->limit = s->size;
    r->finished = s != &r->sp->segs[r->sp->n_segs - 1];
    lc_spool_seg_path(r->sp, s->id, path, sizeof(path));
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    rc = r->fd < 0 ? -errno : 0;
    if (rc == 0) {
        lc_spool_seg_read_header(r->fd, &hid, &seed); /* damage was reported at recovery */
    }
    lc_spool_scan_init(&r->sc, r->fd, LC_SPOOL_SEG_HDR, seed);
    return rc;
}

static int on_data(struct lc_spool_reader *r, const struct lc_spool_frame *f, uint64_t after,
                   struct lc_record **out);

/* Reads the first segment up to the starting place (its checkpoint's metadata, and the
 * records before it, for the index), so that lc_spool_reader_pos is right from the start.
 * Stops early on an error or the segment's end: lc_spool_reader_next does the rest. */
static void catch_up(struct lc_spool_reader *r, uint64_t limit)
{
    struct lc_spool_frame f;
    struct lc_record *unused = NULL;
    uint64_t at;
    size_t skipped;
    while (lc_spool_scan_offset(&r->sc) < r->skip_to) {
        int rc = lc_spool_scan_next(&r->sc, limit, &f, &at, &skipped);
        if (rc == LC_SCAN_BAD) {
            r->skipped++;
            continue;
        }
        if (rc != LC_SCAN_FRAME) {
            return;
        }
        if (lc_spool_scan_offset(&r->sc) > r->skip_to) {
            lc_spool_scan_seek(&r->sc, at); /* the first frame to hand out */
            return;
        }
        if (f.type == LC_SPOOL_META) {
            on_meta(r, &f);
        } else if (f.type == LC_SPOOL_DATA) {
            on_data(r, &f, lc_spool_scan_offset(&r->sc), &unused);
        }
    }
}

struct lc_spool_reader *lc_spool_reader_create(struct lc_spool *sp, const struct lc_spool_pos *pos)
{
    struct lc_spool_reader *r = lc_xcalloc(1, sizeof(*r));
    const struct lc_seg *s;
    r->sp = sp;
    r->fd = -1;
    pthread_mutex_lock(&sp->lock);
    s = lc_spool_seg_find(sp, pos->seg);
    if (s == NULL) {
        s = lc_spool_seg_after(sp, pos->seg);
    } else {
        r->skip_to = pos->off;
    }
    if (s != NULL) {
        open_seg(r, s);
    } else {
        r->seg = pos->seg; /* past the end: read from the next segment that comes */
    }
    pthread_mutex_unlock(&sp->lock);
    if (r->fd >= 0 && r->skip_to > LC_SPOOL_SEG_HDR) {
        catch_up(r, r->limit);
    }
    return r;
}

/* Moves to the segment after the current one, if the current one is finished (not the
 * last). Returns 1 when it moved. */
static int next_seg(struct lc_spool_reader *r)
{
    const struct lc_seg *s;
    int moved = 0;
    pthread_mutex_lock(&r->sp->lock);
    s = lc_spool_seg_after(r->sp, r->seg);
    if (s != NULL) {
        lc_spool_scan_close(&r->sc);
        r->skip_to = 0;
        open_seg(r, s);
        moved = 1;
    }
    pthread_mutex_unlock(&r->sp->lock);
    return moved;
}

/* The reader has no descriptor: its segment could not be opened, or it stands before the
 * first segment or past the last. Opens the segment again if it is still there, else moves
 * to the next one. Returns 1 when there is a segment to read, 0 when there is none yet, or
 * -errno when the segment cannot be opened (try again later: skipping it would lose its
 * records for this output). */
static int reopen_seg(struct lc_spool_reader *r)
{
    const struct lc_seg *s;
    int rc = 0;
    pthread_mutex_lock(&r->sp->lock);
    s = r->seg != 0 ? lc_spool_seg_find(r->sp, r->seg) : NULL;
    if (s == NULL) {
        s = lc_spool_seg_after(r->sp, r->seg); /* deleted, or not there yet */
        r->skip_to = 0;
    }
    while (s != NULL) {
        rc = open_seg(r, s);
        if (rc == 0 || rc != -ENOENT || s == &r->sp->segs[r->sp->n_segs - 1]) {
            break;
        }
        /* removed from under the spool (by hand): nothing to wait for */
        lc_log(LC_LOG_ERROR, rc, "[spool] segment %016llx is missing; skipping it",
               (unsigned long long)s->id);
        s = lc_spool_seg_after(r->sp, s->id);
        r->skip_to = 0;
    }
    pthread_mutex_unlock(&r->sp->lock);
    return s != NULL && rc == 0 ? 1 : rc;
}

/* Asks the spool again how far the current segment may be read, and whether it is
 * finished. Returns 1 when the limit moved. */
static int refresh_limit(struct lc_spool_reader *r)
{
    const struct lc_seg *s;
    uint64_t old = r->limit;
    pthread_mutex_lock(&r->sp->lock);
    s = lc_spool_seg_find(r->sp, r->seg);
    r->finished = s == NULL || s != &r->sp->segs[r->sp->n_segs - 1];
    r->limit = s != NULL ? s->size : 0;
    pthread_mutex_unlock(&r->sp->lock);
    return r->limit > old;
}

/* A DATA frame: 1 and a record, or 0 when it lies before the starting place. */
static int on_data(struct lc_spool_reader *r, const struct lc_spool_frame *f, uint64_t after,
                   struct lc_record **out)
{
    struct lc_spool_data d;
    if (lc_spool_data_decode(f, &d) != 0) {
        r->skipped++;
        return 0;
    }
    if (after <= r->skip_to) {
        r->index++;
        return 0;
    }
    *out = lc_record_create(meta_get(r, d.meta_id), d.stream, d.ts_ns, d.ts, d.ts_len, d.msg, d.len,
                            d.truncated);
    if (d.fields != NULL) {
        /* Fields that do not decode cost the fields, not the line. */
        lc_record_set_fields(*out, lc_spool_fields_from_json(d.fields, d.fields_len));
    }
    (*out)->seq = r->index++;
    return 1;
}

int lc_spool_reader_next(struct lc_spool_reader *r, struct lc_record **out,
                         struct lc_spool_pos *end)
{
    for (;;) {
        struct lc_spool_frame f;
        uint64_t at;
        size_t skipped;
        int rc;
        if (r->fd < 0) {
            rc = reopen_seg(r);
            if (rc == 1) {
                continue;
            }
            return rc;
        }
        rc = lc_spool_scan_next(&r->sc, r->limit, &f, &at, &skipped);
        if (rc < 0) {
            return rc;
        }
        if (rc == LC_SCAN_BAD) {
            r->skipped++;
        } else if (rc == LC_SCAN_MORE) {
            if (!refresh_limit(r) && (!r->finished || !next_seg(r))) {
                return 0;
            }
        } else if (f.type == LC_SPOOL_META) {
            on_meta(r, &f);
        } else if (f.type == LC_SPOOL_DATA && on_data(r, &f, lc_spool_scan_offset(&r->sc), out)) {
            end->seg = r->seg;
            end->off = lc_spool_scan_offset(&r->sc);
            return 1;
        }
    }
}

void lc_spool_reader_pos(const struct lc_spool_reader *r, struct lc_spool_pos *pos, uint64_t *index)
{
    pos->seg = r->seg;
    pos->off = r->fd >= 0 ? lc_spool_scan_offset(&r->sc) : LC_SPOOL_SEG_HDR;
    if (pos->off < r->skip_to) {
        pos->off = r->skip_to;
    }
    *index = r->index;
}

uint64_t lc_spool_reader_skipped(const struct lc_spool_reader *r)
{
    return r->skipped;
}

void lc_spool_reader_destroy(struct lc_spool_reader *r)
{
    if (r == NULL) {
        return;
    }
    close_seg(r);
    lc_spool_scan_close(&r->sc);
    meta_clear(r);
    lc_meta_unref(r->unknown);
    free(r);
}

/* ---- waiting for records ------------------------------------------------------------------ */

void lc_spool_wait(struct lc_spool *sp, const struct lc_spool_pos *seen, uint64_t timeout_ms)
{
    struct timespec ts;
    pthread_mutex_lock(&sp->lock);
    if (sp->n_segs > 0 && sp->segs[sp->n_segs - 1].id == seen->seg &&
        sp->segs[sp->n_segs - 1].size == seen->off) {
        lc_deadline_in(&ts, timeout_ms);
        pthread_cond_timedwait(&sp->rcond, &sp->lock, &ts);
    }
    pthread_mutex_unlock(&sp->lock);
}

void lc_spool_wake(struct lc_spool *sp)
{
    pthread_mutex_lock(&sp->lock);
    pthread_cond_broadcast(&sp->rcond);
    pthread_mutex_unlock(&sp->lock);
}
