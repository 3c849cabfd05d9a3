/* test_util: the clocks and timed waits of util (every elapsed time on CLOCK_MONOTONIC, so
 * a step of the wall clock neither stretches nor cuts short a wait), durations and sizes. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "test.h"

static int64_t ts_ns(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static int64_t clock_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return ts_ns(&ts);
}

TEST(mono_clocks_agree)
{
    int64_t before = clock_ns(CLOCK_MONOTONIC);
    int64_t mono = lc_mono_ns();
    uint64_t ms = lc_now_ms();
    int64_t after = clock_ns(CLOCK_MONOTONIC);
    ASSERT_TRUE(mono >= before && mono <= after);
    ASSERT_TRUE((int64_t)ms >= before / 1000000 && (int64_t)ms <= after / 1000000);
}

/* The deadline of a timed wait is on the monotonic clock: on the wall clock a step moved
 * every deadline already computed (a backward step stretched output backoffs and
 * batch.max_wait by the step). */
TEST(deadline_is_monotonic)
{
    struct timespec ts;
    int64_t now = clock_ns(CLOCK_MONOTONIC), at;
    lc_deadline_in(&ts, 1500);
    at = ts_ns(&ts) - now;
    ASSERT_TRUE(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L);
    ASSERT_TRUE(at >= 1500 * 1000000LL && at < 2500 * 1000000LL);
}

/* A condition variable from lc_cond_init times out at an lc_deadline_in deadline, neither
 * at once (a deadline read as in the past) nor much later. */
TEST(cond_waits_on_monotonic_deadline)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c;
    struct timespec ts;
    int64_t t0, waited;
    int rc = 0;
    lc_cond_init(&c);
    pthread_mutex_lock(&m);
    t0 = lc_mono_ns();
    lc_deadline_in(&ts, 100);
    while (rc == 0) { /* spurious wake-ups wait again for the same deadline */
        rc = pthread_cond_timedwait(&c, &m, &ts);
    }
    waited = lc_mono_ns() - t0;
    pthread_mutex_unlock(&m);
    pthread_cond_destroy(&c);
    ASSERT_EQ(rc, ETIMEDOUT);
    ASSERT_TRUE(waited >= 100 * 1000000LL);
    ASSERT_TRUE(waited < 2000 * 1000000LL);
}

TEST(durations_and_sizes)
{
    uint64_t v = 0;
    ASSERT_EQ(lc_parse_duration_ms("250ms", &v), 0);
    ASSERT_U64_EQ(v, 250);
    ASSERT_EQ(lc_parse_duration_ms("2m", &v), 0);
    ASSERT_U64_EQ(v, 120000);
    ASSERT_EQ(lc_parse_duration_ms("7", &v), 0);
    ASSERT_U64_EQ(v, 7000);
    ASSERT_EQ(lc_parse_duration_ms("1 parsec", &v), -EINVAL);
    ASSERT_EQ(lc_parse_size("64KiB", &v), 0);
    ASSERT_U64_EQ(v, 65536);
    ASSERT_EQ(lc_parse_size("99999999999999999999", &v), -EINVAL);
}

TEST_MAIN(TEST_ENTRY(mono_clocks_agree), TEST_ENTRY(deadline_is_monotonic),
          TEST_ENTRY(cond_waits_on_monotonic_deadline), TEST_ENTRY(durations_and_sizes))
