/* file: the embedded file output (see file.h). It owns a descriptor of the output directory,
 * a bounded LRU cache of open log files (at most MAX_OPEN descriptors), and for each file a
 * batch touches that batch's encoded records. send groups a batch by file and writes each
 * group with one write(2) per run of records that fits the current file, rotating between
 * runs, so a file never passes rotate_bytes except by a single record larger than that, alone
 * in it. A failed batch is undone for its retry (LC_RETRY) in two ways: the records still in
 * a current file are cut off again (ftruncate back to the size before the batch), and the
 * records already moved into a rotated (maybe gzipped) file, which cannot be cut off, are
 * marked done in the send report (lc_send_done): the delivery engine keeps that mark and
 * leaves them out when the batch comes again, even after a restart of this output has
 * destroyed its state; so every record lands exactly once. Nothing of a failed batch is kept
 * here. Rotation, gzip compression included, runs synchronously on the calling thread:
 * outputs are driven by their own delivery (worker) thread, so compressing only delays this
 * output. */
#include "outputs/file/file.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"

#define MAX_OPEN 128                /* open log files kept; the least recently used is closed */
#define BUCKETS 256                 /* hash buckets for the files in use */
#define BASE_MAX 200                /* longest base name; leaves room for ".log.N.gz.tmp" */
#define NAME_LEN 256                /* NAME_MAX + 1 */
#define ID_PREFIX 12                /* digits of the container id used when the name is unusable */
#define KEEP_BUF (64 * 1024)        /* batch buffers larger than this are freed after the batch */
#define KEEP_SPANS 4096             /* so are span arrays with more room than this */
#define BATCH_MAX ((size_t)1 << 30) /* cap on one file's share of one batch */
#define GZ_CHUNK (64 * 1024)

/* Where one record of the batch lies in its file's batch buffer. */
struct lc_file_span {
    size_t end; /* offset just past the record's bytes */
    size_t idx; /* the record's position in the batch */
};

/* One container's log file, DIR/<base>.log. It exists while its file is open or while the
 * current batch touches it. */
struct lc_file_entry {
    char *base;                 /* file name without ".log" */
    int fd;                     /* -1 when closed */
    uint64_t size;              /* bytes in the file (kept while closed by the cache) */
    uint64_t start;             /* size before this batch's bytes in the current file */
    int dirty;                  /* written since the last fdatasync */
    int touched;                /* in the current batch's list */
    int written;                /* this batch's write began */
    struct lc_buf batch;        /* this batch's encoded records, in batch order */
    struct lc_file_span *spans; /* one per record in batch, in the same order */
    size_t n_spans, cap_spans;
    struct lc_file_entry *hnext;       /* hash chain */
    struct lc_file_entry *prev, *next; /* LRU list of open files, most recent first */
    struct lc_file_entry *tnext;       /* files of the current batch, first touched first */
};

struct lc_file_output {
    const struct lc_output_config *cfg;
    const struct lc_file_config *fc; /* its options: cfg->opts */
    const char *name;
    int dirfd;
    int dir_dirty; /* entries created or renamed since the last flush */
    int sync_err;  /* first fdatasync error of an evicted file since the last flush */
    struct lc_file_entry *buckets[BUCKETS];
    struct lc_file_entry *lru_head, *lru_tail;
    unsigned n_open;
    struct lc_file_entry *touched, **touched_tail;
};

static int usable_base(const char *s, size_t n)
{
    return n > 0 && n <= BASE_MAX && s[0] != '.' && memchr(s, '/', n) == NULL;
}

/* Writes the base name of META's file into OUT: the source's name (a container's name),
 * or its id's first 12 bytes when the name cannot be a file name, or "unnamed" when neither
 * can. Uses only the metadata's kind-neutral id and name. */
static void base_name(const struct lc_meta *m, char out[BASE_MAX + 1])
{
    const char *s = "unnamed";
    size_t n = strlen(s);

    if (m != NULL && usable_base(m->name, strlen(m->name))) {
        s = m->name;
        n = strlen(s);
    } else if (m != NULL && usable_base(m->id, strnlen(m->id, ID_PREFIX))) {
        s = m->id;
        n = strnlen(s, ID_PREFIX);
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

static struct lc_file_entry **bucket(struct lc_file_output *o, const char *base)
{
    return &o->buckets[lc_hash64(LC_HASH_SEED, base, strlen(base)) % BUCKETS];
}

static struct lc_file_entry *entry_get(struct lc_file_output *o, const char *base)
{
    struct lc_file_entry **head = bucket(o, base);
    struct lc_file_entry *e;

    for (e = *head; e != NULL; e = e->hnext) {
        if (strcmp(e->base, base) == 0) {
            return e;
        }
    }
    e = lc_xcalloc(1, sizeof(*e));
    e->base = lc_xstrdup(base);
    e->fd = -1;
    lc_buf_init(&e->batch, BATCH_MAX);
    e->hnext = *head;
    *head = e;
    return e;
}

/* Unlinks E from the hash table and frees it. E must be closed. */
static void entry_free(struct lc_file_output *o, struct lc_file_entry *e)
{
    struct lc_file_entry **p = bucket(o, e->base);

    assert(e->fd < 0);
    while (*p != e) {
        p = &(*p)->hnext;
    }
    *p = e->hnext;
    lc_buf_close(&e->batch);
    free(e->spans);
    free(e->base);
    free(e);
}

static void lru_remove(struct lc_file_output *o, struct lc_file_entry *e)
{
    if (e->prev != NULL) {
        e->prev->next = e->next;
    } else {
        o->lru_head = e->next;
    }
    if (e->next != NULL) {
        e->next->prev = e->prev;
    } else {
        o->lru_tail = e->prev;
    }
    e->prev = NULL;
    e->next = NULL;
}

static void lru_push(struct lc_file_output *o, struct lc_file_entry *e)
{
    e->prev = NULL;
    e->next = o->lru_head;
    if (o->lru_head != NULL) {
        o->lru_head->prev = e;
    } else {
        o->lru_tail = e;
    }
    o->lru_head = e;
}

/* Closes E's file, after an fdatasync when it holds unsynced writes (a failure is logged
 * and reported by the next flush). */
static void entry_close(struct lc_file_output *o, struct lc_file_entry *e)
{
    if (e->fd < 0) {
        return;
    }
    if (e->dirty && fdatasync(e->fd) != 0) {
        int err = -errno;
        lc_log(LC_LOG_ERROR, err, "[output:%s] cannot sync %s/%s.log", o->name, o->fc->path,
               e->base);
        if (o->sync_err == 0) {
            o->sync_err = err;
        }
    }
    close(e->fd);
    e->fd = -1;
    e->dirty = 0;
    lru_remove(o, e);
    o->n_open--;
}

/* The size of NAME without a torn last line: a crash (SIGKILL, power loss) in the middle of
 * a batch written in several write() calls leaves a line without its newline, and the
 * records of that batch come again (the cursor did not move past them). Appending after
 * the torn piece would glue it to the next record, making one invalid line. Returns SIZE
 * when the file ends in a newline (or is empty), else the offset after its last newline. */
static uint64_t whole_lines_end(struct lc_file_output *o, const char *name, uint64_t size)
{
    char buf[4096];
    uint64_t end = size;
    int fd = size > 0 ? openat(o->dirfd, name, O_RDONLY | O_CLOEXEC) : -1;

    while (fd >= 0 && end > 0) {
        size_t n = end < sizeof(buf) ? (size_t)end : sizeof(buf);
        ssize_t r = pread(fd, buf, n, (off_t)(end - n));
        if (r != (ssize_t)n) {
            end = size; /* cannot tell: leave the file as it is */
            break;
        }
        if (end == size && buf[n - 1] == '\n') {
            break;
        }
        while (n > 0 && buf[n - 1] != '\n') {
            n--;
            end--;
        }
        if (n > 0) {
            break;
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    return end;
}

/* Opens (creating it when missing) E's file for appending, closing the least recently used
 * file when the cache is full. Returns 0 or -errno. */
static int entry_open(struct lc_file_output *o, struct lc_file_entry *e)
{
    char name[NAME_LEN];
    struct stat st;
    int fd, rc;

    if (o->n_open >= MAX_OPEN) {
        struct lc_file_entry *old = o->lru_tail;
        entry_close(o, old);
        if (!old->touched) {
            entry_free(o, old);
        }
    }
    snprintf(name, sizeof(name), "%s.log", e->base);
    fd = openat(o->dirfd, name, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        fd = openat(o->dirfd, name, O_WRONLY | O_APPEND | O_CLOEXEC | O_CREAT, 0644);
        o->dir_dirty = 1;
    }
    if (fd < 0) {
        return -errno;
    }
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    e->fd = fd;
    e->size = whole_lines_end(o, name, (uint64_t)st.st_size);
    if (e->size < (uint64_t)st.st_size) {
        lc_log(LC_LOG_WARN, 0,
               "[output:%s] %s ends in a line cut by a crash: %llu bytes removed (their records "
               "are written again)",
               o->name, name, (unsigned long long)((uint64_t)st.st_size - e->size));
        if (ftruncate(fd, (off_t)e->size) != 0) {
            e->size = (uint64_t)st.st_size;
        }
    }
    lru_push(o, e);
    o->n_open++;
    return 0;
}

static int write_all(int fd, const void *data, size_t len, size_t *done)
{
    const char *p = data;

    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            return -errno;
        }
        if (w == 0) {
            return -EIO;
        }
        p += w;
        len -= (size_t)w;
        *done += (size_t)w;
    }
    return 0;
}

/* Runs deflate over what ZS holds with FLUSH, writing every output byte to OUT. */
static int deflate_out(z_stream *zs, int flush, unsigned char *buf, int out)
{
    size_t done = 0;
    int rc;

    do {
        zs->next_out = buf;
        zs->avail_out = GZ_CHUNK;
        deflate(zs, flush); /* cannot fail: the stream is valid and has room */
        rc = write_all(out, buf, GZ_CHUNK - zs->avail_out, &done);
        if (rc != 0) {
            return rc;
        }
    } while (zs->avail_out == 0);
    return 0;
}

/* Copies IN to OUT gzip-compressed. Returns 0 or -errno. */
static int gz_copy(int in, int out)
{
    unsigned char *ibuf = lc_xmalloc(GZ_CHUNK), *obuf = lc_xmalloc(GZ_CHUNK);
    z_stream zs;
    int flush = Z_NO_FLUSH, rc = 0;

    memset(&zs, 0, sizeof(zs));
    /* 15 + 16: the largest window, with a gzip header and trailer */
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        rc = -ENOMEM;
        goto out_free;
    }
    while (rc == 0 && flush != Z_FINISH) {
        ssize_t n = read(in, ibuf, GZ_CHUNK);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = -errno;
            break;
        }
        flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
        zs.next_in = ibuf;
        zs.avail_in = (unsigned)n;
        rc = deflate_out(&zs, flush, obuf, out);
    }
    deflateEnd(&zs);
out_free:
    free(ibuf);
    free(obuf);
    return rc;
}

/* Compresses <base>.log.1 into <base>.log.1.gz: written under a temporary name, fsynced,
 * then renamed, so a .gz file is always complete; then removes <base>.log.1. Returns 0 or
 * -errno; on failure <base>.log.1 is left in place for the next rotation to finish. */
static int compress_first(struct lc_file_output *o, const char *base)
{
    char src[NAME_LEN], tmp[NAME_LEN], dst[NAME_LEN];
    int in, out, rc;

    snprintf(src, sizeof(src), "%s.log.1", base);
    snprintf(tmp, sizeof(tmp), "%s.log.1.gz.tmp", base);
    snprintf(dst, sizeof(dst), "%s.log.1.gz", base);
    in = openat(o->dirfd, src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        rc = -errno;
        goto out;
    }
    out = openat(o->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        rc = -errno;
        goto out_in;
    }
    rc = gz_copy(in, out);
    if (rc == 0 && fsync(out) != 0) {
        rc = -errno;
    }
    if (close(out) != 0 && rc == 0) {
        rc = -errno;
    }
    if (rc == 0 && renameat(o->dirfd, tmp, o->dirfd, dst) != 0) {
        rc = -errno;
    }
    if (rc != 0) {
        unlinkat(o->dirfd, tmp, 0);
        goto out_in;
    }
    if (unlinkat(o->dirfd, src, 0) != 0) {
        rc = -errno;
    }
out_in:
    close(in);
out:
    return rc;
}

static int exists(struct lc_file_output *o, const char *name)
{
    struct stat st;
    return fstatat(o->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* With compression on, <base>.log.1 is only there when a rotation stopped before its end
 * (a crash, a full disk): finishes that rotation so the next rename cannot overwrite it.
 * A .1.gz beside it is complete (it is renamed into place only once written). */
static int finish_pending(struct lc_file_output *o, const char *base)
{
    char first[NAME_LEN], first_gz[NAME_LEN];

    snprintf(first, sizeof(first), "%s.log.1", base);
    snprintf(first_gz, sizeof(first_gz), "%s.log.1.gz", base);
    if (!exists(o, first)) {
        return 0;
    }
    if (!exists(o, first_gz)) {
        return compress_first(o, base);
    }
    return unlinkat(o->dirfd, first, 0) == 0 ? 0 : -errno;
}

/* Makes room for a new <base>.log.1: renames <base>.log.K to <base>.log.K+1 from the
 * newest up, deleting those that would pass max_files (and any beyond, left by a larger
 * max_files). Rotated files are numbered without gaps, so a probe finds the last one;
 * this costs a few system calls per existing file, not per possible one. */
static int shift(struct lc_file_output *o, const char *base)
{
    const char *gz = o->fc->compress ? ".gz" : "";
    char from[NAME_LEN], to[NAME_LEN];
    unsigned top = 0, max = o->fc->max_files;

    assert(max > 0);
    for (;;) {
        snprintf(from, sizeof(from), "%s.log.%u%s", base, top + 1, gz);
        if (!exists(o, from)) {
            break;
        }
        top++;
    }
    for (unsigned k = top; k >= max; k--) {
        snprintf(from, sizeof(from), "%s.log.%u%s", base, k, gz);
        if (unlinkat(o->dirfd, from, 0) != 0 && errno != ENOENT) {
            return -errno;
        }
    }
    for (unsigned k = top < max ? top : max - 1; k >= 1; k--) {
        snprintf(from, sizeof(from), "%s.log.%u%s", base, k, gz);
        snprintf(to, sizeof(to), "%s.log.%u%s", base, k + 1, gz);
        if (renameat(o->dirfd, from, o->dirfd, to) != 0) {
            return -errno;
        }
    }
    return 0;
}

/* Moves E's file out of the way so the next write starts a fresh one: shifts the rotated
 * files up by one, renames <base>.log to <base>.log.1 and compresses it when configured
 * (synchronously, see the top of the file). With max_files 0 the file is simply deleted.
 * E is closed. Sets *MOVED when <base>.log was renamed or deleted, even if a later step
 * failed. Returns 0 or -errno (logged); after a failure the caller goes on writing to the
 * current file: rotation is housekeeping and must not hold records back. */
static int rotate(struct lc_file_output *o, struct lc_file_entry *e, int *moved)
{
    char cur[NAME_LEN], first[NAME_LEN];
    int rc = 0;

    *moved = 0;
    entry_close(o, e);
    o->dir_dirty = 1;
    snprintf(cur, sizeof(cur), "%s.log", e->base);
    snprintf(first, sizeof(first), "%s.log.1", e->base);
    if (o->fc->max_files == 0) {
        rc = unlinkat(o->dirfd, cur, 0) == 0 ? 0 : -errno;
        *moved = rc == 0;
        goto out;
    }
    if (o->fc->compress) {
        rc = finish_pending(o, e->base);
    }
    if (rc == 0) {
        rc = shift(o, e->base);
    }
    if (rc == 0 && renameat(o->dirfd, cur, o->dirfd, first) != 0) {
        rc = -errno;
    }
    *moved = rc == 0;
    if (rc == 0 && o->fc->compress) {
        rc = compress_first(o, e->base); /* on failure, the next rotation finishes it */
    }
out:
    if (rc != 0) {
        lc_log(LC_LOG_ERROR, rc, "[output:%s] cannot rotate %s/%s", o->name, o->fc->path, cur);
    }
    return rc;
}

/* Opens E's file when it is closed and makes it the most recently used. */
static int entry_ready(struct lc_file_output *o, struct lc_file_entry *e)
{
    if (e->fd < 0) {
        int rc = entry_open(o, e);
        if (rc != 0) {
            return rc;
        }
    }
    lru_remove(o, e);
    lru_push(o, e);
    return 0;
}

/* Appends bytes FROM..TO of E's batch buffer to its file with one write(2), unless the
 * kernel writes it short. Returns 0 or -errno. */
static int chunk_write(struct lc_file_entry *e, size_t from, size_t to)
{
    size_t done = 0;
    int rc;

    if (from == to) {
        return 0;
    }
    rc = write_all(e->fd, e->batch.data + from, to - from, &done);
    e->size += done;
    if (done > 0) {
        e->dirty = 1;
    }
    return rc;
}

/* Rotates E's file before the record of span K. When the file was moved away, the records
 * of spans *LIVE..K-1, written to it by this batch, are there for good: they are marked done
 * in REP (a truncation can no longer take them back) and the fresh file starts the rollback
 * range. When it was not, clears *CAN_ROTATE so the rest of the batch does not try again for
 * every record. Returns 0 or -errno (the fresh file cannot be opened). */
static int rotate_before(struct lc_file_output *o, struct lc_file_entry *e, size_t k, size_t *live,
                         int *can_rotate, struct lc_send_report *rep)
{
    int moved;

    rotate(o, e, &moved); /* logged */
    if (moved) {
        for (; *live < k; (*live)++) {
            lc_send_done(rep, e->spans[*live].idx);
        }
        e->size = 0;
        e->start = 0;
    } else {
        *can_rotate = 0;
    }
    return entry_ready(o, e);
}

/* Whether adding ADD bytes to a file holding USED would take a non-empty file past
 * rotate_bytes (0: never rotate). */
static int passes(const struct lc_file_output *o, uint64_t used, size_t add)
{
    uint64_t limit = o->fc->rotate_bytes;
    return limit > 0 && used > 0 && used + add > limit;
}

/* Appends E's records of the batch to its file, gathering them into runs that are written
 * with one write(2) each: before a record that would take the non-empty file past
 * rotate_bytes, the run so far is written and the file rotated, so a record is never split
 * and one larger than rotate_bytes goes alone into a fresh file. Records rotated away are
 * marked done in REP. Returns 0 or -errno. */
static int entry_write(struct lc_file_output *o, struct lc_file_entry *e,
                       struct lc_send_report *rep)
{
    size_t run = 0, live = 0; /* start of the unwritten run; first span not moved away */
    int can_rotate = 1, rc;

    rc = entry_ready(o, e);
    if (rc != 0) {
        return rc;
    }
    e->start = e->size;
    e->written = 1;
    for (size_t k = 0; k < e->n_spans; k++) {
        size_t beg = k > 0 ? e->spans[k - 1].end : 0;
        if (!can_rotate || !passes(o, e->size + (beg - run), e->spans[k].end - beg)) {
            continue;
        }
        rc = chunk_write(e, run, beg);
        if (rc != 0) {
            return rc;
        }
        run = beg;
        rc = rotate_before(o, e, k, &live, &can_rotate, rep);
        if (rc != 0) {
            return rc;
        }
    }
    return chunk_write(e, run, e->batch.len);
}

/* Truncates the closed file NAME back to SIZE. Returns 0 or -errno. */
static int truncate_closed(struct lc_file_output *o, const char *name, uint64_t size)
{
    int fd = openat(o->dirfd, name, O_WRONLY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0) {
        return -errno;
    }
    if (ftruncate(fd, (off_t)size) != 0) {
        rc = -errno;
    }
    close(fd);
    return rc;
}

/* Truncates every file the failed batch wrote to back to its size before the batch (or
 * to empty, for a file the batch started after a rotation). */
static void rollback(struct lc_file_output *o)
{
    char name[NAME_LEN];

    for (struct lc_file_entry *e = o->touched; e != NULL; e = e->tnext) {
        int rc;
        if (!e->written || e->size == e->start) {
            continue;
        }
        snprintf(name, sizeof(name), "%s.log", e->base);
        if (e->fd >= 0) {
            rc = ftruncate(e->fd, (off_t)e->start) == 0 ? 0 : -errno;
        } else {
            /* closed by the descriptor cache since it was written */
            rc = truncate_closed(o, name, e->start);
        }
        if (rc != 0) {
            lc_log(LC_LOG_ERROR, rc,
                   "[output:%s] cannot undo a partial write to %s/%s; "
                   "its records may be written twice",
                   o->name, o->fc->path, name);
        }
        e->size = e->start;
    }
}

/* Notes that record I of the batch ends at the end of E's batch buffer. */
static void span_add(struct lc_file_entry *e, size_t i)
{
    if (e->n_spans == e->cap_spans) {
        e->cap_spans = e->cap_spans > 0 ? e->cap_spans * 2 : 16;
        e->spans = lc_xrealloc(e->spans, e->cap_spans * sizeof(*e->spans));
    }
    e->spans[e->n_spans].end = e->batch.len;
    e->spans[e->n_spans].idx = i;
    e->n_spans++;
}

/* Encodes every record into the batch buffer of its file. Returns 0 or -E2BIG. */
static int encode(struct lc_file_output *o, struct lc_record *const *recs, size_t n)
{
    const struct lc_meta *last_meta = NULL;
    struct lc_file_entry *e = NULL;
    char base[BASE_MAX + 1];
    int rc;

    for (size_t i = 0; i < n; i++) {
        if (e == NULL || recs[i]->meta != last_meta) {
            last_meta = recs[i]->meta;
            base_name(last_meta, base);
            e = entry_get(o, base);
        }
        if (!e->touched) {
            e->touched = 1;
            *o->touched_tail = e;
            o->touched_tail = &e->tnext;
        }
        rc = lc_output_add_line(&e->batch, recs[i], o->fc->format == LC_FILE_FORMAT_TEXT);
        if (rc != 0) {
            return rc;
        }
        span_add(e, i);
    }
    return 0;
}

/* Forgets the batch: releases large buffers and the entries whose files are closed. */
static void end_batch(struct lc_file_output *o)
{
    struct lc_file_entry *e = o->touched, *next;

    for (; e != NULL; e = next) {
        next = e->tnext;
        e->tnext = NULL;
        e->touched = 0;
        e->written = 0;
        if (e->batch.cap > KEEP_BUF) {
            lc_buf_close(&e->batch);
        }
        lc_buf_reset(&e->batch);
        if (e->cap_spans > KEEP_SPANS) {
            free(e->spans);
            e->spans = NULL;
            e->cap_spans = 0;
        }
        e->n_spans = 0;
        if (e->fd < 0) {
            entry_free(o, e);
        }
    }
    o->touched = NULL;
    o->touched_tail = &o->touched;
}

static enum lc_send_result file_send(void *state, struct lc_record *const *recs, size_t n,
                                     struct lc_send_report *rep)
{
    struct lc_file_output *o = state;
    enum lc_send_result res = LC_OK;
    int rc;

    if (n == 0) {
        return LC_OK;
    }
    rc = encode(o, recs, n);
    if (rc != 0) {
        res = lc_output_encode_failed(o->name, n, rc, rep);
        goto out;
    }
    for (struct lc_file_entry *e = o->touched; e != NULL; e = e->tnext) {
        rc = entry_write(o, e, rep);
        if (rc != 0) {
            lc_log(LC_LOG_ERROR, rc, "[output:%s] cannot write %s/%s.log (will retry)", o->name,
                   o->fc->path, e->base);
            lc_send_why(rep, "cannot write %s.log: %s", e->base, strerror(-rc));
            rollback(o);
            res = LC_RETRY;
            break;
        }
    }
out:
    end_batch(o);
    return res;
}

static int file_flush(void *state)
{
    struct lc_file_output *o = state;
    int rc = o->sync_err;

    o->sync_err = 0;
    for (struct lc_file_entry *e = o->lru_head; e != NULL; e = e->next) {
        if (!e->dirty) {
            continue;
        }
        /* cleared even on failure: Linux reports a writeback error once, and a second
         * fdatasync would claim success for data that may be lost */
        e->dirty = 0;
        if (fdatasync(e->fd) != 0) {
            int err = -errno;
            lc_log(LC_LOG_ERROR, err, "[output:%s] cannot sync %s/%s.log", o->name, o->fc->path,
                   e->base);
            rc = rc != 0 ? rc : err;
        }
    }
    if (o->dir_dirty) {
        o->dir_dirty = 0;
        if (fsync(o->dirfd) != 0) {
            int err = -errno;
            lc_log(LC_LOG_ERROR, err, "[output:%s] cannot sync %s", o->name, o->fc->path);
            rc = rc != 0 ? rc : err;
        }
    }
    return rc;
}

static void file_destroy(void *state)
{
    struct lc_file_output *o = state;

    if (o == NULL) {
        return;
    }
    file_flush(o);
    while (o->lru_head != NULL) {
        struct lc_file_entry *e = o->lru_head;
        entry_close(o, e);
        entry_free(o, e);
    }
    close(o->dirfd);
    free(o);
}

static int file_init(void **state, const struct lc_output_config *cfg)
{
    const char *name = cfg->name != NULL ? cfg->name : "file";
    const struct lc_file_config *fc = cfg->opts;
    struct lc_file_output *o;
    int rc;

    if (fc == NULL || fc->path == NULL || fc->path[0] == '\0') {
        lc_log(LC_LOG_ERROR, 0, "[output:%s] no path", name);
        return -EINVAL;
    }
    rc = lc_mkdir_p(fc->path, 0755);
    if (rc != 0) {
        lc_log(LC_LOG_ERROR, rc, "[output:%s] cannot create %s", name, fc->path);
        goto out;
    }
    o = lc_xcalloc(1, sizeof(*o));
    o->cfg = cfg;
    o->fc = fc;
    o->name = name;
    o->touched_tail = &o->touched;
    o->dirfd = open(fc->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (o->dirfd < 0) {
        rc = -errno;
        lc_log(LC_LOG_ERROR, rc, "[output:%s] cannot open %s", name, fc->path);
        goto out_free;
    }
    *state = o;
    return 0;
out_free:
    free(o);
out:
    return rc;
}

const struct lc_output_ops lc_output_file = {
    .type = "file",
    .config = &lc_file_config_plugin,
    .init = file_init,
    .send = file_send,
    .flush = file_flush,
    .destroy = file_destroy,
};
