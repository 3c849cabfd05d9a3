/* metrics: the Prometheus text exposition (format 0.0.4) of /metrics, rendered from a
 * published snapshot, the live facts and the process figures read from /proc/self. Every
 * family has HELP and TYPE lines and the logcap_ prefix (process_* follow the names the
 * Prometheus client libraries use). Per-container series exist only while the snapshot
 * holds the container, so cardinality follows the containers logcap follows. The spool's
 * fdatasync latency is a histogram (_bucket, _sum, _count); every other family is a
 * gauge or a counter. Owns nothing; thread-safe. */
#ifndef LC_METRICS_H
#define LC_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/snapshot.h"

#define LC_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Process figures; a field that could not be read is negative and left out. */
struct lc_proc_stats {
    double open_fds;
    double max_fds;
    double resident_bytes;
    double virtual_bytes;
    double cpu_seconds;        /* user + system */
    double start_time_seconds; /* since the epoch */
    double threads;
};

/* Reads the calling process's figures from /proc/self and getrlimit. Returns 0, or the
 * first negative errno met (the fields that could be read are still filled in). */
int lc_metrics_proc_read(struct lc_proc_stats *out);

/* Renders the exposition. NOW_MONO_NS is lc_mono_ns() (ages are judged on the monotonic
 * clock, as the snapshot's *_mono_ns fields). SNAP may be NULL (before the first snapshot: only
 * logcap_up, the loop and process figures have samples). The spool families and the per-output
 * backlog families are written only when SNAP has a spool (spool.enabled). PROC may be
 * NULL. LOOP_STALLED is the loop verdict (the watchdog's flag or a last turn older than
 * loop_stall_timeout). Returns a heap string the caller frees with free() and its length
 * in *OUT_LEN, or NULL when the text would pass LC_METRICS_MAX_BYTES. */
#define LC_METRICS_MAX_BYTES (64u << 20)
char *lc_metrics_render(const struct lc_snapshot *snap, int loop_stalled,
                        const struct lc_proc_stats *proc, int64_t now_mono_ns, size_t *out_len);

/* Appends VALUE to OUT as a label value: escapes \, " and newline as the format wants, and
 * replaces bytes that are not UTF-8 with '?'. Writes at most CAP-1 bytes and a NUL; a value
 * that does not fit is cut at a character boundary. Returns the length written. */
size_t lc_metrics_escape_label(const char *value, size_t max_in, char *out, size_t cap);

#endif
