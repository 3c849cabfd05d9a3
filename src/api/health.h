/* health: the health verdict and the JSON bodies of /health, /tasks, /stats and /version,
 * rendered with jansson from a published snapshot and the live facts. The verdict is a
 * pure function of its input so that every rule can be unit-tested without a server.
 * Owns nothing; every function is thread-safe. */
#ifndef LC_HEALTH_H
#define LC_HEALTH_H

#include <jansson.h>
#include <stdint.h>

#include "core/snapshot.h"

enum lc_health_status {
    LC_HEALTH_HEALTHY = 0,
    LC_HEALTH_DEGRADED,
    LC_HEALTH_UNHEALTHY,
};

/* Without a snapshot for this long after the API started, logcap is unhealthy. */
#define LC_HEALTH_FIRST_SNAPSHOT_NS (10LL * 1000000000LL)
/* A task restarted within this window makes logcap degraded. */
#define LC_HEALTH_RECENT_RESTART_NS (300LL * 1000000000LL)
/* Used when neither the API config nor the snapshot gives a limit. */
#define LC_HEALTH_DEFAULT_TASK_TIMEOUT_MS 300000u
#define LC_HEALTH_DEFAULT_LOOP_STALL_MS 10000u

/* Everything the verdict and the bodies depend on. Every age and duration is judged on
 * CLOCK_MONOTONIC ns (lc_mono_ns, the *_mono_ns fields of the snapshot): a step of the wall
 * clock changes no verdict. Wall-clock times appear only as timestamps in the bodies. */
struct lc_health_input {
    const struct lc_snapshot *snap; /* NULL before the first snapshot */
    int loop_stalled;               /* struct lc_live */
    int64_t loop_last_turn_mono_ns; /* struct lc_live; 0 = the loop never turned */
    int64_t now_mono_ns;
    int64_t api_started_mono_ns;    /* start of the grace period for the first snapshot */
    uint64_t task_timeout_ms;       /* 0: the snapshot's, else the default */
    uint64_t loop_stall_timeout_ms; /* 0: the default */
};

/* "healthy", "degraded", "unhealthy". */
const char *lc_health_status_name(enum lc_health_status st);

/* 1 when the watchdog flagged the loop or the loop's last turn is older than the loop
 * stall timeout (the watchdog may check less often than the API is asked). */
int lc_health_loop_stalled(const struct lc_health_input *in);

/* Decides the status; the first rule that matches wins, in this order. Unhealthy: the
 * watchdog flagged the loop, or its last turn is older than the loop stall timeout, or
 * there is no snapshot more than 10 s after the API started, or Docker is enabled and has
 * been unreachable for longer than the task timeout, or the spool writer cannot write
 * (its last write or sync failed: the reason is the snapshot's "spool writer: <what>:
 * <errno text>"), or its task is stalled. Degraded: the first snapshot is still awaited,
 * the spool is full, the inputs are paused otherwise (the writer behind), an output fails
 * (its error, "output \"NAME\": ...", is the reason; a configuration fault before any
 * other failure), a task is stalled, restarting or failed, or a task restarted in the last five
 * minutes. Else healthy. When REASON is not NULL it receives the sentence naming the rule that
 * decided (NULL when healthy): static, or in IN->snap (valid while the caller holds it). */
enum lc_health_status lc_health_decide(const struct lc_health_input *in, const char **reason);

/* The bodies below are heap strings ending in "\n" that the caller frees with free(); they
 * never return NULL (out of memory aborts). Timestamps are RFC 3339 UTC. */

/* /health: the status object, or {"status":...} alone when BRIEF. Its "outputs" lists
 * {"name","type","failing","config_fault","last_status","error"} per output. Its "spool" is
 * {"bytes","max_bytes","records","full","paused","writer_failing","writer_error"}, or null
 * without a spool. *OUT_HTTP
 * receives 200 for healthy and degraded, 503 for unhealthy. */
char *lc_health_render(const struct lc_health_input *in, int brief, int *out_http);

/* /tasks: {"tasks":[...]} with every task in detail. SNAP may be NULL (no tasks yet). */
char *lc_health_render_tasks(const struct lc_snapshot *snap);

/* /stats: per container and per output counters, and "spool" with every figure of the
 * spool (null without a spool, or without SNAP). The backlog fields of an output are null
 * without a spool. SNAP may be NULL. */
char *lc_health_render_stats(const struct lc_snapshot *snap);

/* Serialises ROOT (consumed) as a one-line JSON body ending in the newline every body
 * ends with. */
char *lc_health_body(json_t *root);

/* /version: {"version":VERSION,"api":1}. */
char *lc_health_render_version(const char *version);

/* The version a snapshot reports, or the one logcap was built as. */
const char *lc_health_version(const struct lc_snapshot *snap);

#endif
