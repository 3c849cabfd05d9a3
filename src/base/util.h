/* util: allocation that aborts on out-of-memory, duration and size parsing, clocks, and
 * atomic file replacement. Owns nothing; every function is thread-safe. */
#ifndef LC_UTIL_H
#define LC_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Allocators: never return NULL; abort the process with a message when memory runs out. */
void *lc_xmalloc(size_t n);
void *lc_xcalloc(size_t count, size_t size);
void *lc_xrealloc(void *p, size_t n);
char *lc_xstrdup(const char *s);
char *lc_xstrndup(const char *s, size_t n);

/* Parses a duration such as "500ms", "30s", "5m", "1h" (a bare number is seconds) into
 * milliseconds. Returns 0, or -EINVAL when the text is not a duration, -ERANGE on overflow. */
int lc_parse_duration_ms(const char *s, uint64_t *out_ms);

/* Parses a size such as "64KiB", "1MiB", "100MiB", "1GiB", "512" (bytes); KB/MB/GB are
 * accepted as powers of 1000. Returns 0, -EINVAL or -ERANGE. */
int lc_parse_size(const char *s, uint64_t *out_bytes);

/* Monotonic milliseconds and nanoseconds, and wall-clock nanoseconds since the epoch.
 * Whatever measures elapsed time (a deadline, an age, a timeout, a timed wait) uses the
 * monotonic clock: the wall clock steps (NTP, a resumed VM) and would stretch, cut short
 * or fire such a measure. The wall clock is for timestamps people read and for comparing
 * with other hosts' timestamps (Docker's). */
uint64_t lc_now_ms(void);
int64_t lc_mono_ns(void);
int64_t lc_wall_ns(void);

/* Writes all LEN bytes (retrying short writes and EINTR), at the file offset or, for
 * lc_pwrite_all, at OFF. Returns 0 or a negative errno (some bytes may be written). */
int lc_write_all(int fd, const void *data, size_t len);
int lc_pwrite_all(int fd, const void *data, size_t len, uint64_t off);

/* Initialises C to measure pthread_cond_timedwait deadlines on CLOCK_MONOTONIC. Every
 * condition variable of logcap is made with it. Aborts if the system refuses (it cannot:
 * a condition variable on the wall clock would silently stretch its waits). */
void lc_cond_init(pthread_cond_t *c);

/* Fills TS with the CLOCK_MONOTONIC time MS from now: the deadline of a
 * pthread_cond_timedwait on a condition variable made by lc_cond_init, or of
 * pthread_clockjoin_np(..., CLOCK_MONOTONIC, ...). */
struct timespec;
void lc_deadline_in(struct timespec *ts, uint64_t ms);

/* Replaces PATH with DATA atomically: writes PATH.tmp, fsyncs it, renames it over PATH and
 * fsyncs the directory. Returns 0 or a negative errno; PATH is untouched on failure. */
int lc_write_file_atomic(const char *path, const void *data, size_t len);

/* Reads a whole file into a NUL-terminated heap buffer (caller frees). Fails with -EFBIG
 * beyond MAX bytes. Returns 0 or a negative errno. */
int lc_read_file(const char *path, size_t max, char **out, size_t *out_len);

/* mkdir -p. Returns 0 or a negative errno. */
int lc_mkdir_p(const char *path, unsigned mode);

/* A fast 64-bit hash of a byte range, continuing from SEED (use LC_HASH_SEED to start).
 * Not cryptographic; for hash tables. */
#define LC_HASH_SEED 0xcbf29ce484222325ULL
uint64_t lc_hash64(uint64_t seed, const void *data, size_t len);

#endif
