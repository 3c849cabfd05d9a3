/* log: see log.h. Rate limiting is keyed by the format string's address, so one call site
 * that repeats (a reconnect loop) cannot flood stderr while distinct messages still pass. */
#include "base/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define RATE_SLOTS 64
#define RATE_WINDOW_S 60
#define RATE_MAX 10

struct rate_slot {
    const char *fmt;
    time_t window_start;
    unsigned count;
    unsigned suppressed;
};

static enum lc_log_level current_level = LC_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rate_slot slots[RATE_SLOTS];
static const char *level_names[] = {"error", "warn", "info", "debug"};

void lc_log_set_level(enum lc_log_level level)
{
    __atomic_store_n(&current_level, level, __ATOMIC_RELAXED);
}

enum lc_log_level lc_log_get_level(void)
{
    return __atomic_load_n(&current_level, __ATOMIC_RELAXED);
}

int lc_log_level_parse(const char *s, enum lc_log_level *out)
{
    for (int i = 0; i <= LC_LOG_DEBUG; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum lc_log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* Returns how many earlier lines were suppressed (to report), or -1 to suppress this one. */
static long rate_check(const char *fmt, time_t now)
{
    struct rate_slot *s = &slots[((uintptr_t)fmt >> 3) % RATE_SLOTS];
    long reported = 0;
    if (s->fmt != fmt || now - s->window_start >= RATE_WINDOW_S) {
        reported = s->fmt == fmt ? (long)s->suppressed : 0;
        s->fmt = fmt;
        s->window_start = now;
        s->count = 0;
        s->suppressed = 0;
    }
    if (++s->count > RATE_MAX) {
        s->suppressed++;
        return -1;
    }
    return reported;
}

void lc_log(enum lc_log_level level, int err, const char *fmt, ...)
{
    char msg[1024], stamp[32];
    struct timespec ts, mono;
    struct tm tm;
    va_list ap;
    long suppressed;

    if (level > lc_log_get_level()) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);    /* the timestamp people read */
    clock_gettime(CLOCK_MONOTONIC, &mono); /* the rate window: a backward step of the wall
                                              clock would silence a call site that long */
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&log_lock);
    suppressed = rate_check(fmt, mono.tv_sec);
    if (suppressed >= 0) {
        if (suppressed > 0) {
            fprintf(stderr, "%s.%03ldZ %s (%ld similar lines suppressed)\n", stamp,
                    ts.tv_nsec / 1000000, level_names[level], suppressed);
        }
        if (err != 0) {
            fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp, ts.tv_nsec / 1000000,
                    level_names[level], msg, strerror(err < 0 ? -err : err));
        } else {
            fprintf(stderr, "%s.%03ldZ %s %s\n", stamp, ts.tv_nsec / 1000000, level_names[level],
                    msg);
        }
    }
    pthread_mutex_unlock(&log_lock);
}
