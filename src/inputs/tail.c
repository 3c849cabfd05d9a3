/* tail: one file followed by its path (see tail.h). */
#include "inputs/tail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/util.h"

static void say(struct lc_tail *t, enum lc_tail_change c, uint64_t lost)
{
    if (t->cbs.change != NULL) {
        t->cbs.change(t->cbs.ud, c, lost);
    }
}

/* The CRC-32 of the first LEN bytes of FD; -1 when the file holds fewer. */
static int head_crc(int fd, uint32_t len, uint32_t *crc)
{
    unsigned char head[LC_TAIL_FP_MAX];
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, head + got, len - got, (off_t)got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        got += (size_t)n;
    }
    *crc = (uint32_t)crc32(0L, head, (uInt)len);
    return 0;
}

int lc_tail_identify(int fd, struct lc_tail_id *id)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return -errno;
    }
    id->dev = (uint64_t)st.st_dev;
    id->ino = (uint64_t)st.st_ino;
    id->fp_len = st.st_size < LC_TAIL_FP_MAX ? (uint32_t)st.st_size : LC_TAIL_FP_MAX;
    if (head_crc(fd, id->fp_len, &id->fp) != 0) {
        id->fp_len = 0; /* shrank meanwhile: known by device and inode alone until it grows */
        id->fp = 0;
    }
    return 0;
}

int lc_tail_same(int fd, const struct lc_tail_id *id)
{
    struct stat st;
    uint32_t crc;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_dev != id->dev || (uint64_t)st.st_ino != id->ino) {
        return 0;
    }
    return id->fp_len == 0 || (head_crc(fd, id->fp_len, &crc) == 0 && crc == id->fp);
}

static int open_ro(const char *path)
{
    int fd;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

/* Makes FD the file read, from offset OFF. */
static void take_fd(struct lc_tail *t, int fd, uint64_t off)
{
    t->fd = fd;
    lc_tail_identify(fd, &t->id);
    t->off = off;
    t->pending.len = 0;
    t->deleted_said = 0;
    lseek(fd, (off_t)off, SEEK_SET);
}

/* The size of the file open as FD, or 0. */
static uint64_t size_of(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
}

/* A file of PATH's directory that ID names (rotated away while nobody read it), opened;
 * -1 when there is none. */
static int find_sibling(const char *path, const struct lc_tail_id *id)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash == NULL ? lc_xstrdup(".") : lc_xstrndup(path, (size_t)(slash - path) + 1);
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = -1;
    while (d != NULL && found < 0 && (e = readdir(d)) != NULL) {
        struct stat st;
        int fd;
        if (fstatat(dirfd(d), e->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode) ||
            (uint64_t)st.st_dev != id->dev || (uint64_t)st.st_ino != id->ino) {
            continue;
        }
        fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0 && lc_tail_same(fd, id)) {
            found = fd;
        } else if (fd >= 0) {
            close(fd);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    free(dir);
    return found;
}

/* Resumes from RESUME: at the path, among its siblings, or (gone) from the path's start. */
static int resume_at(struct lc_tail *t, const struct lc_tail_pos *resume)
{
    int fd = open_ro(t->path), old;
    if (fd < 0 && errno != ENOENT) {
        return -errno;
    }
    if (fd >= 0 && lc_tail_same(fd, &resume->id)) {
        int shrank = size_of(fd) < resume->off;
        take_fd(t, fd, shrank ? 0 : resume->off);
        if (shrank) {
            say(t, LC_TAIL_TRUNCATED, 0);
        }
        return 0;
    }
    old = find_sibling(t->path, &resume->id);
    if (old >= 0) {
        if (fd >= 0) {
            close(fd);
        }
        take_fd(t, old, size_of(old) < resume->off ? 0 : resume->off);
        t->rotated_away = 1;
        return 0;
    }
    say(t, LC_TAIL_LOST, UINT64_MAX);
    if (fd >= 0) {
        take_fd(t, fd, 0);
    }
    return 0;
}

static void tail_init(struct lc_tail *t, const char *path, const struct lc_tail_cbs *cbs)
{
    memset(t, 0, sizeof(*t));
    t->fd = -1;
    t->path = lc_xstrdup(path);
    t->cbs = *cbs;
    lc_buf_init(&t->pending, 0);
}

int lc_tail_open_fd(struct lc_tail *t, const char *path, int fd, const struct lc_tail_cbs *cbs)
{
    tail_init(t, path, cbs);
    take_fd(t, fd, 0);
    return 0;
}

int lc_tail_open(struct lc_tail *t, const char *path, const struct lc_tail_pos *resume,
                 int from_end, const struct lc_tail_cbs *cbs)
{
    int fd;
    tail_init(t, path, cbs);
    if (resume != NULL) {
        return resume_at(t, resume);
    }
    fd = open_ro(path);
    if (fd < 0) {
        return errno == ENOENT ? 0 : -errno;
    }
    take_fd(t, fd, from_end ? size_of(fd) : 0);
    return 0;
}

/* Hands what is pending to the consumer; END: the file is done. */
static void hand(struct lc_tail *t, int end)
{
    size_t k = 0;
    if (t->pending.len > 0 || end) {
        k = t->cbs.data(t->cbs.ud, t->pending.data, t->pending.len, t->off, end);
    }
    k = end || k > t->pending.len ? t->pending.len : k;
    lc_buf_consume(&t->pending, k);
    t->off += k;
}

/* The file open was rotated away and read to its end: the path's file comes next. */
static void rotate(struct lc_tail *t)
{
    struct lc_tail_id done = t->id;
    int fd;
    hand(t, 1);
    close(t->fd);
    t->fd = -1;
    t->rotated_away = 0;
    say(t, LC_TAIL_ROTATED, 0);
    fd = t->cbs.next != NULL ? t->cbs.next(t->cbs.ud, &done) : -1;
    if (fd >= 0) {
        take_fd(t, fd, 0);
        t->rotated_away = 1; /* a rotated file: done at its end */
        return;
    }
    fd = open_ro(t->path);
    if (fd >= 0) {
        take_fd(t, fd, 0);
    }
}

/* At the end of the open file: 1 when another file (or the same from its start) is to be
 * read now, 0 when caught up. */
static int at_end(struct lc_tail *t)
{
    struct stat ps;
    if (t->rotated_away) {
        rotate(t);
        return t->fd >= 0;
    }
    if (stat(t->path, &ps) != 0) {
        if (!t->deleted_said) {
            t->deleted_said = 1;
            say(t, LC_TAIL_DELETED, 0);
        }
        return 0;
    }
    if ((uint64_t)ps.st_dev != t->id.dev || (uint64_t)ps.st_ino != t->id.ino) {
        /* Renamed away. The writer may have appended after the read that found the end and
         * before the rename: read to the end once more, now that no more can come, and
         * move on at that end. */
        t->rotated_away = 1;
        return 1;
    }
    if (size_of(t->fd) < t->off + t->pending.len) {
        say(t, LC_TAIL_TRUNCATED, 0);
        take_fd(t, t->fd, 0);
        return 1;
    }
    return 0;
}

int lc_tail_poll(struct lc_tail *t, size_t budget)
{
    size_t done = 0;
    for (;;) {
        ssize_t n;
        int rc;
        if (t->fd < 0) {
            int fd = open_ro(t->path);
            if (fd < 0) {
                return errno == ENOENT ? 0 : -errno;
            }
            take_fd(t, fd, 0); /* created since: read from its start */
        }
        if (done >= budget) {
            return 1;
        }
        rc = lc_buf_reserve(&t->pending, LC_TAIL_CHUNK);
        if (rc != 0) {
            return rc;
        }
        n = read(t->fd, t->pending.data + t->pending.len, LC_TAIL_CHUNK);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -errno;
        }
        if (n > 0) {
            t->pending.len += (size_t)n;
            done += (size_t)n;
            hand(t, 0);
            continue;
        }
        if (at_end(t) == 0) {
            if (t->pending.len == 0) {
                /* caught up: a quiet file holds no read buffer (thousands of them may be
                 * followed at once) */
                lc_buf_close(&t->pending);
            }
            return 0;
        }
    }
}

int lc_tail_position(struct lc_tail *t, struct lc_tail_pos *pos)
{
    if (t->fd < 0) {
        return -ENOENT;
    }
    if (t->id.fp_len < LC_TAIL_FP_MAX && t->off + t->pending.len > t->id.fp_len) {
        lc_tail_identify(t->fd, &t->id); /* the file grew: the fingerprint covers more */
    }
    pos->id = t->id;
    pos->off = t->off;
    return 0;
}

int lc_tail_pos_format(const struct lc_tail_pos *pos, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "{\"dev\":%llu,\"ino\":%llu,\"fp_len\":%u,\"fp\":%u,\"off\":%llu}",
                     (unsigned long long)pos->id.dev, (unsigned long long)pos->id.ino,
                     (unsigned)pos->id.fp_len, (unsigned)pos->id.fp, (unsigned long long)pos->off);
    return n >= 0 && (size_t)n < cap ? n : -1;
}

int lc_tail_pos_from_json(const json_t *obj, struct lc_tail_pos *pos)
{
    json_int_t dev, ino, fp_len, fp, off;
    if (json_unpack((json_t *)obj, "{s:I,s:I,s:I,s:I,s:I}", "dev", &dev, "ino", &ino, "fp_len",
                    &fp_len, "fp", &fp, "off", &off) != 0 ||
        off < 0 || fp_len < 0 || fp_len > LC_TAIL_FP_MAX) {
        return 0;
    }
    *pos = (struct lc_tail_pos){{(uint64_t)dev, (uint64_t)ino, (uint32_t)fp_len, (uint32_t)fp},
                                (uint64_t)off};
    return 1;
}

void lc_tail_close(struct lc_tail *t)
{
    if (t->fd >= 0) {
        close(t->fd);
    }
    t->fd = -1;
    free(t->path);
    t->path = NULL;
    lc_buf_close(&t->pending);
}
