/* util: see util.h. */
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void oom(size_t n)
{
    fprintf(stderr, "logcap: out of memory allocating %zu bytes\n", n);
    abort();
}

void *lc_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        oom(n);
    }
    return p;
}

void *lc_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL) {
        oom(count * size);
    }
    return p;
}

void *lc_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) {
        oom(n);
    }
    return q;
}

char *lc_xstrdup(const char *s)
{
    return lc_xstrndup(s, strlen(s));
}

char *lc_xstrndup(const char *s, size_t n)
{
    char *p = lc_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Parses the leading unsigned decimal number; returns the end pointer or NULL. */
static const char *parse_uint(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;
    if (*p < '0' || *p > '9') {
        return NULL;
    }
    while (*p >= '0' && *p <= '9') {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return NULL;
        }
        v = v * 10 + d;
        p++;
    }
    *out = v;
    return p;
}

struct unit {
    const char *name;
    uint64_t mult;
};

static int parse_with_units(const char *s, const struct unit *units, uint64_t bare_mult,
                            uint64_t *out)
{
    uint64_t v;
    const char *end;
    if (s == NULL || (end = parse_uint(s, &v)) == NULL) {
        return -EINVAL;
    }
    if (*end == '\0') {
        if (bare_mult != 0 && v > UINT64_MAX / bare_mult) {
            return -ERANGE;
        }
        *out = v * bare_mult;
        return 0;
    }
    for (const struct unit *u = units; u->name != NULL; u++) {
        if (strcmp(end, u->name) == 0) {
            if (v > UINT64_MAX / u->mult) {
                return -ERANGE;
            }
            *out = v * u->mult;
            return 0;
        }
    }
    return -EINVAL;
}

int lc_parse_duration_ms(const char *s, uint64_t *out_ms)
{
    static const struct unit units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {NULL, 0},
    };
    return parse_with_units(s, units, 1000, out_ms);
}

int lc_parse_size(const char *s, uint64_t *out_bytes)
{
    static const struct unit units[] = {
        {"B", 1},
        {"KiB", 1ULL << 10},
        {"MiB", 1ULL << 20},
        {"GiB", 1ULL << 30},
        {"TiB", 1ULL << 40},
        {"KB", 1000ULL},
        {"MB", 1000000ULL},
        {"GB", 1000000000ULL},
        {NULL, 0},
    };
    return parse_with_units(s, units, 1, out_bytes);
}

uint64_t lc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t lc_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t lc_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void lc_cond_init(pthread_cond_t *c)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc == 0) {
        rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    }
    if (rc == 0) {
        rc = pthread_cond_init(c, &attr);
    }
    pthread_condattr_destroy(&attr);
    if (rc != 0) {
        fprintf(stderr, "logcap: cannot make a condition variable on CLOCK_MONOTONIC: %s\n",
                strerror(rc));
        abort();
    }
}

void lc_deadline_in(struct timespec *ts, uint64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* OFF < 0: write at the file offset; else pwrite at OFF. */
static int write_fully(int fd, const void *data, size_t len, int64_t off)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? -errno : -EIO;
        }
        p += n;
        len -= (size_t)n;
        off = off < 0 ? off : off + n;
    }
    return 0;
}

int lc_write_all(int fd, const void *data, size_t len)
{
    return write_fully(fd, data, len, -1);
}

int lc_pwrite_all(int fd, const void *data, size_t len, uint64_t off)
{
    return write_fully(fd, data, len, (int64_t)off);
}

static int fsync_dir_of(const char *path)
{
    char *copy = lc_xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;
    free(copy);
    if (fd < 0) {
        return -errno;
    }
    if (fsync(fd) != 0) {
        rc = -errno;
    }
    close(fd);
    return rc;
}

int lc_write_file_atomic(const char *path, const void *data, size_t len)
{
    size_t plen = strlen(path);
    char *tmp = lc_xmalloc(plen + 5);
    int fd, rc;

    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        goto out_free;
    }
    rc = lc_write_all(fd, data, len);
    if (rc == 0 && fsync(fd) != 0) {
        rc = -errno;
    }
    if (close(fd) != 0 && rc == 0) {
        rc = -errno;
    }
    if (rc != 0) {
        goto out_unlink;
    }
    if (rename(tmp, path) != 0) {
        rc = -errno;
        goto out_unlink;
    }
    free(tmp);
    return fsync_dir_of(path);

out_unlink:
    unlink(tmp);
out_free:
    free(tmp);
    return rc;
}

int lc_read_file(const char *path, size_t max, char **out, size_t *out_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t len = 0, cap = 4096;
    char *buf;

    if (fd < 0) {
        return -errno;
    }
    buf = lc_xmalloc(cap);
    for (;;) {
        ssize_t n;
        if (len + 1 >= cap) {
            if (cap > max) {
                free(buf);
                close(fd);
                return -EFBIG;
            }
            cap *= 2;
            buf = lc_xrealloc(buf, cap);
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n < 0) {
            int err = errno;
            if (err == EINTR) {
                continue;
            }
            free(buf);
            close(fd);
            return -err;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    if (len > max) {
        free(buf);
        return -EFBIG;
    }
    buf[len] = '\0';
    *out = buf;
    if (out_len != NULL) {
        *out_len = len;
    }
    return 0;
}

int lc_mkdir_p(const char *path, unsigned mode)
{
    char *copy = lc_xstrdup(path);
    int rc = 0;
    for (char *p = copy + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(copy, mode) != 0 && errno != EEXIST) {
                rc = -errno;
                break;
            }
            *p = saved;
            if (saved == '\0') {
                break;
            }
        }
    }
    free(copy);
    return rc;
}

/* Takes 8 bytes per multiply rather than FNV-1a's one (it was once on the per-line hot
 * path, where byte-wise FNV cost 6% of logcap's CPU). Multiply-xorshift mixing, as in
 * splitmix. */
static uint64_t mix64(uint64_t h)
{
    h ^= h >> 32;
    h *= 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    return h;
}

uint64_t lc_hash64(uint64_t seed, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = seed ^ (len * 0xff51afd7ed558ccdULL);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = mix64(h ^ (w * 0xc4ceb9fe1a85ec53ULL));
        p += 8;
        len -= 8;
    }
    if (len > 0) {
        uint64_t w = 0;
        memcpy(&w, p, len);
        h = mix64(h ^ (w * 0xc4ceb9fe1a85ec53ULL) ^ len);
    }
    return mix64(h);
}
