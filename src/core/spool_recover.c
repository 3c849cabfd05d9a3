/* spool_recover: opening the spool. Every segment is scanned from its header to its end:
 * frames are checked (CRC), metadata and positions are applied one whole append at a time,
 * damaged frames are skipped, counted and logged, and what follows the last whole append
 * of a segment (a write cut short by a crash) is cut off. Then a new active segment is
 * started with a checkpoint of the recovered state. Never fails on damaged contents: only
 * an unusable directory is an error. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/spool.h"
#include "core/spool_int.h"
#include "core/spool_scan.h"
#include "core/util.h"

static uint64_t spool_gen_counter;

/* What one segment's scan found. */
struct seg_scan {
    uint64_t valid_end; /* after the last frame that ended an append */
    uint64_t records;   /* in whole appends */
    uint64_t corrupt, corrupt_bytes, first_corrupt_at;
    uint64_t size;     /* of the file */
    uint32_t max_meta; /* highest meta id seen + 1 */
    /* the append being read: applied to the maps at its end, dropped if it never ends */
    json_t *tx_metas, *tx_pos;
    uint64_t tx_records, tx_corrupt, tx_corrupt_bytes;
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

/* Notes one frame of the append being read: metadata and position changes go into the
 * append's change sets (deletes as nulls), merged into the maps at its end. */
static void scan_frame(struct seg_scan *ss, const struct lc_spool_frame *f)
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
        ss->tx_corrupt++;
        ss->tx_corrupt_bytes += LC_SPOOL_HDR + f->len;
    }
}

static void end_append(struct lc_spool *sp, struct seg_scan *ss, uint64_t end)
{
    merge(sp->metas, ss->tx_metas);
    merge(sp->positions, ss->tx_pos);
    ss->records += ss->tx_records;
    ss->corrupt += ss->tx_corrupt;
    ss->corrupt_bytes += ss->tx_corrupt_bytes;
    ss->tx_records = ss->tx_corrupt = ss->tx_corrupt_bytes = 0;
    ss->valid_end = end;
}

/* Scans FD from its header to its end. Returns 0 or -errno when it cannot be read. */
static int scan_file(struct lc_spool *sp, int fd, uint32_t seed, struct seg_scan *ss)
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
            scan_frame(ss, &f);
            if (f.flags & LC_SPOOL_F_TXN_END) {
                end_append(sp, ss, lc_spool_scan_offset(&sc));
            }
        } else if (r == LC_SCAN_BAD) {
            if (ss->tx_corrupt == 0 && ss->corrupt == 0) {
                ss->first_corrupt_at = at;
            }
            ss->tx_corrupt++;
            ss->tx_corrupt_bytes += skipped;
        } else {
            break;
        }
    }
    lc_spool_scan_close(&sc);
    json_object_clear(ss->tx_metas);
    json_object_clear(ss->tx_pos);
    return r < 0 ? r : 0;
}

static void report_segment(uint64_t id, const struct seg_scan *ss, int readonly)
{
    if (ss->corrupt > 0) {
        lc_log(LC_LOG_WARN, 0,
               "[spool] segment %016llx: skipped %llu damaged records (%llu bytes), the first "
               "at offset %llu",
               (unsigned long long)id, (unsigned long long)ss->corrupt,
               (unsigned long long)ss->corrupt_bytes, (unsigned long long)ss->first_corrupt_at);
    }
    if (ss->size > ss->valid_end) {
        lc_log(LC_LOG_WARN, 0,
               "[spool] segment %016llx: %s a torn tail of %llu bytes after offset %llu (an "
               "append cut short by a crash; its lines are read again from the input)",
               (unsigned long long)id, readonly ? "ignoring" : "cut",
               (unsigned long long)(ss->size - ss->valid_end), (unsigned long long)ss->valid_end);
    }
}

/* Recovers segment ID into the list. A file that cannot be opened is logged and left. */
static void recover_segment(struct lc_spool *sp, uint64_t id, struct seg_scan *ss)
{
    char path[4200];
    uint64_t hid = 0;
    uint32_t seed = 0;
    struct stat st;
    int fd, rc;

    lc_spool_seg_path(sp, id, path, sizeof(path));
    fd = open(path, (sp->opt.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        lc_log(LC_LOG_ERROR, errno, "[spool] cannot open %s; skipping it", path);
        if (fd >= 0) {
            close(fd);
        }
        return;
    }
    ss->size = (uint64_t)st.st_size;
    if (lc_spool_seg_read_header(fd, &hid, &seed) != 0 || hid != id) {
        lc_log(LC_LOG_WARN, 0, "[spool] %s has a damaged header; reading its records anyway", path);
    }
    rc = scan_file(sp, fd, seed, ss);
    if (rc != 0) {
        lc_log(LC_LOG_ERROR, rc, "[spool] cannot read all of %s", path);
    }
    report_segment(id, ss, sp->opt.readonly);
    if (!sp->opt.readonly && ss->size > ss->valid_end && ftruncate(fd, (off_t)ss->valid_end) != 0) {
        lc_log(LC_LOG_ERROR, errno, "[spool] cannot cut %s", path);
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
}

static void recover_all(struct lc_spool *sp)
{
    uint64_t *ids;
    size_t n = list_segments(sp->dirfd, &ids);
    struct seg_scan ss;

    sp->rec.fresh = n == 0;
    sp->rec.segments = n;
    for (size_t i = 0; i < n; i++) {
        memset(&ss, 0, sizeof(ss));
        ss.tx_metas = json_object();
        ss.tx_pos = json_object();
        recover_segment(sp, ids[i], &ss);
        json_decref(ss.tx_metas);
        json_decref(ss.tx_pos);
    }
    sp->rec.bytes = sp->bytes;
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
    pthread_cond_init(&sp->wcond, NULL);
    pthread_cond_init(&sp->rcond, NULL);
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
        rc = lc_spool_seg_create(sp, next);
        if (rc != 0) {
            lc_log(LC_LOG_ERROR, rc, "[spool] cannot create a segment in %s", opt->dir);
            lc_spool_close(sp);
            return rc;
        }
    }
    if (sp->rec.corrupt_records > 0 || sp->rec.torn_bytes > 0) {
        lc_log(LC_LOG_WARN, 0,
               "[spool] recovered %llu records in %llu segments; skipped %llu damaged records, "
               "cut %llu torn bytes",
               (unsigned long long)sp->rec.records, (unsigned long long)sp->rec.segments,
               (unsigned long long)sp->rec.corrupt_records, (unsigned long long)sp->rec.torn_bytes);
    }
    if (rep != NULL) {
        *rep = sp->rec;
    }
    *out = sp;
    return 0;
}
