/* record: one log line on its way from an input to the outputs, and the metadata of the
 * source it came from. A record owns its message bytes (allocated with the record), its
 * optional processor fields and one counted reference on its metadata.
 *
 * Metadata describes a source of any kind: its kind ("docker", later "file"), its id and
 * name (what logs, file names and the spool go by), and an ordered list of attributes,
 * key/value pairs the input chose (for Docker: container_id, container_name, image, host,
 * labels, compose_project, compose_service; for a file: its path, its name, ...). Encoders
 * and outputs read attributes generically, by key or in order. Which keys a kind has is
 * the business of the input that makes its metadata; Docker's shape lives in one function,
 * lc_meta_docker_create, because readers of data older than kinds need it too.
 *
 * Metadata is immutable once created and shared between threads by reference counting (but
 * for the spool's appender-private id); a change (a rename) creates a new lc_meta. Since
 * every line of a source carries the same metadata, its JSON is encoded once, at creation,
 * into two pieces the record encoder copies as they are (see json.h).
 *
 * Fields are what processors add to one line (a parsed level, a trace id): they belong to
 * the record, not the metadata, since they differ line by line. A record without fields has
 * a NULL pointer and costs nothing more. Processors run before the spool: a processor
 * sets lc_line_view.fields, the spool stores them in the line's DATA frame (spool_format.h)
 * and its readers give them back on the record, where encoders append them. */
#ifndef LC_RECORD_H
#define LC_RECORD_H

#include <stddef.h>
#include <stdint.h>

enum lc_stream {
    LC_STREAM_STDOUT = 1,
    LC_STREAM_STDERR = 2,
};

/* Attribute (and field) flags. */
enum {
    /* VALUE is JSON text (an object, array, number...) inserted into the record's JSON as
     * it is; the creator made sure it is valid. Without it VALUE is a string, encoded. */
    LC_ATTR_JSON = 1,
    /* Encoded right after "ts", before "stream" and "message"; without it, after
     * "truncated". Lets a kind keep the key order its documented JSON has. */
    LC_ATTR_HEAD = 2,
};

/* One key/value pair. In metadata and fields the strings are owned by their holder. */
struct lc_attr {
    const char *key;
    const char *value;
    unsigned flags; /* LC_ATTR_* */
};

struct lc_meta {
    int refs;                    /* atomic; use lc_meta_ref/unref */
    const char *kind;            /* "docker", "file", ... */
    const char *id;              /* the source's identity, e.g. a container's 64 hex digits */
    const char *name;            /* human name, e.g. a container's name without the leading '/' */
    const struct lc_attr *attrs; /* in the order the input gave them, keys unique */
    uint32_t n_attrs;
    /* The attributes pre-encoded as `,"key":value` pieces for lc_json_add_record: HEAD
     * ones, then the others. */
    uint32_t json_head_len;
    uint32_t json_tail_len;
    const char *json_head;
    const char *json_tail;
    /* The spool's id for this metadata, valid while spool_gen is that spool's number. The
     * only mutable fields: written and read by the spool's appender thread alone. */
    uint64_t spool_gen;
    uint32_t spool_id;
};

/* Creates metadata with one reference, copying every string (NULL KIND, ID or NAME become
 * ""). ATTRS (N of them) are kept in order; an attribute with a NULL value is left out, so
 * a caller can pass optional ones as they are. Never fails (aborts on out-of-memory). */
struct lc_meta *lc_meta_create(const char *kind, const char *id, const char *name,
                               const struct lc_attr *attrs, size_t n);
struct lc_meta *lc_meta_ref(struct lc_meta *m);
/* Drops one reference; frees at zero. NULL is a no-op. */
void lc_meta_unref(struct lc_meta *m);

/* Nonzero when A and B hold the same kind, id, name and attributes (in the same order,
 * with the same flags). */
int lc_meta_equal(const struct lc_meta *a, const struct lc_meta *b);

/* The value of attribute KEY, or NULL when M (may be NULL) has none. A linear scan with a
 * first-byte check: a source has a handful of attributes. */
const char *lc_meta_attr(const struct lc_meta *m, const char *key);

/* Docker's metadata: the one place that knows the Docker record shape (keys, order, which
 * are optional), so that the Docker input and the readers of data written before metadata
 * had kinds (spool metadata of format 1, dead-letter files) build the same thing.
 * Attributes: container_id (= ID), container_name (= NAME), image (always; HEAD), then host
 * (left out when NULL or ""), labels (LABELS_JSON, a JSON object; left out when NULL),
 * compose_project, compose_service (left out when NULL). */
#define LC_META_DOCKER "docker"
struct lc_meta *lc_meta_docker_create(const char *id, const char *name, const char *image,
                                      const char *host, const char *labels_json,
                                      const char *compose_project, const char *compose_service);

/* Fields a processor adds to a record: key/value pairs in order, encoded once into the
 * `,"key":value` piece the record encoder appends after the attributes. A field must not
 * reuse a key of the record (ts, stream, message, truncated) or of its metadata's
 * attributes: the JSON would hold the key twice. Immutable once created. */
struct lc_fields {
    uint32_t n;
    uint32_t json_len;
    const struct lc_attr *items;
    const char *json;
};

/* Copies N ITEMS (NULL values left out) into new fields. Never fails. */
struct lc_fields *lc_fields_create(const struct lc_attr *items, size_t n);
void lc_fields_free(struct lc_fields *f);
/* The value of field KEY, or NULL. */
const char *lc_fields_get(const struct lc_fields *f, const char *key);

#define LC_TS_MAX 40

struct lc_record {
    struct lc_record *next;   /* link owned by whoever queues the record */
    uint64_t seq;             /* the spool's record index, set by the spool reader */
    struct lc_meta *meta;     /* counted reference */
    struct lc_fields *fields; /* owned; NULL (the usual case) when no processor added any */
    int64_t ts_ns;            /* the source's timestamp, nanoseconds since the epoch */
    char ts[LC_TS_MAX];       /* the timestamp text exactly as received, NUL-terminated */
    uint8_t stream;           /* enum lc_stream */
    uint8_t truncated;        /* 1 when the line was cut at max_line_bytes */
    uint32_t len;             /* message length in bytes */
    char msg[];               /* raw message bytes (may be invalid UTF-8), NUL-terminated */
};

/* Creates a record holding a copy of MSG and TS, and a new reference on META, without
 * fields. TS longer than LC_TS_MAX-1 is cut. Never fails (aborts on out-of-memory). */
struct lc_record *lc_record_create(struct lc_meta *meta, int stream, int64_t ts_ns, const char *ts,
                                   size_t ts_len, const char *msg, size_t len, int truncated);
/* Gives R the fields F (R owns them; replaces and frees any it had). */
void lc_record_set_fields(struct lc_record *r, struct lc_fields *f);
/* Frees the record and its fields, and drops its metadata reference. NULL is a no-op. */
void lc_record_destroy(struct lc_record *r);

/* Bytes a record accounts for in memory caps. */
size_t lc_record_size(const struct lc_record *r);

#endif
