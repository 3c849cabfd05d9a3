/* clockshim: an LD_PRELOAD library for the integration tests that steps the wall clock of
 * one process, as an NTP step or the resume of a suspended VM would, without touching the
 * machine's clock (other tests and dockerd share it).
 *
 * LCT_CLOCK_OFFSET_FILE names a file of 8 bytes: a little-endian int64 offset in
 * nanoseconds. At the first clock reading the file is mapped shared and read-only, so a test
 * that rewrites those 8 bytes in place (never truncating the file) moves the clock of the
 * running process at once. The offset is added to CLOCK_REALTIME and CLOCK_REALTIME_COARSE
 * in clock_gettime, and to gettimeofday and time; CLOCK_MONOTONIC and every other clock are
 * untouched. Without the variable (or with a file that cannot be mapped) nothing changes.
 *
 * What it cannot move: the kernel's own idea of CLOCK_REALTIME. A pthread_cond_timedwait
 * on a CLOCK_REALTIME condition variable sleeps until the real clock reaches a deadline
 * computed from the shifted one, so a forward offset stretches such waits by the offset
 * (as a backward step of the real clock stretches waits already running) and a backward
 * offset makes them return at once. Owns: the mapping (for the life of the process). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <endian.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);
typedef int (*gettimeofday_fn)(struct timeval *, void *);
typedef time_t (*time_fn)(time_t *);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static clock_gettime_fn real_clock_gettime;
static gettimeofday_fn real_gettimeofday;
static time_fn real_time;
static const int64_t *offset_le; /* the mapped file; NULL: no offset */

static void init(void)
{
    const char *path = getenv("LCT_CLOCK_OFFSET_FILE");
    struct stat st;
    int fd;
    void *p;

    real_clock_gettime = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    real_gettimeofday = (gettimeofday_fn)dlsym(RTLD_NEXT, "gettimeofday");
    real_time = (time_fn)dlsym(RTLD_NEXT, "time");
    if (path == NULL || path[0] == '\0') {
        return;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    /* A shorter file would raise SIGBUS on the first read. */
    if (fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof(int64_t)) {
        p = mmap(NULL, sizeof(int64_t), PROT_READ, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED) {
            offset_le = p;
        }
    }
    close(fd);
}

static int64_t offset_ns(void)
{
    pthread_once(&once, init);
    if (offset_le == NULL) {
        return 0;
    }
    return (int64_t)le64toh((uint64_t)__atomic_load_n(offset_le, __ATOMIC_RELAXED));
}

/* Adds OFF nanoseconds to TS, keeping tv_nsec in [0, 1e9). */
static void shift(struct timespec *ts, int64_t off)
{
    int64_t ns = (int64_t)ts->tv_nsec + off % 1000000000LL;
    ts->tv_sec += (time_t)(off / 1000000000LL);
    if (ns < 0) {
        ns += 1000000000LL;
        ts->tv_sec--;
    } else if (ns >= 1000000000LL) {
        ns -= 1000000000LL;
        ts->tv_sec++;
    }
    ts->tv_nsec = (long)ns;
}

int clock_gettime(clockid_t clk, struct timespec *ts)
{
    int64_t off = offset_ns();
    int rc = real_clock_gettime(clk, ts);
    if (rc == 0 && off != 0 && (clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE)) {
        shift(ts, off);
    }
    return rc;
}

int gettimeofday(struct timeval *tv, void *tz)
{
    int64_t off = offset_ns();
    int rc = real_gettimeofday(tv, tz);
    if (rc == 0 && off != 0) { /* tv is nonnull in glibc's declaration */
        struct timespec ts = {.tv_sec = tv->tv_sec, .tv_nsec = (long)tv->tv_usec * 1000L};
        shift(&ts, off);
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = (suseconds_t)(ts.tv_nsec / 1000L);
    }
    return rc;
}

time_t time(time_t *out)
{
    int64_t off = offset_ns();
    struct timespec ts;
    time_t t;
    if (off == 0) {
        return real_time(out);
    }
    real_clock_gettime(CLOCK_REALTIME, &ts);
    shift(&ts, off);
    t = ts.tv_sec;
    if (out != NULL) {
        *out = t;
    }
    return t;
}
