/* spool_recover: opening the spool. Every segment is scanned from its header to its end:
 * frames are checked (CRC), metadata and positions are applied one whole append at a time,
 * damaged regions are skipped, counted and logged, and what follows the last whole append
 * of a segment (a write cut short by a crash) is cut off. Then a new active segment is
 * started with a checkpoint of the recovered state. Never fails on damaged contents: only
 * an unusable directory is an error.
 *
 * Damage holds positions back. A damaged region (a hole a power loss left in writes that
 * were not synced, a bad disk) has lost records, and nobody can tell whose: the append
 * that held it, and every later append of the same run, may carry positions past the lost
 * lines (an input's position covers all its lines before it). So once damage is seen,
 * the positions of the damaged append and of every later append of that run are not
 * applied (their metadata is: the records still in the spool need it): positions stay
 * where the last whole append before the damage left them, and the inputs read the lines
 * after it again (those still in the spool are delivered twice; none is lost). Damage is:
 * a damaged region inside an append, a torn tail or a file shorter than its header
 * followed by more segments, a segment missing or cut short before a rotation's one, a
 * segment that cannot be read.
 *
 * A run is one process's lifetime. Its segments' checkpoints carry the run mark
 * (LC_SPOOL_RUN_KEY): the id of the segment the run began with, and the size of the
 * segment before. Segments made by rotation carry the in-memory positions, which pass the
 * hole, so the hold goes on across them; it ends at the first segment of a new run, whose
 * checkpoint is the state that run recovered (and then read its inputs from): that
 * checkpoint replaces the positions. The mark names the run's first segment rather than a
 * random run id so that a rotation of a run whose first segment was lost is never taken
 * for a new run; and a rotation whose previous segment is missing or shorter than the
 * mark says shows appends lost at a segment's end (a cut that fell between two appends
 * looks whole). Segments of an older logcap have no mark and change nothing.
 *
 * Metadata: every segment holds what its records use (its checkpoint declares the live
 * metadata), and a new run gives every container a new id, so the recovered metadata is
 * not carried into the new segment (ids still never repeat: next_meta_id is kept). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "spool/spool.h"
#include "spool/spool_int.h"
#include "spool/spool_scan.h"
#include "base/util.h"

static uint64_t spool_gen_counter;

/* What one segment's scan found. */
struct seg_scan {
    uint64_t id;
    uint64_t valid_end; /* after the last frame that ended an append */
    uint64_t records;   /* in whole appends */
    uint64_t appends;   /* whole appends */
    uint64_t corrupt, corrupt_bytes, first_corrupt_at; /* damaged regions in whole appends */
    uint64_t size;                                     /* of the file */
    uint32_t max_meta;                                 /* highest meta id seen + 1 */
    /* the append being read: applied to the maps at its end, dropped if it never ends */
    json_t *tx_metas, *tx_pos;
    uint64_t tx_records, tx_corrupt, tx_corrupt_bytes, tx_first_bad;
    uint64_t bad_end; /* end of the last damaged bytes: a region goes on from there */
};

/* What recovery knows across segments: the run being read, and whether its positions are
 * held back since some damage. */
struct run_state {
    int held;
    uint64_t held_seg, held_at;          /* where the damage begins */
    uint64_t held_appends, held_records; /* appends whose positions were not applied */
    uint64_t regions;                    /* damaged regions in this run */
    int older_damage; /* damaged regions in runs that a later run's start superseded */
    int have_prev;
    uint64_t prev_id, prev_end; /* the segment read last, and its last whole append's end */
};

static int parse_seg_name(const char *name, uint64_t *id)
{
    char *end;
    if (strlen(name) != 20 || strcmp(name + 16, ".seg") != 0 ||
        strspn(name, "0123456789abcdef") != 16) {
        return -EINVAL;
    }
    *id = strtoull(name, &end, 16);
    return *id > 0 ? 0 : -EINVAL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The ids of the segment files in DIR, sorted. Returns how many (*IDS is a heap array). */
static size_t list_segments(int dirfd, uint64_t **ids)
{
    int fd = dup(dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    size_t n = 0, cap = 0;
    *ids = NULL;
    if (d == NULL) {
        if (fd >= 0) {
            close(fd);
        }
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        uint64_t id;
        if (parse_seg_name(e->d_name, &id) != 0) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            *ids = lc_xrealloc(*ids, cap * sizeof(**ids));
        }
        (*ids)[n++] = id;
    }
    closedir(d);
    if (n > 1) {
        qsort(*ids, n, sizeof(**ids), cmp_u64);
    }
    return n;
}

/* Merges the append's metadata and position changes (null = delete) into the maps. */
static void merge(json_t *into, json_t *changes)
{
    const char *k;
    json_t *v;
    json_object_foreach(changes, k, v)
    {
        if (json_is_null(v)) {
            json_object_del(into, k);
        } else {
            json_object_set(into, k, v);
        }
    }
    json_object_clear(changes);
}

/* Notes damaged bytes [AT, AT + BYTES) in the append being read; bytes that go on from the
 * last damaged ones are the same region (a hole is one region however many false frame
 * starts the scan met in it). */
static void note_damage(struct seg_scan *ss, uint64_t at, uint64_t bytes)
{
    if (ss->tx_corrupt == 0 || at != ss->bad_end) {
        if (ss->tx_corrupt == 0) {
            ss->tx_first_bad = at;
        }
        ss->tx_corrupt++;
    }
    ss->tx_corrupt_bytes += bytes;
    ss->bad_end = at + bytes;
}

/* Notes one frame of the append being read (at offset AT): metadata and position changes
 * go into the append's change sets (deletes as nulls), merged into the maps at its end. */
static void scan_frame(struct seg_scan *ss, const struct lc_spool_frame *f, uint64_t at)
{
    struct lc_spool_data d;
    const char *json;
    size_t len;
    uint32_t id;
    int rc;

    if (f->type == LC_SPOOL_DATA) {
        rc = lc_spool_data_decode(f, &d);
        ss->tx_records += rc == 0;
    } else {
        rc = lc_spool_apply_frame(ss->tx_metas, ss->tx_pos, f, 1);
        if (rc == 0 && lc_spool_meta_decode(f, &id, &json, &len) == 0 && id + 1 > ss->max_meta) {
            ss->max_meta = id + 1;
        }
    }
    if (rc != 0) {
        /* A whole frame with a sound checksum but a payload that makes no sense. */
        note_damage(ss, at, LC_SPOOL_HDR + (uint64_t)f->len);
    }
}

/* From here on, this run's positions are not applied. */
static void hold(struct run_state *run, uint64_t seg, uint64_t at)
{
    if (!run->held) {
        run->held = 1;
        run->held_seg = seg;
        run->held_at = at;
    }
}

/* The run mark TEXT of segment SS's checkpoint (its first append, undamaged). */
static void run_mark(struct lc_spool *sp, struct run_state *run, const struct seg_scan *ss,
                     const char *text)
{
    json_t *m = text != NULL ? json_loads(text, 0, NULL) : NULL;
    json_t *first = json_object_get(m, "first"), *prev = json_object_get(m, "prev_bytes");
    if (!json_is_integer(first) || !json_is_integer(prev)) {
        json_decref(m);
        return; /* a foreign frame: it says nothing */
    }
    if ((uint64_t)json_integer_value(first) == ss->id) {
        /* A new run: its checkpoint is the state it started from. */
        run->older_damage |= run->regions > 0;
        run->held = 0;
        run->held_appends = run->held_records = run->regions = 0;
        json_object_clear(sp->positions);
    } else if (run->have_prev &&
               (run->prev_id + 1 != ss->id || run->prev_end < (uint64_t)json_integer_value(prev))) {
        /* A rotation: the segment before it is missing, or lost appends at its end. */
        lc_log(LC_LOG_WARN, 0,
               "[spool] segment %016llx follows segment %016llx of %lld bytes, but segment "
               "%016llx ends at %llu: the appends after that were lost",
               (unsigned long long)ss->id, (unsigned long long)(ss->id - 1),
               (long long)json_integer_value(prev), (unsigned long long)run->prev_id,
               (unsigned long long)run->prev_end);
        hold(run, run->prev_id, run->prev_end);
    }
    json_decref(m);
}

static void end_append(struct lc_spool *sp, struct run_state *run, struct seg_scan *ss,
                       uint64_t end)
{
    json_t *mark = json_object_get(ss->tx_pos, LC_SPOOL_RUN_KEY);
    if (mark != NULL) {
        if (ss->appends == 0 && ss->corrupt == 0 && ss->tx_corrupt == 0) {
            run_mark(sp, run, ss, json_string_value(mark));
        }
        json_object_del(ss->tx_pos, LC_SPOOL_RUN_KEY); /* the spool's, not an input's */
    }
    if (ss->tx_corrupt > 0) {
        hold(run, ss->id, ss->tx_first_bad);
        if (ss->corrupt == 0) {
            ss->first_corrupt_at = ss->tx_first_bad;
        }
        run->regions += ss->tx_corrupt;
    }
    merge(sp->metas, ss->tx_metas);
    if (run->held) {
        run->held_appends++;
        run->held_records += ss->tx_records;
        json_object_clear(ss->tx_pos);
    } else {
        merge(sp->positions, ss->tx_pos);
    }
    ss->records += ss->tx_records;
    ss->corrupt += ss->tx_corrupt;
    ss->corrupt_bytes += ss->tx_corrupt_bytes;
    ss->tx_records = ss->tx_corrupt = ss->tx_corrupt_bytes = 0;
    ss->appends++;
    ss->valid_end = end;
}

/* Scans FD from its header to its end. Returns 0 or -errno when it cannot be read. */
static int scan_file(struct lc_spool *sp, struct run_state *run, int fd, uint32_t seed,
                     struct seg_scan *ss)
{
    struct lc_spool_scan sc;
    struct lc_spool_frame f;
    uint64_t at;
    size_t skipped;
    int r;

    lc_spool_scan_init(&sc, fd, LC_SPOOL_SEG_HDR, seed);
    ss->valid_end = LC_SPOOL_SEG_HDR;
    for (;;) {
        r = lc_spool_scan_next(&sc, ss->size, &f, &at, &skipped);
        if (r == LC_SCAN_FRAME) {
            scan_frame(ss, &f, at);
            if (f.flags & LC_SPOOL_F_TXN_END) {
                end_append(sp, run, ss, lc_spool_scan_offset(&sc));
            }
        } else if (r == LC_SCAN_BAD) {
            note_damage(ss, at, skipped);
        } else {
            break;
        }
    }
    lc_spool_scan_close(&sc);
    json_object_clear(ss->tx_metas);
    json_object_clear(ss->tx_pos);
    return r < 0 ? r : 0;
}

static void report_segment(const struct seg_scan *ss, int readonly)
{
    if (ss->corrupt > 0) {
        lc_log(LC_LOG_WARN, 0,
               "[spool] segment %016llx: skipped %llu damaged regions (%llu bytes), the first "
               "at offset %llu; the records in them are not in the spool",
               (unsigned long long)ss->id, (unsigned long long)ss->corrupt,
               (unsigned long long)ss->corrupt_bytes, (unsigned long long)ss->first_corrupt_at);
    }
    if (ss->size > ss->valid_end) {
        lc_log(LC_LOG_WARN, 0,
               "[spool] segment %016llx: %s a torn tail of %llu bytes after offset %llu (an "
               "append cut short by a crash; its lines are read again from the input)",
               (unsigned long long)ss->id, readonly ? "ignoring" : "cut",
               (unsigned long long)(ss->size - ss->valid_end), (unsigned long long)ss->valid_end);
    }
}

/* Opens segment ID and reads its header: the descriptor, or -1 (logged). */
static int open_segment(struct lc_spool *sp, uint64_t id, struct seg_scan *ss, uint32_t *seed)
{
    char path[4200];
    uint64_t hid = 0;
    struct stat st;
    int fd;

    lc_spool_seg_path(sp, id, path, sizeof(path));
    fd = open(path, (sp->opt.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        lc_log(LC_LOG_ERROR, errno, "[spool] cannot open %s; skipping it", path);
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    ss->size = (uint64_t)st.st_size;
    if (lc_spool_seg_read_header(fd, &hid, seed) != 0 || hid != id) {
        lc_log(LC_LOG_WARN, 0, "[spool] %s has a damaged header; reading its records anyway", path);
    }
    return fd;
}

/* Recovers segment ID into the list. A file that cannot be opened is logged and left. */
static void recover_segment(struct lc_spool *sp, struct run_state *run, uint64_t id,
                            struct seg_scan *ss)
{
    uint32_t seed = 0;
    int fd, rc;

    ss->id = id;
    fd = open_segment(sp, id, ss, &seed);
    if (fd < 0) {
        hold(run, id, 0); /* its records are not there for now; later positions pass them */
        return;
    }
    rc = scan_file(sp, run, fd, seed, ss);
    if (rc != 0) {
        lc_log(LC_LOG_ERROR, rc, "[spool] cannot read all of segment %016llx",
               (unsigned long long)id);
    }
    /* Appends that never ended, or a file cut before its header: lines lost that the
     * positions of later segments of this run pass. */
    if (rc != 0 || ss->size != ss->valid_end) {
        hold(run, id, ss->valid_end < ss->size ? ss->valid_end : ss->size);
    }
    report_segment(ss, sp->opt.readonly);
    if (!sp->opt.readonly && ss->size > ss->valid_end && ftruncate(fd, (off_t)ss->valid_end) != 0) {
        lc_log(LC_LOG_ERROR, errno, "[spool] cannot cut segment %016llx", (unsigned long long)id);
    }
    close(fd);
    lc_spool_seg_push(sp, id, ss->valid_end, ss->records);
    sp->rec.records += ss->records;
    sp->rec.corrupt_records += ss->corrupt;
    sp->rec.corrupt_bytes += ss->corrupt_bytes;
    sp->rec.torn_bytes += ss->size > ss->valid_end ? ss->size - ss->valid_end : 0;
    if (ss->max_meta > sp->next_meta_id) {
        sp->next_meta_id = ss->max_meta;
    }
    run->have_prev = 1;
    run->prev_id = id;
    run->prev_end = ss->valid_end;
}

/* Says what the damage costs: the positions held back, or damage from before a start. */
static void report_held(const struct run_state *run)
{
    if (run->held && run->held_appends > 0) {
        lc_log(LC_LOG_WARN, 0,
               "[spool] the positions of %llu appends written after the damage at segment "
               "%016llx offset %llu were not applied: the inputs read their lines again from "
               "the last whole append before it (%llu records after that are still in the "
               "spool: those are delivered twice)",
               (unsigned long long)run->held_appends, (unsigned long long)run->held_seg,
               (unsigned long long)run->held_at, (unsigned long long)run->held_records);
    }
    if (run->older_damage) {
        lc_log(LC_LOG_WARN, 0,
               "[spool] some damage is in segments written before the last start: if it was "
               "there at that start, their lines were read again then; if it came later, the "
               "records in it are lost");
    }
}

static void recover_all(struct lc_spool *sp)
{
    uint64_t *ids;
    size_t n = list_segments(sp->dirfd, &ids);
    struct run_state run;
    struct seg_scan ss;

    memset(&run, 0, sizeof(run));
    sp->rec.fresh = n == 0;
    sp->rec.segments = n;
    for (size_t i = 0; i < n; i++) {
        memset(&ss, 0, sizeof(ss));
        ss.tx_metas = json_object();
        ss.tx_pos = json_object();
        recover_segment(sp, &run, ids[i], &ss);
        json_decref(ss.tx_metas);
        json_decref(ss.tx_pos);
    }
    sp->rec.bytes = sp->bytes;
    report_held(&run);
    free(ids);
}

static struct lc_spool *spool_new(const struct lc_spool_options *opt)
{
    struct lc_spool *sp = lc_xcalloc(1, sizeof(*sp));
    sp->dir = lc_xstrdup(opt->dir);
    sp->opt = *opt;
    sp->opt.dir = sp->dir;
    if (sp->opt.queue_max == 0) {
        sp->opt.queue_max = LC_SPOOL_QUEUE_MAX;
    }
    sp->gen = __atomic_add_fetch(&spool_gen_counter, 1, __ATOMIC_RELAXED);
    sp->fd = -1;
    sp->dirfd = -1;
    sp->last_frame = -1;
    sp->next_meta_id = 1;
    sp->metas = json_object();
    sp->positions = json_object();
    pthread_mutex_init(&sp->lock, NULL);
    lc_cond_init(&sp->wcond);
    lc_cond_init(&sp->rcond);
    lc_buf_init(&sp->queue, 0);
    lc_buf_init(&sp->wbuf, 0);
    lc_buf_init(&sp->txn, 0);
    return sp;
}

int lc_spool_open(const struct lc_spool_options *opt, struct lc_spool **out,
                  struct lc_spool_recovery *rep)
{
    struct lc_spool *sp = spool_new(opt);
    uint64_t next;
    int rc = opt->readonly ? 0 : lc_mkdir_p(opt->dir, 0750);

    if (rc == 0) {
        sp->dirfd = open(opt->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        rc = sp->dirfd < 0 ? -errno : 0;
    }
    if (rc != 0) {
        lc_log(LC_LOG_ERROR, rc, "[spool] cannot open the spool directory %s", opt->dir);
        lc_spool_close(sp);
        return rc;
    }
    recover_all(sp);
    sp->recovered = json_deep_copy(sp->positions);
    if (!opt->readonly) {
        next = sp->n_segs > 0 ? sp->segs[sp->n_segs - 1].id + 1 : 1;
        /* This run gives every container a new meta id: none of the recovered ones is used
         * again, so the new segment's checkpoint does not carry them (see the top). */
        json_object_clear(sp->metas);
        sp->run_first = next;
        rc = lc_spool_seg_create(sp, next);
        if (rc != 0) {
            lc_log(LC_LOG_ERROR, rc, "[spool] cannot create a segment in %s", opt->dir);
            lc_spool_close(sp);
            return rc;
        }
    }
    if (sp->rec.corrupt_records > 0 || sp->rec.torn_bytes > 0) {
        lc_log(LC_LOG_WARN, 0,
               "[spool] recovered %llu records in %llu segments; skipped %llu damaged regions "
               "(%llu bytes), cut %llu torn bytes",
               (unsigned long long)sp->rec.records, (unsigned long long)sp->rec.segments,
               (unsigned long long)sp->rec.corrupt_records,
               (unsigned long long)sp->rec.corrupt_bytes, (unsigned long long)sp->rec.torn_bytes);
    }
    if (rep != NULL) {
        *rep = sp->rec;
    }
    *out = sp;
    return 0;
}
