/* snapshot: a read-only copy of logcap's state for the HTTP API. The loop thread builds a
 * new snapshot every second (and on demand) and publishes it; the API thread takes a
 * counted reference and renders from it, so handlers never touch loop-owned objects.
 * A snapshot is immutable once published and freed when its last reference drops.
 *
 * What must stay true even when the loop is stuck (and so stops publishing) is not in the
 * snapshot but in struct lc_live, written atomically by the loop and the watchdog thread.
 *
 * Times: a *_ns field is wall-clock ns since the epoch, for showing as a timestamp; a
 * *_mono_ns field is CLOCK_MONOTONIC ns (lc_mono_ns), and every age or duration that is
 * judged (a stall, a staleness, a timeout) is computed from those alone, so that a step of
 * the wall clock changes no verdict. */
#ifndef LC_SNAPSHOT_H
#define LC_SNAPSHOT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

enum lc_task_state {
    LC_TASK_STARTING = 0,
    LC_TASK_RUNNING,
    LC_TASK_STALLED,
    LC_TASK_RESTARTING,
    LC_TASK_FAILED,
    LC_TASK_STOPPED,
    LC_TASK_STATES
};

/* "starting", "running", ... */
const char *lc_task_state_name(enum lc_task_state s);

#define LC_SNAP_ID_MAX 96
#define LC_SNAP_NAME_MAX 256
#define LC_SNAP_ERROR_MAX 256
#define LC_SNAP_INSTANCE_MAX 65 /* an input's or output's name */

struct lc_task_snap {
    char id[LC_SNAP_ID_MAX]; /* "container_0123456789ab", "docker_events", ... */
    char type[32];           /* "container", "docker_events", "docker_reconcile", "output" */
    enum lc_task_state state;
    int64_t started_at_ns; /* wall clock, ns since the epoch; 0 = never */
    int64_t last_heartbeat_ns;
    int64_t last_progress_ns;
    int64_t last_heartbeat_mono_ns; /* the heartbeat's age is judged on this; 0 = never */
    uint64_t restarts;
    char last_error[LC_SNAP_ERROR_MAX];    /* "" = none */
    char container_name[LC_SNAP_NAME_MAX]; /* "" unless type is container */
    char owner[LC_SNAP_INSTANCE_MAX];      /* the input or output instance it works for;
                                              "" for logcap's own (the spool writer) */
};

struct lc_container_snap {
    char input[LC_SNAP_INSTANCE_MAX]; /* the input instance that follows it */
    char id[65];
    char name[LC_SNAP_NAME_MAX];
    char image[LC_SNAP_NAME_MAX];
    uint64_t lines[3]; /* by stream: [1] stdout, [2] stderr */
    uint64_t bytes[3];
    uint64_t reconnects; /* streams reopened after an error or end */
    uint64_t rotations;  /* streams reopened after an idle check */
    uint64_t truncated;
    uint64_t decode_errors;
    uint64_t errors;
    uint64_t drains;         /* follow=0 requests: each makes dockerd rescan the log file */
    int64_t position_ns;     /* newest committed line's timestamp; -1 none */
    double lag_s;            /* delivery time minus line timestamp, last batch */
    char read[8];            /* how its logs are read: "files" (its json-file log) or "api" */
    uint64_t file_rotations; /* files: Docker's renames of its log file followed */
    uint64_t lost_files;     /* files: log files gone before they were read to the end */
};

/* Requests an output made to its destination (an HTTP output: one per POST), by the class
 * of their answer, and their latency. The report of each send carries the requests of that
 * call (output.h); the delivery engine adds them to the output's figures. */
enum lc_req_class {
    LC_REQ_2XX = 0,
    LC_REQ_3XX,
    LC_REQ_4XX,
    LC_REQ_5XX,
    LC_REQ_ERROR, /* no answer: a transport error or a timeout */
    LC_REQ_CLASSES
};
/* Upper bounds (seconds) of the request latency histogram buckets; +Inf is implied. */
#define LC_REQ_BUCKETS 12
extern const double lc_req_bucket_le[LC_REQ_BUCKETS];

struct lc_request_stats {
    uint64_t by_class[LC_REQ_CLASSES];
    uint64_t buckets[LC_REQ_BUCKETS]; /* cumulative: requests that took at most le */
    uint64_t count;
    double seconds_sum;
};

/* "2xx", "3xx", "4xx", "5xx", "error". */
const char *lc_req_class_name(enum lc_req_class c);
/* Counts one request of STATUS (0: no answer) that took US microseconds. */
void lc_request_stats_add(struct lc_request_stats *s, long status, uint64_t us);
/* Adds SRC's figures to DST. */
void lc_request_stats_merge(struct lc_request_stats *dst, const struct lc_request_stats *src);

/* The brokers of an output that talks to a cluster (Kafka), from its client library's
 * statistics. */
#define LC_BROKERS_MAX 16
struct lc_broker_snap {
    char name[64]; /* "host:port/id", as the client names it */
    int up;
    double rtt_avg_s, rtt_p99_s; /* request round trips over the last statistics window */
    uint64_t tx_errors, rx_errors, timeouts, tx_retries; /* since the client started */
};
struct lc_brokers_snap {
    int valid;                            /* the output reports brokers */
    unsigned threads;                     /* threads its client library runs for it */
    uint64_t queue_messages, queue_bytes; /* waiting in the client's queues */
    uint64_t up, known;                   /* brokers connected, brokers known */
    size_t n;                             /* entries of broker (at most LC_BROKERS_MAX) */
    struct lc_broker_snap broker[LC_BROKERS_MAX];
};

struct lc_output_snap {
    char name[LC_SNAP_INSTANCE_MAX];
    char type[32];
    uint64_t records;
    uint64_t bytes;
    uint64_t retries;             /* sends that failed and were tried again */
    uint64_t rejected;            /* records the destination refused for good */
    uint64_t dead_lettered;       /* records written to the dead-letter file (refused, or given up
                                     after retry.max_attempts) */
    uint64_t dead_letter_records; /* records in data_dir/dead/<name>.jsonl now */
    uint64_t flush_failures;      /* flushes that failed (what they covered was sent again) */
    uint64_t reader_meta_slots;   /* slots of its spool reader's metadata table */
    uint64_t backlog_records;     /* in the spool after this output's cursor */
    uint64_t backlog_bytes;
    double oldest_age_s; /* now minus the timestamp of the oldest unacknowledged record; 0
                            when caught up */
    double lag_s;        /* write time minus the newest written line's ts */
    struct lc_request_stats requests;
    long last_status;               /* the status of the last answer (HTTP outputs); 0: none yet */
    int failing;                    /* its last try failed and the batch waits for the next one */
    int config_fault;               /* ... because our configuration is wrong (401, 403, 404) */
    char error[LC_SNAP_ERROR_MAX];  /* why, while failing: "output \"NAME\": what" */
    struct lc_brokers_snap brokers; /* a Kafka output's brokers (valid 0: none) */
};

/* Upper bounds (seconds) of the spool sync latency histogram buckets; +Inf is implied. */
#define LC_SYNC_BUCKETS 12
extern const double lc_sync_bucket_le[LC_SYNC_BUCKETS];

struct lc_spool_snap {
    int enabled;
    uint64_t bytes;     /* segment files on disk */
    uint64_t max_bytes; /* spool.max_bytes */
    uint64_t records;   /* log records held (acknowledged by some outputs or not) */
    uint64_t segments;
    int full;                  /* inputs paused because the spool reached max_bytes */
    int paused;                /* inputs paused for any reason (full, or the writer behind) */
    double paused_seconds;     /* counter: total time the inputs were paused */
    uint64_t corrupt_records;  /* damaged regions skipped at recovery */
    uint64_t torn_bytes;       /* bytes cut from torn tails at recovery */
    uint64_t appended_records; /* counter: records appended since start */
    uint64_t appended_bytes;
    /* fdatasync latency of segment files: cumulative counts per bucket (le), as Prometheus
     * histograms want them, then the total count and sum */
    uint64_t sync_buckets[LC_SYNC_BUCKETS];
    uint64_t sync_count;
    double sync_seconds_sum;
    /* The spool writer cannot write: its last write or sync failed (it retries; the inputs
     * pause once its queue is full). WRITER_ERROR is then "spool writer: <what>: <errno
     * text>", else "". WRITER_ERRORS counts failed writes, syncs and segment starts. */
    uint64_t metadata;         /* live metadata entries: what every checkpoint carries */
    uint64_t checkpoint_bytes; /* size of the checkpoint that starts the active segment */
    int writer_failing;
    uint64_t writer_errors;
    char writer_error[LC_SNAP_ERROR_MAX];
};

/* Counters that outlive containers and tasks (bounded label sets). */
struct lc_api_errors {
    uint64_t version, list, events, logs, inspect; /* Docker API errors by endpoint */
};

/* One input instance. The daemon fills name and type and the unreachable_mono_ns its
 * publisher judges; the input fills the rest (lc_input_ops.snapshot). */
struct lc_input_snap {
    char name[LC_SNAP_INSTANCE_MAX];
    char type[32];
    int connected;                   /* its source answers (Docker: the daemon) */
    int64_t unreachable_since_ns;    /* wall clock, shown; 0 while connected */
    int64_t unreachable_mono_ns;     /* since when the publisher has seen it unreachable
                                        (judged); 0 while connected */
    uint64_t sources;                /* what it follows now (containers, files) */
    struct lc_api_errors api_errors; /* a Docker input's API errors by endpoint */
    struct {                         /* a file input's figures (counters) */
        uint64_t lines, bytes;
        uint64_t truncated;   /* lines cut at max_line_bytes */
        uint64_t rotations;   /* renames seen (the old file read to its end) */
        uint64_t truncations; /* copytruncates seen (the file read again from its start) */
        uint64_t lost;        /* files gone before their unread part could be read */
        uint64_t errors;      /* failed opens and reads */
    } files;
};

struct lc_task_type_counts {
    char type[32];
    uint64_t restarts; /* restarts by the watchdog or after a failure */
    uint64_t failures; /* times a task was found stalled or failed */
};

struct lc_snapshot {
    int refs;                /* atomic */
    int64_t taken_mono_ns;   /* the snapshot's age */
    int64_t started_mono_ns; /* process start (uptime) */
    const char *version;
    uint64_t task_timeout_ms;
    struct lc_input_snap *inputs;
    size_t n_inputs;
    struct lc_task_snap *tasks;
    size_t n_tasks;
    struct lc_container_snap *containers;
    size_t n_containers;
    struct lc_output_snap *outputs;
    size_t n_outputs;
    struct lc_spool_snap spool;
    struct lc_task_type_counts *type_counts;
    size_t n_type_counts;
    int64_t last_restart_mono_ns; /* newest task restart (for "recently restarted"); 0 none */
};

/* Live facts that hold even when the loop is stuck. Written with __atomic stores. */
struct lc_live {
    int64_t loop_last_turn_mono_ns; /* the loop's heartbeat, written by a loop timer */
    int loop_stalled;               /* set by the watchdog thread */
};

/* The exchange point between the loop (publisher) and the API (reader). */
struct lc_snapshot_box {
    pthread_mutex_t lock;
    struct lc_snapshot *current;
    struct lc_live live;
};

void lc_snapshot_box_init(struct lc_snapshot_box *b);
/* Drops the current snapshot. */
void lc_snapshot_box_close(struct lc_snapshot_box *b);
/* Publishes S (takes ownership of the caller's reference). */
void lc_snapshot_publish(struct lc_snapshot_box *b, struct lc_snapshot *s);
/* Returns a new reference on the current snapshot, or NULL before the first one. */
struct lc_snapshot *lc_snapshot_get(struct lc_snapshot_box *b);
/* Drops a reference; frees at zero. NULL is a no-op. */
void lc_snapshot_put(struct lc_snapshot *s);

/* Allocates an empty snapshot with one reference and room for the given counts. */
struct lc_snapshot *lc_snapshot_create(size_t n_tasks, size_t n_containers, size_t n_outputs,
                                       size_t n_type_counts);

/* Appends an input named NAME of TYPE (cut to fit); returns it, zeroed but for those. */
struct lc_input_snap *lc_snapshot_add_input(struct lc_snapshot *s, const char *name,
                                            const char *type);

/* Appends N container entries (position_ns -1, the rest zero) and returns the first. */
struct lc_container_snap *lc_snapshot_add_containers(struct lc_snapshot *s, size_t n);

#endif
