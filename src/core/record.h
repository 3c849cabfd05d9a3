/* record: one log line on its way from an input to the outputs, and the container
 * metadata it refers to. A record owns its message bytes (allocated with the record) and
 * one counted reference on its metadata. Metadata is immutable once created and shared
 * between threads by reference counting (but for the spool's appender-private id); a rename
 * creates a new lc_meta. */
#ifndef LC_RECORD_H
#define LC_RECORD_H

#include <stddef.h>
#include <stdint.h>

enum lc_stream {
    LC_STREAM_STDOUT = 1,
    LC_STREAM_STDERR = 2,
};

struct lc_meta {
    int refs;              /* atomic; use lc_meta_ref/unref */
    char *id;              /* 64 hex digits */
    char *name;            /* without the leading '/' */
    char *image;           /* as the container was created with it, e.g. "nginx:1.25" */
    char *host;            /* host name of the machine logcap runs on */
    char *labels_json;     /* labels pre-encoded as a JSON object, or NULL when none */
    char *compose_project; /* com.docker.compose.project label, or NULL */
    char *compose_service; /* com.docker.compose.service label, or NULL */
    /* The spool's id for this metadata, valid while spool_gen is that spool's number. The
     * only mutable fields: written and read by the spool's appender thread alone. */
    uint64_t spool_gen;
    uint32_t spool_id;
};

/* Creates metadata with one reference. Copies every string; LABELS_JSON may be NULL. */
struct lc_meta *lc_meta_create(const char *id, const char *name, const char *image,
                               const char *host, const char *labels_json,
                               const char *compose_project, const char *compose_service);
struct lc_meta *lc_meta_ref(struct lc_meta *m);
/* Drops one reference; frees at zero. NULL is a no-op. */
void lc_meta_unref(struct lc_meta *m);

#define LC_TS_MAX 40

struct lc_record {
    struct lc_record *next; /* link owned by whoever queues the record */
    uint64_t seq;           /* pipeline sequence number, set by the pipeline */
    struct lc_meta *meta;   /* counted reference */
    int64_t ts_ns;          /* Docker's timestamp, nanoseconds since the epoch */
    char ts[LC_TS_MAX];     /* Docker's timestamp text exactly as received, NUL-terminated */
    uint8_t stream;         /* enum lc_stream */
    uint8_t truncated;      /* 1 when the line was cut at max_line_bytes */
    uint32_t len;           /* message length in bytes */
    char msg[];             /* raw message bytes (may be invalid UTF-8), NUL-terminated */
};

/* Creates a record holding a copy of MSG and TS, and a new reference on META. TS longer
 * than LC_TS_MAX-1 is cut. Never fails (aborts on out-of-memory). */
struct lc_record *lc_record_create(struct lc_meta *meta, int stream, int64_t ts_ns, const char *ts,
                                   size_t ts_len, const char *msg, size_t len, int truncated);
/* Frees the record and drops its metadata reference. NULL is a no-op. */
void lc_record_destroy(struct lc_record *r);

/* Bytes a record accounts for in memory caps. */
size_t lc_record_size(const struct lc_record *r);

#endif
